"""Differential test: every Dockerfile of the builder's tests, built by shipway and by
``buildah bud --isolation chroot`` from the same local busybox base, gives the same
image config and the same file tree.

The Dockerfiles are those of tests/unit/images and tests/integration/images (the
module each comes from is named in its case). Both images are read back from disk
(shipway's from an OCI layout, buildah's from ``buildah push IMG dir:DIR``), their
layers flattened (whiteouts applied) and compared path by path: type, permission
bits, uid, gid, symlink target, sha256 of the contents.

Compared in the config: architecture, os and these ``config`` fields, as Docker
and buildah set them: ``COMPARED`` below. Legitimately different, so not compared:

- ``created`` and history timestamps, and file mtimes: shipway is reproducible by
  design (``SOURCE_DATE_EPOCH``, else 0); buildah stamps the build time.
- ``history[].created_by`` and ``empty_layer``: free text that each builder words
  its own way (buildah: ``/bin/sh -c #(nop) ENV ...``), and buildah records
  config-only steps as empty layers differently.
- ``rootfs.diff_ids`` and layer digests and count: they hash mtimes and tar
  framing; what the layers hold is compared through the flattened tree instead.
- ``container_config``, ``container``, ``docker_version``, ``author``: buildah's
  Docker-format bookkeeping, not part of the image's runtime configuration.

buildah builds with ``--format docker`` (its OCI format drops Healthcheck, OnBuild,
Shell and StopSignal, which Docker and BuildKit keep) and ``--identity-label=false``
(buildah otherwise adds its own ``io.buildah.version`` label, which Docker does not).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from images_difftree import flatten, read_dir_transport, read_oci_layout, tree_diff
from test_image_build_stages import CONTAINERFILE as STAGES_CONTAINERFILE

from shipway.images.build import build
from shipway.images.store import Store

pytestmark = pytest.mark.integration

COMPARED = (
    "Env",
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "User",
    "ExposedPorts",
    "Labels",
    "Volumes",
    "StopSignal",
    "Healthcheck",
    "OnBuild",
    "Shell",
)


@dataclass(frozen=True)
class Case:
    id: str
    source: str  # the test module the Dockerfile comes from
    dockerfile: str  # ``{base}``: the busybox base; ``{parent}``: the image of ``parent``
    files: dict[str, str] = field(default_factory=dict)
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    setup: Callable[[Path], None] | None = None
    parent: str | None = None  # a Dockerfile built first (FROM scratch), as ``{parent}``
    heredocs: bool = False  # needs buildah 1.33 or later (heredoc support)
    # config fields where buildah deviates from Docker/BuildKit: the value Docker gives,
    # which shipway must give, and why buildah differs
    docker_wins: dict[str, tuple[Any, str]] = field(default_factory=dict)


def _stages_context(ctx: Path) -> None:
    """The context of test_image_build_stages: an archive, ignored files."""
    arch = ctx / "arch" / "d"
    arch.mkdir(parents=True)
    (arch / "f").write_text("from the archive\n")
    with tarfile.open(ctx / "files.tgz", "w:gz") as tar:
        tar.add(arch, arcname="d")
    shutil.rmtree(ctx / "arch")


def _symlinked_dir(ctx: Path) -> None:
    os.symlink("conf", ctx / "viaconf")


STAGES = STAGES_CONTAINERFILE  # the multi-stage file of the stage tests, as they build it
# The same without heredocs, so that buildah releases before 1.33 compare the rest of it.
STAGES_PLAIN = STAGES.replace(
    "RUN <<EOF\nset -e\necho heredoc > /out/heredoc\nEOF\n", "RUN echo heredoc > /out/heredoc\n"
).replace(
    "RUN cat <<NOTE > /out/note\nfrom a shell heredoc\nNOTE\n",
    "RUN echo from a shell heredoc > /out/note\n",
)
assert STAGES_PLAIN.count("<<") == 0
STAGES_FILES = {
    "src/a.txt": "a\n",
    "src/b.tmp": "scratch file\n",
    "secret/key": "k\n",
    ".dockerignore": "secret\n**/*.tmp\n",
}

CASES = [
    Case(
        "busybox-base",
        "images/conftest.py",
        'FROM scratch\nCOPY . /\nCMD ["/bin/sh"]\n',
        setup=None,  # the context is the busybox root filesystem: see _context
    ),
    Case(
        "derived-site",
        "test_image_build.py",
        "ARG BASE={base}\nFROM $BASE\nARG GREETING=hi\nENV GREETING=$GREETING\n"
        "WORKDIR /srv\nCOPY site/ ./www/\nEXPOSE 8080\nUSER 1000\n"
        'ENTRYPOINT ["/bin/sh", "-c"]\nCMD ["cat www/index.html; echo $GREETING; id -u"]\n',
        files={"site/index.html": "<h1>shipway</h1>\n", "site/big.bin": "b" * 300_000},
        build_args={"GREETING": "hello"},
        labels={"org.opencontainers.image.revision": "abc123"},
    ),
    Case(
        "copy-one-file",
        "test_image_build.py",
        "FROM {base}\nCOPY a.txt /\n",
        files={"a.txt": "a\n"},
    ),
    Case("label-only", "test_image_build.py (cli)", "FROM {base}\nLABEL stage=cli\n"),
    Case(
        "multi-stage",
        "test_image_build_stages.py",
        STAGES,
        files=STAGES_FILES,
        build_args={"BASE": "{base}", "VERSION": "2.5"},
        setup=_stages_context,
        heredocs=True,
    ),
    Case(
        "multi-stage-no-heredocs",
        "test_image_build_stages.py",
        STAGES_PLAIN,
        files=STAGES_FILES,
        build_args={"BASE": "{base}", "VERSION": "2.5"},
        setup=_stages_context,
    ),
    Case(
        "target-builder",
        "test_image_build_stages.py",
        STAGES,
        files=STAGES_FILES,
        build_args={"BASE": "{base}"},
        target="builder",
        setup=_stages_context,
    ),
    Case(
        "run-mounts",
        "test_image_build_stages.py",
        "FROM {base}\n"
        "RUN --mount=type=bind,source=src,target=/mnt/src \\\n"
        "    --mount=type=cache,target=/var/cache/app \\\n"
        "    cat /mnt/src/a.txt > /copied && echo run >> /var/cache/app/runs\n",
        files={"src/a.txt": "from the context\n"},
    ),
    Case("env-on-base", "test_image_build_stages.py", "FROM {base}\nENV FROM_LAYOUT=1\n"),
    Case(
        "copy-then-copy",
        "test_image_resilience.py",
        "FROM {base}\nCOPY big.bin /big.bin\nCOPY small.txt /\n",
        files={"big.bin": "x" * 200_000, "small.txt": "small\n"},
    ),
    Case(
        "copy-hello",
        "test_image_auth.py",
        "FROM {base}\nCOPY hello.txt /hello.txt\n",
        files={"hello.txt": "hello\n"},
    ),
    Case(
        "copy-and-cmd",
        "test_image_interop.py",
        'FROM {base}\nCOPY note.txt /note.txt\nCMD ["cat", "/note.txt"]\n',
        files={"note.txt": "on top of buildah\n"},
    ),
    Case(
        "arg-scoping",
        "unit/test_image_build_scratch.py",
        "ARG GLOBAL=g1\nARG ONLY_FROM=of\nFROM scratch\n"
        "LABEL before=${GLOBAL:-unset}\nARG GLOBAL\nLABEL after=$GLOBAL\n"
        "ARG LOCAL=l1\nENV LOCAL=env-wins\nLABEL local=$LOCAL\nARG GIVEN\nLABEL given=$GIVEN\n",
        build_args={"GIVEN": "from-cli", "GLOBAL": "g2"},
    ),
    Case(
        "platform-args",
        "unit/test_image_build_scratch.py",
        "ARG TARGETARCH\nFROM scratch\nARG TARGETOS\nARG TARGETARCH\n"
        "LABEL p=$TARGETOS/$TARGETARCH\n",
    ),
    Case(
        "scratch-label",
        "unit/test_image_build_scratch.py",
        "FROM scratch\nLABEL a=1\n",
        labels={"org.opencontainers.image.revision": "abc"},
    ),
    Case(
        "scratch-copy",
        "unit/test_image_build_scratch.py, test_image_gc.py",
        "FROM scratch\nCOPY f.txt /\n",
        files={"f.txt": "f\n"},
    ),
    Case(
        "copy-heredoc",
        "unit/test_image_build_scratch.py",
        "FROM scratch\nCOPY <<-CONF /etc/app.conf\n\tkey=value\n\tCONF\n",
        heredocs=True,
    ),
    Case(
        "onbuild-child",
        "unit/test_image_build_scratch.py",
        "FROM {parent}\nLABEL own=1\n",
        files={"app.txt": "app\n"},
        parent="FROM scratch\nONBUILD LABEL from-trigger=yes\nONBUILD COPY app.txt /app/\n",
    ),
    Case(
        "onbuild-parent",
        "unit/test_image_build_scratch.py",
        "FROM scratch\nONBUILD LABEL from-trigger=yes\nONBUILD COPY app.txt /app/\n",
    ),
    Case("default-path", "unit/test_image_build_fidelity.py", "FROM scratch\nENV A=1\n"),
    Case(
        "path-extended",
        "unit/test_image_build_fidelity.py",
        "FROM scratch\nENV PATH=$PATH:/opt/bin\n",
    ),
    Case(
        "workdir-as-user",
        "unit/test_image_build_fidelity.py",
        "FROM scratch\nUSER 1000:1001\nWORKDIR /app/data\n",
    ),
    Case(
        "workdir-exists",
        "unit/test_image_build_fidelity.py",
        "FROM scratch\nCOPY a /app/a\nWORKDIR /app\nWORKDIR /\n",
        files={"a": "x"},
    ),
    Case(
        "expose-ranges",
        "unit/test_image_build_fidelity.py",
        "FROM scratch\nEXPOSE 80 53/UDP 8000-8002/tcp\n",
        docker_wins={
            "ExposedPorts": (
                {p: {} for p in ("80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp")},
                "Docker and BuildKit parse EXPOSE with nat.ParsePortSpecs: a range becomes "
                "one port per number, the protocol lower case; buildah 1.28 stores the words "
                "as written (53/UDP, 8000-8002/tcp)",
            )
        },
    ),
    Case(
        "copy-through-symlinked-dir",
        "unit/test_image_build_fidelity.py",
        "FROM scratch\nCOPY viaconf /c\n",
        files={".dockerignore": "conf/key\n", "conf/key": "k", "conf/ok": "o"},
        setup=_symlinked_dir,
    ),
    Case(
        "config-instructions",
        "unit/test_image_instructions.py",
        "FROM scratch\nENV A=1 B=two\nENV A=3\nLABEL l=$A\nWORKDIR /app\nWORKDIR sub\n"
        'USER 1000:1000\nEXPOSE 80 53/udp\nVOLUME ["/data"]\nSTOPSIGNAL SIGINT\nCMD echo hi\n'
        'SHELL ["/bin/bash", "-c"]\nENTRYPOINT run.sh\n'
        'HEALTHCHECK --interval=1m30s --timeout=500ms --retries=2 CMD ["/bin/check"]\n'
        "ONBUILD COPY . /src\n",
        docker_wins={
            "Entrypoint": (
                ["/bin/bash", "-c", "run.sh"],
                "Docker's SHELL applies to the shell form of RUN, CMD and ENTRYPOINT "
                "(Dockerfile reference, SHELL); buildah 1.28 wraps ENTRYPOINT in /bin/sh -c",
            )
        },
    ),
    Case(
        "entrypoint-after-cmd",
        "unit/test_image_instructions.py",
        'FROM scratch\nCMD ["/c"]\nENTRYPOINT ["/e"]\n',
    ),
    Case("healthcheck-none", "unit/test_image_instructions.py", "FROM scratch\nHEALTHCHECK NONE\n"),
]


@dataclass
class Env:
    podman: dict[str, str]
    base: str  # the busybox base in the local registry, built by shipway
    busybox_rootfs: Path


def _buildah(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        ["buildah", *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"buildah {' '.join(args)}:\n{proc.stderr}"
    return proc.stdout


def _buildah_version(env: dict[str, str]) -> tuple[int, ...]:
    words = _buildah(env, "--version").split()  # "buildah version 1.28.2 (image-spec ...)"
    return tuple(int(x) for x in words[2].split(".")[:2])


@pytest.fixture(scope="module")
def diff_env(podman: dict[str, str], base_ref: str, busybox_rootfs: Path) -> Env:
    _buildah(podman, "pull", "-q", "--tls-verify=false", base_ref)  # once: every case uses it
    return Env(podman, base_ref, busybox_rootfs)


def _context(case: Case, path: Path, env: Env) -> Path:
    if case.id == "busybox-base":
        shutil.copytree(env.busybox_rootfs, path, symlinks=True)
    else:
        path.mkdir(parents=True)
    for name, body in case.files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(body)
    if case.setup is not None:
        case.setup(path)
    return path


def _shipway(case: Case, ctx: Path, df: str, args: dict[str, str], env: Env, tmp: Path) -> Any:
    out = tmp / "shipway-oci"
    build(
        ctx,
        dockerfile=ctx.parent / "Dockerfile.diff",
        tags=[f"oci:{out}:img"],
        build_args=args,
        labels=case.labels,
        target=case.target,
        store=Store(tmp / "store"),
        buildah_env=env.podman,
    )
    return read_oci_layout(out, "img")


def _buildah_build(
    case: Case, ctx: Path, args: dict[str, str], env: Env, tmp: Path, name: str
) -> tuple[dict[str, Any], list[Path]]:
    cmd = ["bud", "-q", "--isolation", "chroot", "--format", "docker", "--identity-label=false",
           "--tls-verify=false", "-f", str(ctx.parent / "Dockerfile.diff"), "-t", name]  # fmt: skip
    for k, v in args.items():
        cmd += ["--build-arg", f"{k}={v}"]
    for k, v in case.labels.items():
        cmd += ["--label", f"{k}={v}"]
    if case.target:
        cmd += ["--target", case.target]
    _buildah(env.podman, *cmd, str(ctx))
    out = tmp / "buildah-dir"
    _buildah(env.podman, "push", "-q", name, f"dir:{out}")
    return read_dir_transport(out)


def _config_fields(config: dict[str, Any]) -> dict[str, Any]:
    inner = config.get("config") or {}
    picked = {k: inner.get(k) for k in COMPARED if inner.get(k) not in (None, "", [], {})}
    return {"architecture": config.get("architecture"), "os": config.get("os"), **picked}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_shipway_and_buildah_build_the_same_image(
    case: Case, diff_env: Env, tmp_path: Path
) -> None:
    if case.heredocs and _buildah_version(diff_env.podman) < (1, 33):
        pytest.skip("buildah before 1.33 has no Dockerfile heredocs (BuildKit has them)")
    run = uuid.uuid4().hex[:8]
    names = [f"localhost/shipway-diff-{case.id}:{run}"]
    ctx = _context(case, tmp_path / "ctx", diff_env)
    args = {k: v.format(base=diff_env.base) for k, v in case.build_args.items()}
    try:
        shipway_parent = buildah_parent = ""
        if case.parent is not None:
            (ctx.parent / "Dockerfile.diff").write_text(case.parent)
            parent_dir = tmp_path / "parent-oci"
            build(ctx, dockerfile=ctx.parent / "Dockerfile.diff", tags=[f"oci:{parent_dir}:1"],
                  store=Store(tmp_path / "store"))  # fmt: skip
            shipway_parent = f"oci:{parent_dir}:1"
            buildah_parent = f"localhost/shipway-diff-parent-{case.id}:{run}"
            names.append(buildah_parent)
            _buildah(diff_env.podman, "bud", "-q", "--isolation", "chroot", "--format",
                     "docker", "--identity-label=false", "-f", str(ctx.parent / "Dockerfile.diff"),
                     "-t", buildah_parent, str(ctx))  # fmt: skip
        text = case.dockerfile.replace("{base}", diff_env.base)
        (ctx.parent / "Dockerfile.diff").write_text(text.replace("{parent}", shipway_parent))
        mine_cfg, mine_layers = _shipway(case, ctx, text, args, diff_env, tmp_path)
        (ctx.parent / "Dockerfile.diff").write_text(text.replace("{parent}", buildah_parent))
        theirs_cfg, theirs_layers = _buildah_build(case, ctx, args, diff_env, tmp_path, names[0])
        mine, theirs = _config_fields(mine_cfg), _config_fields(theirs_cfg)
        for key, (docker_value, why) in case.docker_wins.items():
            assert mine.pop(key, None) == docker_value, why
            assert theirs.pop(key, None) != docker_value, f"buildah now agrees: {why}"
        assert mine == theirs
        differences = tree_diff(flatten(mine_layers), flatten(theirs_layers))
        assert differences == [], "\n".join(differences[:40])
    finally:
        for name in names:
            subprocess.run(["buildah", "rmi", "-f", name], env={**os.environ, **diff_env.podman},
                           capture_output=True, check=False)  # fmt: skip
