"""RUN through buildah, multi-stage builds, COPY --from, ADD archives, .dockerignore."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from images_helpers import podman_run

from shipway.images.build import build
from shipway.images.store import Store
from shipway.model.errors import ExternalError, InputError, ShipwayError

pytestmark = pytest.mark.integration

CONTAINERFILE = """\
ARG BASE
FROM $BASE AS builder
ARG VERSION=1.0
RUN mkdir -p /out /etc && echo "built $VERSION" > /out/result \\
    && echo "app:x:1234:55::/:/bin/sh" > /etc/passwd
FROM builder AS middle
RUN ["/bin/sh", "-c", "echo middle > /out/middle"]
RUN <<EOF
set -e
echo heredoc > /out/heredoc
EOF
RUN cat <<NOTE > /out/note
from a shell heredoc
NOTE
FROM $BASE
COPY --from=builder /etc/passwd /etc/passwd
COPY --from=middle --chown=app --chmod=600 /out/ /app/out/
COPY src/ /app/src/
ADD files.tgz /app/arch/
CMD ["/bin/sh", "-c", "cat /app/out/result /app/out/middle /app/out/heredoc /app/out/note \\
     /app/arch/d/f; ls /app/src"]
"""


def _context(path: Path) -> Path:
    (path / "src").mkdir(parents=True)
    (path / "src" / "a.txt").write_text("a\n")
    (path / "src" / "b.tmp").write_text("scratch file\n")
    (path / "secret").mkdir()
    (path / "secret" / "key").write_text("k\n")
    (path / ".dockerignore").write_text("secret\n**/*.tmp\n")
    arch = path / "arch" / "d"
    arch.mkdir(parents=True)
    (arch / "f").write_text("from the archive\n")
    with tarfile.open(path / "files.tgz", "w:gz") as tar:
        tar.add(arch, arcname="d")
    shutil.rmtree(path / "arch")
    (path / "Containerfile").write_text(CONTAINERFILE)
    return path


def test_multi_stage_with_run_runs_in_podman(
    registry,
    base_ref: str,
    podman: dict[str, str],
    tmp_path: Path,
    store: Store,  # type: ignore[no-untyped-def]
) -> None:
    ctx = _context(tmp_path / "ctx")
    ref = f"{registry.host}/images-test/stages:1"
    args = {"BASE": base_ref, "VERSION": "2.5"}
    res = build(ctx, tags=[ref], build_args=args, push=True, store=store, buildah_env=podman)
    out = podman_run(podman, "run", "--rm", ref).split()
    assert out == [
        "built",
        "2.5",
        "middle",
        "heredoc",
        "from",
        "a",
        "shell",
        "heredoc",
        "from",
        "the",
        "archive",
        "a.txt",
    ]
    listing = podman_run(podman, "run", "--rm", ref, "ls", "-ln", "/app/out/result").split()
    assert (listing[0], listing[2], listing[3]) == ("-rw-------", "1234", "55")

    again = build(ctx, tags=[ref], build_args=args, store=store, buildah_env=podman)
    assert (again.digest, again.layers_built) == (res.digest, 0)

    with pytest.raises(InputError, match=r"excluded by \.dockerignore"):
        (ctx / "Containerfile").write_text(f"FROM {base_ref}\nCOPY secret/key /k\n")
        build(ctx, store=store)


def test_target_stage_and_failing_run(
    base_ref: str, tmp_path: Path, store: Store, podman: dict[str, str]
) -> None:
    ctx = _context(tmp_path / "ctx")
    res = build(
        ctx, build_args={"BASE": base_ref}, target="builder", store=store, buildah_env=podman
    )
    config = store.layout.read_json(res.config_digest)
    assert len(config["rootfs"]["diff_ids"]) == 2  # busybox + the RUN layer
    images = subprocess.run(
        ["buildah", "images", "--format", "{{.Name}}"],
        env={**os.environ, **podman},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "localhost/shipway-stack" in images  # RUN used the storage it was given
    (ctx / "Containerfile").write_text(f"FROM {base_ref}\nRUN echo about to fail; exit 3\n")
    with pytest.raises(ShipwayError, match="RUN exited with status 3") as err:
        build(ctx, store=store, buildah_env=podman)
    assert "Containerfile:2" in str(err.value)


def test_without_buildah_run_fails_clearly_and_the_rest_builds(
    base_ref: str, tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", str(bindir))
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f").write_text("x")
    (ctx / "Dockerfile").write_text(f"FROM {base_ref}\nCOPY f /f\nRUN true\n")
    with pytest.raises(ExternalError, match="RUN needs buildah") as err:
        build(ctx, store=store)
    assert err.value.subject is not None and err.value.subject.endswith("Dockerfile:3")
    (ctx / "Dockerfile").write_text(f"FROM {base_ref}\nCOPY f /f\n")
    assert build(ctx, store=store).digest.startswith("sha256:")


def test_from_an_oci_layout(base_ref: str, tmp_path: Path, store: Store) -> None:
    from shipway.images.transfer import copy

    layout = tmp_path / "layout"
    copy(base_ref, f"oci:{layout}:base", store=store)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM oci:{layout}:base\nENV FROM_LAYOUT=1\n")
    res = build(ctx, store=Store(tmp_path / "other-store"))
    cfg = json.loads(
        (
            Path(tmp_path / "other-store" / "oci" / "blobs" / "sha256" / res.config_digest[7:])
        ).read_text()
    )
    assert "FROM_LAYOUT=1" in cfg["config"]["Env"]
    assert os.path.exists(layout / "index.json")


def test_run_mounts_cache_and_bind(
    base_ref: str, tmp_path: Path, store: Store, podman: dict[str, str]
) -> None:
    import io

    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "src" / "a.txt").write_text("from the context\n")
    (ctx / "Dockerfile").write_text(
        f"FROM {base_ref}\n"
        "RUN --mount=type=bind,source=src,target=/mnt/src \\\n"
        "    --mount=type=cache,target=/var/cache/app \\\n"
        "    cat /mnt/src/a.txt > /copied && echo run >> /var/cache/app/runs\n"
    )
    res = build(ctx, store=store, buildah_env=podman)
    manifest = store.layout.read_json(res.digest)
    layer = store.layout.read(manifest["layers"][-1]["digest"])
    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:gz") as tar:
        names = tar.getnames()
        copied = tar.extractfile("copied")
        assert copied is not None and copied.read() == b"from the context\n"
    assert not any(n.startswith(("mnt/src/", "var/cache/app/")) for n in names)
