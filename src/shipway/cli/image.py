"""``shipway image build|inspect|tags|push|copy|login``: the images and registries CLI.

The group object is exported as ``image`` so other modules can add commands to
it (``image.add_command(...)``). Progress goes to stderr; results to stdout as
a table or ``-o json|yaml``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from shipway.cli import output as out
from shipway.cli.groups import SuggestingGroup
from shipway.model.errors import InputError


def _progress(line: str) -> None:
    click.echo(line, err=True)


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for v in values:
        k, eq, val = v.partition("=")
        if not k:
            raise InputError(f"{what} expects KEY=VALUE, got {v!r}")
        if not eq:
            val = os.environ.get(k, "")
        found[k] = val
    return found


_insecure = click.option(
    "--insecure",
    is_flag=True,
    default=None,
    help="Skip TLS verification (plain HTTP if TLS fails); loopback is always plain HTTP.",
)


@click.group(cls=SuggestingGroup)
def image() -> None:
    """Build, push, copy and inspect OCI images; list tags; log in to registries."""


@image.command("build")
@click.argument("context", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("-t", "--tag", "tags", multiple=True, help="Name the image REF (repeatable).")
@click.option("-f", "--file", "dockerfile", type=click.Path(path_type=Path), help="Dockerfile.")
@click.option("--build-arg", "build_args", multiple=True, help="K=V build argument.")
@click.option("--label", "labels", multiple=True, help="K=V label to add to the image.")
@click.option("--target", help="Build this stage.")
@click.option("--push", is_flag=True, help="Push every -t reference after the build.")
@click.option("--no-cache", is_flag=True, help="Rebuild every layer (the cache is refreshed).")
@click.option("--no-sbom", is_flag=True, help="Do not make the image's SBOM.")
@_insecure
@out.data_output_option
def build_cmd(
    context: Path,
    tags: tuple[str, ...],
    dockerfile: Path | None,
    build_args: tuple[str, ...],
    labels: tuple[str, ...],
    target: str | None,
    push: bool,
    no_cache: bool,
    no_sbom: bool,
    insecure: bool | None,
    output: str,
) -> None:
    """Build CONTEXT without a daemon (Containerfile or Dockerfile); keep its SBOM."""
    from shipway import settings
    from shipway.images.build import build
    from shipway.runtime.podman_env import podman_env

    res = build(
        context,
        dockerfile=dockerfile,
        tags=list(tags),
        build_args=_pairs(build_args, "--build-arg"),
        labels=_pairs(labels, "--label"),
        target=target,
        push=push,
        insecure=insecure,
        on_line=_progress,
        buildah_env=podman_env(settings.load().home / "images" / "buildah"),
        no_cache=no_cache,
    )
    data = res.as_dict()
    if not no_sbom:
        kept = _record_sbom(res.digest, res.tags[0] if res.tags else res.digest)
        if kept is not None:
            data["sbom"] = kept
    if not out.emit(data, output):
        click.echo(res.pushed[0] if res.pushed else res.digest)


def _record_sbom(digest: str, name: str) -> dict[str, object] | None:
    """Keep the SBOM of a built image next to it in the store (a failure only warns)."""
    from shipway.images.store import Store
    from shipway.model.errors import ShipwayError
    from shipway.security.sbom import record_build

    try:
        path = record_build(Store(), digest, name)
    except ShipwayError as exc:
        _progress(f"warning: no SBOM for {digest}: {exc}")
        return None
    _progress(f"sbom {path}")
    return {"path": str(path), "packages": len(json.loads(path.read_text())["packages"])}


@image.command("inspect")
@click.argument("ref")
@_insecure
@out.data_output_option
def inspect_cmd(ref: str, insecure: bool | None, output: str) -> None:
    """Show an image's digest, manifest and config."""
    from shipway.images import query
    from shipway.images.store import Store

    data = query.inspect(ref, insecure=insecure, store=Store())
    if out.emit(data, output):
        return
    cfg = data.get("config") or {}
    layers = (data.get("manifest") or {}).get("layers", [])
    rows = [
        ("name", data["name"]),
        ("digest", data["digest"]),
        ("media type", data.get("mediaType")),
        ("created", cfg.get("created")),
        ("platform", f"{cfg.get('os')}/{cfg.get('architecture')}"),
        ("layers", len(layers)),
        ("size", sum(int(x.get("size", 0)) for x in layers)),
    ]
    for k, v in sorted(((cfg.get("config") or {}).get("Labels") or {}).items()):
        rows.append((f"label {k}", v))
    out.table(["field", "value"], rows)


@image.command("tags")
@click.argument("repo")
@_insecure
@out.data_output_option
def tags_cmd(repo: str, insecure: bool | None, output: str) -> None:
    """List the tags of REPO (``registry/repository`` or ``oci:DIR``)."""
    from shipway.images import query

    found = query.tags(repo, insecure=insecure)
    if not out.emit(found, output):
        for t in found:
            click.echo(t)


def _copy(src: str, dst: str, insecure: bool | None, output: str, local_first: bool) -> None:
    from shipway.images import transfer

    res = transfer.copy(src, dst, insecure=insecure, on_line=_progress, local_first=local_first)
    data = {
        "source": res.source,
        "destination": res.destination,
        "digest": res.digest,
        "pushed": res.pushed,
        "bytes_uploaded": res.bytes_uploaded,
    }
    if not out.emit(data, output):
        click.echo(res.pushed or f"{res.destination}@{res.digest}")


@image.command("push")
@click.argument("src")
@click.argument("dst", required=False)
@_insecure
@out.data_output_option
def push_cmd(src: str, dst: str | None, insecure: bool | None, output: str) -> None:
    """Push a built image (or ``oci:DIR:TAG``) to DST (default: SRC's own name)."""
    if dst is None and src.startswith("oci:"):
        raise InputError("pushing oci:DIR needs a destination", subject=src)
    _copy(src, dst or src, insecure, output, local_first=True)


@image.command("copy")
@click.argument("src")
@click.argument("dst")
@_insecure
@out.data_output_option
def copy_cmd(src: str, dst: str, insecure: bool | None, output: str) -> None:
    """Copy an image between registries and OCI layouts (only missing blobs move)."""
    _copy(src, dst, insecure, output, local_first=False)


@image.command("login")
@click.argument("registry")
@click.option("-u", "--username", required=True)
@click.option("-p", "--password", help="Prefer --password-stdin.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@_insecure
def login_cmd(
    registry: str, username: str, password: str | None, password_stdin: bool, insecure: bool | None
) -> None:
    """Check credentials against REGISTRY and save them in ~/.docker/config.json."""
    from shipway.images import credentials
    from shipway.images.registry import RegistryClient

    if password_stdin:
        password = sys.stdin.read().rstrip("\n")
    if not password:
        raise InputError("a password is needed (-p or --password-stdin)", subject=registry)
    creds = credentials.Credentials(username, password)
    with RegistryClient(registry, insecure=insecure, credentials=creds) as client:
        client.ping()
    path = credentials.store_login(client.host, creds)
    click.echo(f"Login Succeeded ({path})")


@image.command("prune")
@click.option("--all", "everything", is_flag=True, help="Also drop the build cache.")
@out.data_output_option
def prune_cmd(everything: bool, output: str) -> None:
    """Remove blobs of the local store that no tagged image (or the cache) needs."""
    from dataclasses import asdict

    from shipway.images import gc
    from shipway.images.store import Store

    res = gc.prune(Store(), cache=not everything)
    if not out.emit(asdict(res), output):
        click.echo(f"removed {res.blobs_removed} blobs, {res.bytes_freed} bytes freed")
