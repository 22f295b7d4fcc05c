"""The controller's Tekton runs: `.tekton/` PipelineRuns (Pipelines-as-Code) and Triggers.

For a push or pull request the controller calls ``run_checkout``: every
``.tekton/*.yaml`` file is read (together, so ``taskRef`` and
``pipelineRef`` resolve across them) after Pipelines-as-Code's
``{{ revision }}``, ``{{ repo_url }}``, ``{{ source_branch }}``,
``{{ target_branch }}``, ``{{ event_type }}``, ``{{ repo_owner }}``,
``{{ repo_name }}`` and ``{{ pull_request_number }}`` are filled in; a
PipelineRun runs when its ``pipelinesascode.tekton.dev/on-event`` names the
event and its ``on-target-branch`` the branch (``[main, release-*]``, globs
as Pipelines-as-Code matches them). A file that does not check is one failed
record naming every problem.

The EventListeners stored (``shipway apply``) in the Pipeline's namespace see
the same event as Tekton Triggers' sink would (``listener_runs``): the body is
the forge's payload in GitHub's shape (``ref``, ``before``, ``after``,
``head_commit.id``, ``repository``; ``pull_request`` for pull requests), the
headers ``X-GitHub-Event`` (``push``/``pull_request``) and ``X-Gitlab-Event``
(``Push Hook``/``Merge Request Hook``); the PipelineRuns and TaskRuns their
TriggerTemplates make run beside the ``.tekton/`` ones, resolving their
``pipelineRef``/``taskRef`` against the checkout's ``.tekton/`` files.
``listener_hook_runs`` is the same for one EventListener's own hook
(``/hooks/tekton/<namespace>/<name>``): the body and headers as received, no
checkout (runs embed their specs). Reads the checkout and the store; runs
through ``service``.
"""

from __future__ import annotations

import fnmatch
import json
import re
import secrets
from pathlib import Path
from typing import Any

from shipway.ci.tekton import trigger_eval
from shipway.ci.tekton.interceptors import Secret
from shipway.ci.tekton.load import Doc
from shipway.ci.tekton_run.service import RunOptions, run_files
from shipway.ci.tekton_run.trigger_ports import store_ports
from shipway.model.errors import InputError
from shipway.runtime.host import Cancel
from shipway.store import resources as stored
from shipway.store.db import Store
from shipway.store.runs import save_run

ON_EVENT = "pipelinesascode.tekton.dev/on-event"
ON_BRANCH = "pipelinesascode.tekton.dev/on-target-branch"
_VAR = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


def _list(text: str) -> list[str]:
    """``[push, pull_request]`` or ``push`` as a list."""
    return [p.strip().strip("'\"") for p in text.strip().strip("[]").split(",") if p.strip()]


