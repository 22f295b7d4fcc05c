"""Builder fidelity with Docker/BuildKit (FROM scratch, no registry): default PATH, WORKDIR
directories, EXPOSE and ``${VAR:?}`` refusals, stage cycles, and ``.dockerignore``
applied to where symlinks point. Everything is written under tmp_path."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from shipway.images.build import build
from shipway.images.build.evaluate import DEFAULT_PATH
from shipway.images.store import Store
from shipway.model.errors import InputError

Image = tuple[Store, dict, str]  # type: ignore[type-arg]  # store, config, manifest digest


def _build(tmp_path: Path, text: str, files: dict[str, str] | None = None) -> Image:
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(text)
    for name, body in (files or {}).items():
        (ctx / name).parent.mkdir(parents=True, exist_ok=True)
        (ctx / name).write_text(body)
    store = Store(tmp_path / "store")
    res = build(ctx, store=store)
    return store, store.layout.read_json(res.config_digest), res.digest


def _entries(store: Store, manifest_digest: str) -> dict[str, tarfile.TarInfo]:
    """Every tar entry of the image's layers (later layers win), by name."""
    out: dict[str, tarfile.TarInfo] = {}
    for desc in store.layout.read_json(manifest_digest)["layers"]:
        with tarfile.open(store.layout.path(desc["digest"]), "r:gz") as tar:
            out.update({m.name: m for m in tar.getmembers()})
    return out


def test_an_image_with_no_path_gets_the_default(tmp_path: Path) -> None:
    _, cfg, _ = _build(tmp_path, "FROM scratch\nENV A=1\n")
    assert cfg["config"]["Env"] == [f"PATH={DEFAULT_PATH}", "A=1"]
    # ENV can extend it, as on BuildKit (the stage starts with it)
    _, cfg, _ = _build(tmp_path, "FROM scratch\nENV PATH=$PATH:/opt/bin\n")
    assert cfg["config"]["Env"] == [f"PATH={DEFAULT_PATH}:/opt/bin"]


def test_workdir_creates_its_directory_owned_by_the_user(tmp_path: Path) -> None:
    store, cfg, digest = _build(tmp_path, "FROM scratch\nUSER 1000:1001\nWORKDIR /app/data\n")
    assert cfg["config"]["WorkingDir"] == "/app/data"
    entries = _entries(store, digest)
    for name in ("app", "app/data"):
        assert entries[name].isdir()
        assert (entries[name].uid, entries[name].gid, entries[name].mode) == (1000, 1001, 0o755)
    assert [h.get("empty_layer", False) for h in cfg["history"]] == [True, False]


def test_workdir_that_exists_adds_no_layer(tmp_path: Path) -> None:
    _, cfg, _ = _build(
        tmp_path, "FROM scratch\nCOPY a /app/a\nWORKDIR /app\nWORKDIR /\n", {"a": "x"}
    )
    assert len(cfg["rootfs"]["diff_ids"]) == 1  # only COPY's layer


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("EXPOSE abc", "EXPOSE: invalid containerPort: abc"),
        ("EXPOSE 80/foo", "EXPOSE: invalid proto: foo"),
        ("EXPOSE 70000", "invalid containerPort: 70000"),
        ("EXPOSE 90-80", "invalid range"),
        ("LABEL a=${NOPE:?set NOPE first}", "NOPE: set NOPE first"),
        ("ENV B=${EMPTY:?}", "EMPTY: is not allowed to be empty"),
        ("COPY ${NOPE?} /x", "NOPE: is not allowed to be unset"),
    ],
)
def test_refusals_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        _build(tmp_path, f"FROM scratch\nENV EMPTY=\n{line}\n")
    assert message in str(err.value)
    assert str(err.value).startswith(f"{tmp_path / 'ctx' / 'Dockerfile'}:3:") or (
        err.value.subject or ""
    ).endswith("Dockerfile:3")


def test_expose_ranges_and_protocols(tmp_path: Path) -> None:
    _, cfg, _ = _build(tmp_path, "FROM scratch\nEXPOSE 80 53/UDP 8000-8002/tcp\n")
    want = ["80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp"]
    assert sorted(cfg["config"]["ExposedPorts"]) == sorted(want)


def test_stages_copying_from_each_other_in_a_cycle_are_refused(tmp_path: Path) -> None:
    text = (
        "FROM scratch AS a\nCOPY --from=b /x /x\n"
        "FROM scratch AS b\nCOPY --from=a /y /y\n"
        "FROM scratch\nCOPY --from=b /x /x\n"
    )
    with pytest.raises(InputError, match="circular dependency detected on stage: b"):
        _build(tmp_path, text)
    with pytest.raises(InputError, match="circular dependency detected on stage: a"):
        _build(tmp_path, "FROM scratch AS a\nCOPY --from=a /x /x\n")


def _link_ctx(tmp_path: Path, ignore: str) -> Path:
    ctx = tmp_path / "ctx"
    (ctx / ".git").mkdir(parents=True)
    (ctx / ".git" / "config").write_text("[core]\n")
    (ctx / "secret.txt").write_text("s3cret")
    (ctx / "app").mkdir()
    (ctx / "app" / "main.sh").write_text("echo hi")
    (ctx / ".dockerignore").write_text(ignore)
    return ctx


@pytest.mark.parametrize(
    ("link", "target", "copy", "message"),
    [
        ("leak", "secret.txt", "COPY leak /leak", "excluded by .dockerignore"),
        ("app/leak", "../secret.txt", "COPY app /app", "excluded by .dockerignore"),
        ("gitcfg", ".git/config", "COPY gitcfg /g", "symlink into .git"),
        ("app/git", "../.git", "COPY app /app", "symlink into .git"),
    ],
)
def test_symlinks_to_ignored_files_or_into_git_are_refused(
    tmp_path: Path, link: str, target: str, copy: str, message: str
) -> None:
    ctx = _link_ctx(tmp_path, "secret.txt\n")
    os.symlink(target, ctx / link)
    (ctx / "Dockerfile").write_text(f"FROM scratch\n{copy}\n")
    with pytest.raises(InputError, match=message) as err:
        build(ctx, store=Store(tmp_path / "store"))
    assert (err.value.subject or "").endswith("Dockerfile:2")


def test_a_directory_reached_through_a_symlink_keeps_its_ignored_files_out(
    tmp_path: Path,
) -> None:
    ctx = _link_ctx(tmp_path, "conf/key\n")
    (ctx / "conf").mkdir()
    (ctx / "conf" / "key").write_text("k")
    (ctx / "conf" / "ok").write_text("o")
    os.symlink("conf", ctx / "viaconf")
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY viaconf /c\n")
    store = Store(tmp_path / "store")
    names = set(_entries(store, build(ctx, store=store).digest))
    assert "c/ok" in names and "c/key" not in names
