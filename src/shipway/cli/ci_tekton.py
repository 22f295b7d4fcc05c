"""``shipway ci run -f RUN.yaml``: Tekton TaskRuns and PipelineRuns, run here.

A front end over ``shipway.ci.tekton_run.service``: reads the ``-f`` files
(``-`` for stdin), ``--param k=v`` and ``--workspace name=DIR``, runs them,
prints the record (``-o json|yaml``, else one line per run) and exits 1 when
a run did not succeed, 2 on bad input (every problem, ``file:line:col``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from shipway.ci.tekton_run.service import RunOptions, run_files
from shipway.cli import output as out
from shipway.git.repo import git
from shipway.model.errors import GitError, InputError
from shipway.runtime.host import Cancel, cancel_on_signals
from shipway.runtime.textfiles import read_text


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError(f"--{what} expects NAME=VALUE, got {item!r}", subject=f"--{what}")
        found[name] = value
    return found


def _git(cwd: Path) -> tuple[str, str]:
    try:
        commit = git(["rev-parse", "HEAD"], cwd).strip()
    except GitError:
        return "", ""
    try:
        return commit, "refs/heads/" + git(["symbolic-ref", "--short", "HEAD"], cwd).strip()
    except GitError:
        return commit, ""


def run_tekton(ctx: click.Context, filenames: tuple[str, ...], params: tuple[str, ...],
               workspaces: tuple[str, ...], executor: str, keep: bool,
               output: str, kube: dict[str, Any] | None = None) -> None:  # fmt: skip
    from shipway.cli.context import state_from

    files = [(sys.stdin.read() if f == "-" else read_text(f, f), f) for f in filenames]
    ws = {k: Path(v).resolve() for k, v in _pairs(workspaces, "workspace").items()}
    state = state_from(ctx)
    commit, ref = _git(Path.cwd())
    home = state.settings.home
    opts = RunOptions(params=_pairs(params, "param"), workspaces=ws, executor=executor,
                      base_dir=state.settings.work_dir / "ci", pvc_dir=home / "work" / "tekton"
                      / "pvc", podman_home=home / "podman", commit=commit, ref=ref, keep=keep,
                      on_line=lambda line: print(line, file=sys.stderr, flush=True),
                      kube=dict(kube or {}))  # fmt: skip
    cancel = Cancel()
    with cancel_on_signals(cancel, lambda t: print(t, file=sys.stderr, flush=True)):
        records: list[dict[str, Any]] = run_files(state.store, files, opts, cancel)
    if out.emit(records[0] if len(records) == 1 else records, output, name="run") is False:
        for r in records:
            cond = r["status"]["conditions"][0]
            click.echo(f"{r['id']}  {r['kind']}/{r['name']}  {cond['reason']}  {cond['message']}")
    if cancel.signal is not None:
        raise SystemExit(128 + cancel.signal)
    if any(r["conclusion"] != "success" for r in records):
        raise SystemExit(1)
