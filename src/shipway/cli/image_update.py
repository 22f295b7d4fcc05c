"""``shipway image update``: one polling pass (``--once``) or a polling loop.

With ``-f DIR`` the watching resources (Argo CD Applications with Image
Updater annotations, Flux ImageRepository/ImagePolicy/ImageUpdateAutomation,
and Flux ``GitRepository`` documents for the automation's source) are read
from files and nothing is stored; without it they come from the store and
each resource's status records the outcome. Attaches itself to the
``shipway image`` group when that group exists (``register()``).
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shipway.cli import output as out
from shipway.cli.context import state_from
from shipway.cli.files import yaml_files
from shipway.model import kinds, yamlsrc
from shipway.model import resources as model
from shipway.model.resources import Resource
from shipway.runtime.textfiles import read_text

if TYPE_CHECKING:
    from shipway.updater.engine import UpdateResult


def load(
    paths: tuple[str, ...], recursive: bool
) -> tuple[list[Resource], dict[str, tuple[str, str]]]:
    """Resources of the kinds shipway knows, plus Flux GitRepository name -> (url, branch)."""
    resources: list[Resource] = []
    git_repos: dict[str, tuple[str, str]] = {}
    for f in yaml_files(paths, recursive):
        for doc in yamlsrc.load_documents(read_text(f), str(f)):
            data = doc.data if isinstance(doc.data, dict) else {}
            kind = data.get("kind")
            if kind == "GitRepository":
                spec = data.get("spec") or {}
                name = str((data.get("metadata") or {}).get("name") or "")
                git_repos[name] = (
                    str(spec.get("url") or ""),
                    str((spec.get("ref") or {}).get("branch") or ""),
                )
            elif kind in kinds.SCHEMAS:
                resources.append(model.from_located(doc))
    model.check_unique(resources)
    return resources, git_repos


def _show(results: list[UpdateResult], fmt: str) -> None:
    if out.emit([r.to_dict() for r in results], fmt):
        return
    rows = [[f"{r.kind.lower()}/{r.app}", r.alias, r.tag, r.image, _outcome(r)] for r in results]
    out.table(["resource", "alias", "tag", "image", "result"], rows)


def _outcome(r: UpdateResult) -> str:
    if r.error:
        return f"{r.error_subject}: {r.error}" if r.error_subject else r.error
    if r.pull_request:
        return f"pull request #{r.pull_request['number']} {r.pull_request['url']}"
    if r.config_commit:
        return f"committed {r.config_commit[:12]}"
    if r.changes:  # a dry run
        return "would change " + ", ".join(f"{c['file']}:{c['line']} {c['key']}" for c in r.changes)
    return "unchanged"


@click.command("update")
@click.option("--once", is_flag=True, help="One polling pass, then exit.")
@click.option(
    "-f", "--filename", "paths", multiple=True, help="Read resources from files (store nothing)."
)
@click.option("-R", "--recursive", is_flag=True, help="Descend into directories.")
@click.option("--dry-run", is_flag=True, help="Show the edits; commit and push nothing.")
@click.option(
    "--interval", default=120.0, show_default=True, help="Seconds between passes without --once."
)
@click.option(
    "--workdir", type=click.Path(path_type=Path), help="Where config repositories are checked out."
)
@out.data_output_option
@click.pass_context
def update(
    ctx: click.Context,
    once: bool,
    paths: tuple[str, ...],
    recursive: bool,
    dry_run: bool,
    interval: float,
    workdir: Path | None,
    output: str,
) -> None:
    """Pick new image tags by policy and write them to the config repositories."""
    state = state_from(ctx)
    work = workdir or state.settings.work_dir / "updater"
    resources, git_repos = load(paths, recursive) if paths else (None, {})
    store = None if paths else state.store
    failed = False
    while True:
        out.stderr.print(f"image update: polling pass ({'files' if paths else 'store'})")
        from shipway.updater import engine  # the store and engines load only here

        results = engine.run_once(
            store, workdir=work, resources=resources, git_repos=git_repos, dry_run=dry_run
        )
        _show(results, output)
        failed = any(r.error for r in results)
        if once:
            break
        time.sleep(interval)
    if failed:
        raise SystemExit(1)


def register() -> list[click.Command]:
    """Attach ``update`` to ``shipway image``; return a stand-in group when that does not exist."""
    try:  # the images area owns the group
        image_cli = importlib.import_module("shipway.cli.image")
    except ImportError:
        group = click.Group("image", help="Container images.")
        group.add_command(update)
        return [group]
    image_cli.image.add_command(update)
    return []
