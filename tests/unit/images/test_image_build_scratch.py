"""Builds that need no registry (FROM scratch): ARG scoping, labels, oci:DIR targets,
determinism. They write only under tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipway.images.build import build
from shipway.images.build.evaluate import DEFAULT_PATH
from shipway.images.layout import Layout
from shipway.images.store import Store
from shipway.model.errors import InputError


def _config(store: Store, digest: str) -> dict[str, object]:
    return store.layout.read_json(digest)


def _build(tmp_path: Path, text: str, **kw: object) -> tuple[Store, dict[str, object]]:
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(text)
    store = Store(tmp_path / "store")
    res = build(ctx, store=store, **kw)  # type: ignore[arg-type]
    return store, _config(store, res.config_digest)


def test_arg_scoping_follows_docker(tmp_path: Path) -> None:
    text = (
        "ARG GLOBAL=g1\nARG ONLY_FROM=of\nFROM scratch\n"
        "LABEL before=${GLOBAL:-unset}\n"  # a global ARG is not visible in a stage ...
        "ARG GLOBAL\nLABEL after=$GLOBAL\n"  # ... until it is declared there
        "ARG LOCAL=l1\nENV LOCAL=env-wins\nLABEL local=$LOCAL\n"
        "ARG GIVEN\nLABEL given=$GIVEN\n"
    )
    _, cfg = _build(tmp_path, text, build_args={"GIVEN": "from-cli", "GLOBAL": "g2"})
    labels = cfg["config"]["Labels"]  # type: ignore[index]
    assert labels == {"before": "unset", "after": "g2", "local": "env-wins", "given": "from-cli"}
    # a scratch stage starts with BuildKit's default PATH
    assert cfg["config"]["Env"] == [f"PATH={DEFAULT_PATH}", "LOCAL=env-wins"]  # type: ignore[index]


def test_automatic_platform_args(tmp_path: Path) -> None:
    text = (
        "ARG TARGETARCH\nFROM scratch\nARG TARGETOS\nARG TARGETARCH\n"
        "LABEL p=$TARGETOS/$TARGETARCH\n"
    )
    _, cfg = _build(tmp_path, text)
    assert cfg["config"]["Labels"] == {"p": "linux/amd64"}  # type: ignore[index]


def test_labels_from_the_command_line_and_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    _, cfg = _build(
        tmp_path, "FROM scratch\nLABEL a=1\n", labels={"org.opencontainers.image.revision": "abc"}
    )
    assert cfg["config"]["Labels"] == {"a": "1", "org.opencontainers.image.revision": "abc"}  # type: ignore[index]
    assert cfg["created"] == "2023-11-14T22:13:20Z"


def test_oci_layout_target(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f.txt").write_text("f\n")
    (ctx / "Containerfile").write_text("FROM scratch\nCOPY f.txt /\n")
    res = build(ctx, tags=[f"oci:{tmp_path / 'out'}:v1"], store=Store(tmp_path / "s"), push=True)
    layout = Layout(tmp_path / "out")
    assert layout.resolve("v1")["digest"] == res.digest
    manifest = layout.read_json(res.digest)
    assert all(layout.has(d["digest"]) for d in [manifest["config"], *manifest["layers"]])
    assert json.loads((tmp_path / "out" / "oci-layout").read_text())["imageLayoutVersion"]


def test_bad_inputs_name_the_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        _build(tmp_path, "FROM scratch\nCOPY missing.txt /\n")
    assert str(err.value).endswith(
        "Dockerfile:2: COPY source 'missing.txt' not found in the context"
    )
    with pytest.raises(InputError, match="no build stage"):
        _build(tmp_path, "FROM scratch AS a\n", target="b")
    with pytest.raises(InputError, match="COPY --parents is not supported"):
        _build(tmp_path, "FROM scratch\nCOPY --parents a/b /\n")
    with pytest.raises(InputError, match="RUN --mount type=secret is not supported"):
        _build(tmp_path, "FROM scratch\nRUN --mount=type=secret,id=x true\n")
    with pytest.raises(InputError, match="outside the build context"):
        _build(tmp_path, "FROM scratch\nRUN --mount=type=bind,source=../x,target=/x true\n")


def test_copy_heredoc_makes_a_file(tmp_path: Path) -> None:
    import io
    import tarfile

    store, cfg = _build(tmp_path, "FROM scratch\nCOPY <<-CONF /etc/app.conf\n\tkey=value\n\tCONF\n")
    layer = store.layout.read_json(build(tmp_path / "ctx", store=store).digest)["layers"][0][
        "digest"
    ]
    with tarfile.open(fileobj=io.BytesIO(store.layout.read(layer)), mode="r:gz") as tar:
        member = tar.extractfile("etc/app.conf")
        assert member is not None and member.read() == b"key=value\n"
    assert len(cfg["rootfs"]["diff_ids"]) == 1  # type: ignore[index]


def test_onbuild_triggers_run_in_the_child_build(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    parent.mkdir()
    (parent / "Dockerfile").write_text(
        "FROM scratch\nONBUILD LABEL from-trigger=yes\nONBUILD COPY app.txt /app/\n"
    )
    store = Store(tmp_path / "store")
    build(parent, tags=[f"oci:{tmp_path / 'base'}:1"], store=store)
    child = tmp_path / "child"
    child.mkdir()
    (child / "app.txt").write_text("app\n")
    (child / "Dockerfile").write_text(f"FROM oci:{tmp_path / 'base'}:1\nLABEL own=1\n")
    res = build(child, store=store)
    cfg = store.layout.read_json(res.config_digest)
    assert cfg["config"]["Labels"] == {"from-trigger": "yes", "own": "1"}
    assert "OnBuild" not in cfg["config"]  # triggers do not pass to grandchildren
    assert len(cfg["rootfs"]["diff_ids"]) == 1


def test_unreadable_source_is_an_input_error(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:  # root reads anything: make the file vanish instead
        ctx = tmp_path / "ctx"
        ctx.mkdir()
        (ctx / "gone").symlink_to(ctx / "missing-target")
        (ctx / "Dockerfile").write_text("FROM scratch\nCOPY gone /x\n")
    else:
        ctx = tmp_path / "ctx"
        ctx.mkdir()
        (ctx / "secret").write_text("s")
        (ctx / "secret").chmod(0)
        (ctx / "Dockerfile").write_text("FROM scratch\nCOPY secret /x\n")
    with pytest.raises(InputError) as err:
        build(ctx, store=Store(tmp_path / "s"))
    assert err.value.subject is not None and err.value.subject.endswith("Dockerfile:2")


def test_no_cache_rebuilds_the_same_bytes(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f.txt").write_text("f\n")
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY f.txt /\n")
    store = Store(tmp_path / "s")
    first = build(ctx, store=store)
    cached = build(ctx, store=store)
    fresh = build(ctx, store=store, no_cache=True)
    assert (first.layers_built, cached.layers_built, fresh.layers_built) == (1, 0, 1)
    assert first.digest == cached.digest == fresh.digest