def tekton_files(source: Path) -> list[Path]:
    top = source / ".tekton"
    return sorted(p for p in top.glob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def wanted(annotations: dict[str, Any], event: str, branch: str) -> bool:
    events = _list(str(annotations.get(ON_EVENT, "")))
    branches = _list(str(annotations.get(ON_BRANCH, "")))
    pac_event = "pull_request" if event.startswith("pull_request") else event
    return pac_event in events and any(fnmatch.fnmatchcase(branch, b) or
                                       b == f"refs/heads/{branch}" for b in branches)  # fmt: skip


EVENT_ID = "triggers.tekton.dev/eventid"
_GITLAB_EVENT = {"push": "Push Hook", "pull_request": "Merge Request Hook"}


def event_of(event: str, payload: dict[str, Any]) -> trigger_eval.Event:
    """What an EventListener receives for the controller's ``event``."""
    body = dict(payload)
    if event == "push" and body.get("after"):
        body.setdefault("head_commit", {"id": body["after"]})
    kind = "pull_request" if event.startswith("pull_request") else event
    headers = {"Content-Type": "application/json", "X-GitHub-Event": kind,
               "X-Gitlab-Event": _GITLAB_EVENT.get(kind, kind)}  # fmt: skip
    return trigger_eval.Event(body, headers)


def listener_runs(store: Store, namespace: str, event: str, payload: dict[str, Any],
                  ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:  # fmt: skip
    """(runs as (JSON text, file name), failed triggers as (name, error)) of the
    EventListeners in ``namespace`` for this event."""
    listeners = stored.list_kind(store, "EventListener", namespace)
    if not listeners:
        return [], []
    got = event_of(event, payload)
    ports = store_ports(store)
    texts, failed = [], []
    for el in listeners:
        for fired in trigger_eval.fire(el.name, el.namespace, el.spec, got, ports):
            where = f"EventListener/{el.namespace}/{el.name}:{fired.trigger}"
            if fired.error:
                failed.append((where, fired.error))
            for run in fired.runs:
                # JSON (YAML too): every string stays a string (an event id of 12e45 would not)
                texts.append((json.dumps(run, indent=2), where))
    return texts, failed


def listener_hook_runs(store: Store, namespace: str, listener: str, body: dict[str, Any],
                       headers: dict[str, str], opts: RunOptions,
                       raw: str | None = None,
                       secret: Secret | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The runs of the EventListener ``namespace/listener``'s triggers for an event it was
    sent; a trigger that fails, or runs that do not check, are failed records."""
    el = stored.find(store, "EventListener", listener, namespace)
    if el is None:
        return []
    got = trigger_eval.Event(body, headers, f"/hooks/tekton/{namespace}/{listener}", raw)
    ports = store_ports(store, secret)
    records: list[dict[str, Any]] = []
    for fired in trigger_eval.fire(el.name, namespace, el.spec, got, ports):
        where = f"EventListener/{namespace}/{listener}:{fired.trigger}"
        if fired.error:
            records.append(_invalid(store, where, "tekton", "", InputError(
                fired.error, subject=where), opts.pipeline))  # fmt: skip
            continue
        texts = [(json.dumps(run, indent=2), where) for run in fired.runs]
        if not texts:
            continue
        try:
            records += run_files(store, texts, opts, Cancel(), lambda _doc: True)
        except InputError as exc:
            records.append(_invalid(store, where, "tekton", "", exc, opts.pipeline))
    return records


def run_checkout(store: Store, source: Path, *, event: str, branch: str, commit: str,
                 repo_url: str, values: dict[str, str], opts: RunOptions,
                 pipeline: str = "", namespace: str | None = None,
                 payload: dict[str, Any] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Run the ``.tekton/`` PipelineRuns of ``source`` that this event selects, and the runs
    the EventListeners of ``namespace`` make for it (none when ``namespace`` is None)."""
    files = tekton_files(source)
    triggered: list[tuple[str, str]] = []
    failed: list[tuple[str, str]] = []
    if namespace is not None and store is not None:
        triggered, failed = listener_runs(store, namespace, event, payload or {})
    records = [_invalid(store, where, event, commit, InputError(error, subject=where), pipeline)
               for where, error in failed]  # fmt: skip
    if not files and not triggered:
        return records
    tail = [t for t in repo_url.rstrip("/").removesuffix(".git").split("/") if t]
    pac = {**values,  # custom params; the standard ones win, as in Pipelines-as-Code
           "revision": commit, "repo_url": repo_url, "event_type": event,
           "source_branch": branch, "target_branch": branch,
           "repo_owner": tail[-2] if len(tail) > 1 else "",
           "repo_name": tail[-1] if tail else ""}  # fmt: skip

    def fill(text: str) -> str:
        return _VAR.sub(lambda m: pac.get(m.group(1), m.group(0)), text)

    texts = [(fill(p.read_text()), str(p.relative_to(source))) for p in files] + triggered

    def select(doc: Doc) -> bool:
        meta = doc.body.get("metadata") or {}
        if EVENT_ID in (meta.get("labels") or {}):
            return True
        return doc.kind == "PipelineRun" and wanted(meta.get("annotations") or {}, event, branch)

    try:
        return records + run_files(store, texts, opts, Cancel(), select)
    except InputError as exc:
        return [*records, _invalid(store, texts[0][1], event, commit, exc, pipeline)]


def _invalid(store: Store, file: str, event: str, commit: str, exc: InputError,
             pipeline: str) -> dict[str, Any]:  # fmt: skip
    record = {"id": secrets.token_hex(8), "workflow": file, "file": file, "event": event,
              "commit": commit, "conclusion": "failure", "error": str(exc), "jobs": [],
              "pipeline": pipeline}  # fmt: skip
    if store is not None:
        save_run(store, record, f"error: {exc}", commit)
    return record
