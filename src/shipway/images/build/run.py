"""RUN steps, executed by buildah (chroot isolation) on the current layer stack.

The stack is handed to buildah as a throwaway OCI layout whose blobs are
hard links into the store; ``buildah from`` / ``run`` / ``commit`` produce the
step's diff, which comes back as the last layer of the committed image and is
stored gzip-compressed. buildah's configuration comes from
``buildah_env`` (callers pass ``shipway.runtime.podman_env.podman_env(DIR)``;
images may not import runtime), else from the process environment.
Touches buildah, a temp directory under the store, and the store's layout.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from shipway.images import oci
from shipway.images.build.layers import Layer
from shipway.images.layout import Layout
from shipway.images.store import Store
from shipway.model.errors import ExternalError, ShipwayError

Log = Callable[[str], None]


class RunFailed(ShipwayError):
    """A RUN step's command exited non-zero: the build failed (exit code 1)."""


def buildah_path(where: str) -> str:
    path = shutil.which("buildah")
    if path is None:
        raise ExternalError(
            "RUN needs buildah, which is not installed (apt-get install buildah); "
            "a Dockerfile without RUN builds natively",
            subject=where,
        )
    return path


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _export(store: Store, tmp: Path, layers: list[dict[str, Any]], config: dict[str, Any]) -> None:
    """A one-image OCI layout in ``tmp`` (tag ``run``) holding the current stack."""
    layout = Layout(tmp)
    layout.init()
    for desc in layers:
        _link_or_copy(store.layout.path(desc["digest"]), layout.path(desc["digest"]))
    cfg = oci.canonical_json(config)
    cfg_digest = layout.put(cfg)
    manifest = oci.canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": oci.OCI_MANIFEST,
            "config": {"mediaType": oci.OCI_CONFIG, "digest": cfg_digest, "size": len(cfg)},
            "layers": layers,
        }
    )
    digest = layout.put(manifest)
    layout.tag("run", {"mediaType": oci.OCI_MANIFEST, "digest": digest, "size": len(manifest)})


