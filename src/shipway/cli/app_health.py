"""``shipway app health -f OBJECT.yaml [--lua SCRIPT]``: the health of a live object.

Like ``argocd admin settings resource-overrides health``: prints the status
and message shipway gives each object in the file, so a user can test a Lua
health script. ``--lua`` runs that script (with ``--open-libs`` as
``useOpenLibs``); ``--argocd-cm FILE`` uses a local argocd-cm ConfigMap's
customizations; with neither, the stored ``argocd-cm`` (``shipway apply``)
is used, then the built-in checks. Exit codes: 0 when the health was
assessed (whatever it is), 2 for bad input (``file:line:col``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from shipway.cli import output as out
from shipway.cli.context import store_from
from shipway.deploy import health, health_settings
from shipway.deploy.health import custom
from shipway.model import yamlsrc
from shipway.model.errors import InputError


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", subject=str(path)) from None


def _objects(path: Path) -> list[dict[str, Any]]:
    found = []
    for doc in yamlsrc.load_documents(_read(path), str(path)):
        data = doc.data
        if not isinstance(data, dict):
            raise InputError("expected a Kubernetes object (a mapping)", subject=doc.where(()))
        for field in ("apiVersion", "kind"):
            if not isinstance(data.get(field), str) or not data[field]:
                raise InputError(f"the object has no {field}", subject=doc.where(()))
        for field in ("metadata", "spec", "status"):
            if data.get(field) is not None and not isinstance(data[field], dict):
                raise InputError(f"{field} must be a mapping", subject=doc.where((field,)))
        found.append(data)
    if not found:
        raise InputError("no object in the file", subject=str(path))
    return found


def _configmap(path: Path) -> health.Customizations:
    doc = yamlsrc.load_one(_read(path), str(path))
    data = doc.data.get("data") if isinstance(doc.data, dict) else None
    if not isinstance(data, dict):
        raise InputError("expected a ConfigMap with data", subject=doc.where(("data",)))
    return custom.from_configmap(data, str(path))


def _label(o: dict[str, Any]) -> str:
    group, kind = health.group_kind(o)
    name = str((o.get("metadata") or {}).get("name") or "")
    return f"{group}/{kind}/{name}" if group else f"{kind}/{name}"


@click.command("health")
@click.option(
    "-f",
    "--file",
    "file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="YAML file with the live object(s).",
)
@click.option(
    "--lua",
    "script",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A Lua health script to run instead of the customizations.",
)
@click.option("--open-libs", is_flag=True, help="Give --lua the standard libraries (useOpenLibs).")
@click.option(
    "--argocd-cm",
    "argocd_cm",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Use this argocd-cm ConfigMap file instead of the stored one.",
)
@out.data_output_option
@click.pass_context
def health_cmd(
    ctx: click.Context,
    file: Path,
    script: Path | None,
    open_libs: bool,
    argocd_cm: Path | None,
    output: str,
) -> None:
    """Print the health status and message of a live object (test a Lua health script)."""
    objects = _objects(file)
    cfg: health.Customizations | None
    if script is not None:
        cfg = custom.single(_read(script), str(script), open_libs=open_libs)
    elif argocd_cm is not None:
        cfg = _configmap(argocd_cm)
    else:
        cfg = health_settings.load(store_from(ctx))
    results = []
    for o in objects:
        found = health.of(o, cfg)
        results.append(
            {
                "object": _label(o),
                "status": found[0] if found else None,
                "message": found[1] if found else "no health check for this kind",
            }
        )
    if out.emit(results if len(results) > 1 else results[0], output):
        return
    for r in results:
        if len(results) > 1:
            click.echo(f"{r['object']}:")
        click.echo(f"STATUS: {r['status'] or ''}")
        click.echo(f"MESSAGE: {r['message']}")
