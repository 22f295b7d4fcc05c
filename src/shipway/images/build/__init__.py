"""The native image builder: ``build(context, …) -> BuildResult``, without a daemon.

Modules: ``dockerfile`` (parsing, pure), ``evaluate`` (instructions → config and
layers), ``layers`` (deterministic tar), ``cache`` (layer cache); the image goes
into the store's OCI layout, tagged with each ``-t`` reference, and is pushed
with ``images.transfer.push`` when asked.

Timestamps: following reproducible-builds.org, ``SOURCE_DATE_EPOCH`` (when set)
is the image's ``created`` time and every layer entry's mtime; when it is not
set shipway uses 0 (1970-01-01T00:00:00Z), so the same inputs give the same
digest on any machine and at any time. A malformed value is an input error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.images import oci
from shipway.images.build.dockerfile import parse as parse_dockerfile
from shipway.images.build.evaluate import Evaluator
from shipway.images.build.instructions import image_config, manifest_for
from shipway.images.reference import Reference
from shipway.images.reference import parse as parse_ref
from shipway.images.store import Store
from shipway.images.transfer import client_for, copy_blobs, push
from shipway.model.errors import InputError


@dataclass
class BuildResult:
    digest: str  # the manifest digest
    config_digest: str
    tags: list[str]
    pushed: list[str] = field(default_factory=list)  # registry/repo@sha256:…
    bytes_uploaded: int = 0
    requests: int = 0
    layers_built: int = 0
    layers_cached: int = 0
    size: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "config_digest": self.config_digest,
            "tags": self.tags,
            "pushed": self.pushed,
            "bytes_uploaded": self.bytes_uploaded,
            "image_id": self.config_digest,  # what docker calls the image ID
        }


def source_date_epoch() -> int:
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise InputError(f"SOURCE_DATE_EPOCH must be a non-negative integer, got {raw!r}")
    return int(raw)


def _find_dockerfile(context: Path, dockerfile: Path | None) -> Path:
    if dockerfile is not None:
        path = dockerfile if dockerfile.is_absolute() else Path.cwd() / dockerfile
        if not path.exists() and (context / dockerfile).exists():
            path = context / dockerfile
        if not path.exists():
            raise InputError("Dockerfile not found", subject=str(dockerfile))
        return path
    for name in ("Containerfile", "Dockerfile"):
        if (context / name).exists():
            return context / name
    raise InputError("no Containerfile or Dockerfile in the context", subject=str(context))


def _ignore_text(context: Path, df_path: Path) -> str:
    """``<Dockerfile>.dockerignore`` next to the Dockerfile wins over ``.dockerignore``."""
    for f in (df_path.with_name(df_path.name + ".dockerignore"), context / ".dockerignore"):
        if f.is_file():
            return f.read_text()
    return ""


def build(
    context: Path,
    *,
    dockerfile: Path | None = None,
    tags: list[str] | None = None,
    build_args: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    target: str | None = None,
    push: bool = False,
    insecure: bool | None = None,
    on_line: Callable[[str], None] | None = None,
    store: Store | None = None,
    buildah_env: Mapping[str, str] | None = None,
    no_cache: bool = False,
) -> BuildResult:
    """Build the image of ``context``; store it, tag it and optionally push it.

    ``buildah_env`` configures buildah for RUN steps: pass
    ``shipway.runtime.podman_env.podman_env(DIR)`` (the environment that points
    buildah at its containers.conf and storage); default: the process environment.
    """
    context = Path(context)
    if not context.is_dir():
        raise InputError("build context is not a directory", subject=str(context))
    log = on_line or (lambda _: None)
    store = store or Store()
    refs = [parse_ref(t) for t in tags or []]
    df_path = _find_dockerfile(context, dockerfile)
    try:
        text = df_path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the Dockerfile: {exc}", subject=str(df_path)) from exc
    df = parse_dockerfile(text, str(df_path))
    ev = Evaluator(
        context,
        df,
        build_args=dict(build_args or {}),
        store=store,
        epoch=source_date_epoch(),
        insecure=insecure,
        on_line=log,
        ignore_text=_ignore_text(context, df_path),
        buildah_env=buildah_env,
        no_cache=no_cache,
    )
    state = ev.stage_state(df.stage(target))
    config = image_config(state, dict(labels or {}), ev.created)
    config_bytes = oci.canonical_json(config)
    config_digest = store.layout.put(config_bytes)
    manifest = manifest_for(config_digest, len(config_bytes), state)
    digest = store.layout.put(manifest)
    desc = {"mediaType": oci.OCI_MANIFEST, "digest": digest, "size": len(manifest)}
    for ref in refs:
        if ref.oci_dir is not None:  # -t oci:DIR[:TAG] writes into that layout
            out = Store.for_layout(Path(ref.oci_dir), store.root)
            copy_blobs(store, out, digest)
            out.layout.tag(ref.tag or "latest", desc)
        else:
            store.layout.tag(str(ref), desc)
    result = BuildResult(
        digest=digest,
        config_digest=config_digest,
        tags=[str(r) for r in refs],
        layers_built=ev.layers_built,
        layers_cached=ev.layers_cached,
        size=sum(int(x["size"]) for x in state.layers),
    )
    log(f"built {digest}")
    if push:
        _push_all(store, digest, refs, insecure, log, result)
    return result


def _push_all(
    store: Store,
    digest: str,
    refs: list[Reference],
    insecure: bool | None,
    log: Callable[[str], None],
    result: BuildResult,
) -> None:
    if not refs:
        raise InputError("--push needs at least one -t reference")
    groups: dict[tuple[str, str], list[str]] = {}
    for ref in refs:
        if ref.oci_dir is not None:
            continue  # already written into the layout by the build
        groups.setdefault((ref.registry, ref.repository), []).append(ref.tag or "latest")
    for (registry, repository), tag_list in groups.items():
        ref = parse_ref(f"{registry}/{repository}")
        with client_for(ref, insecure) as client:
            stats = push(store, digest, client, repository, tag_list, on_line=log)
        result.bytes_uploaded += stats.bytes_uploaded
        result.requests += stats.requests
        result.pushed.append(ref.pinned(digest))
        log(f"pushed {ref.pinned(digest)} ({stats.bytes_uploaded} bytes uploaded)")