def _buildah(env: dict[str, str], args: list[str], where: str, log: Log | None = None) -> str:
    proc = subprocess.Popen(
        [buildah_path(where), *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if log is not None:
            log("  " + line.rstrip("\n"))
    code = proc.wait()
    if code != 0:
        tail = "\n".join(lines[-20:])
        if args[0] == "run":
            raise RunFailed(f"RUN exited with status {code}: {tail}", subject=where)
        raise ExternalError(f"buildah {args[0]} failed ({code}): {tail}", subject=where)
    return "\n".join(lines)


@contextlib.contextmanager
def _container(env: dict[str, str], image: str, where: str) -> Iterator[str]:
    ctr = _buildah(env, ["from", "-q", image], where).strip().splitlines()[-1]
    try:
        yield ctr
    finally:
        with contextlib.suppress(ShipwayError):
            _buildah(env, ["rm", ctr], where)


@contextlib.contextmanager
def _scratch_dir(parent: Path) -> Iterator[Path]:
    """A temp directory whose name is a valid image name (buildah names ``oci:`` images
    after the path: upper case or a trailing ``_`` would be refused)."""
    if not re.fullmatch(r"[a-z0-9/._-]+", str(parent)):
        parent = Path(tempfile.gettempdir())  # blobs are then copied, not hard-linked
    path = parent / f"shipway-run-{uuid.uuid4().hex}"
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run_step(
    store: Store,
    *,
    layers: list[dict[str, Any]],
    diff_ids: list[str],
    argv: list[str],
    env: dict[str, str],
    workdir: str,
    user: str,
    where: str,
    log: Log,
    buildah_env: Mapping[str, str] | None = None,
    mounts: list[str] | None = None,
) -> Layer:
    """Run ``argv`` on the stack; return the new layer, stored in the store's layout.

    ``mounts`` are ``buildah run --mount`` specs (cache, tmpfs, bind from the context).
    """
    buildah_path(where)
    benv = dict(buildah_env or {})
    work = store.root / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    with _scratch_dir(work) as tmp:
        image = _stack_image(benv, store, tmp, layers, config, where)
        with _container(benv, image, where) as ctr:
            args = ["run", "--isolation", "chroot"]
            for k, v in sorted(env.items()):
                args += ["--env", f"{k}={v}"]
            if workdir:
                args += ["--workingdir", workdir]
            if user:
                args += ["--user", user]
            for m in mounts or []:
                args += ["--mount", m]
            with _mount_stubs_removed(benv, ctr, mounts or [], where):
                _buildah(benv, [*args, ctr, "--", *argv], where, log)
            return _commit_layer(benv, ctr, _out_dir(store, tmp), store.layout, len(layers), where)


def _mount_target(spec: str) -> str:
    for part in spec.split(","):
        key, _, value = part.partition("=")
        if key in ("target", "dst", "destination"):
            return value
    return ""


@contextlib.contextmanager
def _mount_stubs_removed(
    benv: dict[str, str], ctr: str, mounts: list[str], where: str
) -> Iterator[None]:
    """Remove what ``--mount`` targets created in the rootfs and the step left empty.

    BuildKit (its mount stub cleaner) and ``buildah bud`` leave no trace of a mount
    point that was not in the image: the target made for it is not in the step's
    layer (the parent directories made on the way stay, in both). ``buildah run``
    leaves the target, so it is removed here, if the step left it empty.
    """
    targets = [t for t in map(_mount_target, mounts) if t]
    if not targets:
        yield
        return
    root = Path(_buildah(benv, ["mount", ctr], where).strip().splitlines()[-1])
    try:
        paths = [root / posixpath.normpath("/" + t).lstrip("/") for t in targets]
        stubs = [p for p in paths if p != root and not os.path.lexists(p)]
        yield
        for path in stubs:
            with contextlib.suppress(OSError):  # not empty, or not there: keep it
                if path.is_dir() and not path.is_symlink():
                    path.rmdir()
                elif path.is_file() and path.stat().st_size == 0:
                    path.unlink()
    finally:
        with contextlib.suppress(ShipwayError):
            _buildah(benv, ["umount", ctr], where)


def _stack_image(
    benv: dict[str, str],
    store: Store,
    tmp: Path,
    layers: list[dict[str, Any]],
    config: dict[str, Any],
    where: str,
) -> str:
    """The layer stack as an image in buildah's storage, named by its chain of diff_ids.

    Imported once (``buildah pull oci:…``, then renamed ``localhost/shipway-stack:<id>``);
    later steps and builds on the same stack start from it directly.
    """
    name = (
        "localhost/shipway-stack:"
        + hashlib.sha256(json.dumps(config["rootfs"]["diff_ids"]).encode()).hexdigest()
    )
    try:
        _buildah(benv, ["inspect", "--type", "image", "--format", "{{.FromImageID}}", name], where)
        return name
    except ExternalError:
        pass
    _export(store, tmp / "in", layers, config)
    source = f"oci:{tmp / 'in'}:run"
    image_id = _buildah(benv, ["pull", "-q", source], where).strip().splitlines()[-1]
    _buildah(benv, ["tag", image_id, name], where)
    for tag in ("latest", "run"):  # drop the temporary path-derived name (image stays)
        with contextlib.suppress(ShipwayError):
            _buildah(benv, ["rmi", f"localhost{tmp / 'in'}:{tag}"], where)
    return name


def _out_dir(store: Store, tmp: Path) -> Path:
    """A layout kept across steps, so ``buildah commit`` skips the base layers it holds."""
    out = store.root / "buildah-out"
    return out if re.fullmatch(r"[a-z0-9/._-]+", str(out)) else tmp / "out"


def _commit_layer(
    benv: dict[str, str], ctr: str, out: Path, dst: Layout, before: int, where: str
) -> Layer:
    """Commit the container into ``out`` and import its new (last) layer into ``dst``."""
    layout, tag = Layout(out), f"step-{uuid.uuid4().hex}"
    layout.init()
    with layout.locked():  # one commit at a time: buildah rewrites index.json
        _buildah(benv, ["commit", "-q", "--format", "oci", ctr, f"oci:{out}:{tag}"], where)
        manifest_digest = str(layout.resolve(tag)["digest"])
        manifest = layout.read_json(manifest_digest)
        try:
            return _import_last_layer(layout, manifest, dst, before, where)
        finally:
            layout.untag(tag)
            for d in (
                manifest_digest,
                manifest["config"]["digest"],
                manifest["layers"][-1]["digest"],
            ):
                layout.path(d).unlink(missing_ok=True)


def _import_last_layer(
    src: Layout, manifest: dict[str, Any], dst: Layout, before: int, where: str
) -> Layer:
    got = manifest.get("layers", [])
    if len(got) != before + 1:
        raise ExternalError(
            f"buildah commit gave {len(got)} layers, expected {before + 1}", subject=where
        )
    desc = got[-1]
    path = src.path(desc["digest"])
    if desc.get("mediaType") in (oci.OCI_LAYER_GZIP, oci.DOCKER_LAYER_GZIP):
        diff = hashlib.sha256()
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                diff.update(chunk)
        with dst.writer() as w, open(path, "rb") as fh:
            shutil.copyfileobj(fh, w)
            size, digest = w.size, w.commit(desc["digest"])
        return Layer(digest, "sha256:" + diff.hexdigest(), size)
    diff = hashlib.sha256()
    with dst.writer() as w:
        fobj = w  # hashing writer
        with (
            gzip.GzipFile(filename="", mode="wb", fileobj=fobj, mtime=0) as gz,
            open(path, "rb") as fh,
        ):
            while chunk := fh.read(1 << 20):
                diff.update(chunk)
                gz.write(chunk)
        size, digest = w.size, w.commit()
    return Layer(digest, "sha256:" + diff.hexdigest(), size)


def describe(argv: list[str]) -> str:
    return json.dumps(argv)
