"""Reusable workflows: a job with ``uses:`` runs a ``workflow_call`` workflow.

Inputs are typed and defaulted as declared, secrets are passed explicitly or
with ``secrets: inherit``, and the called workflow's ``outputs`` (evaluated
over its ``jobs`` context) become the caller job's outputs. Local workflows
(``./.github/workflows/x.yml``) come from the run's source checkout; remote
ones from the action cache directory, fetched from the git source on a miss
(``shipway.ci.remote``). Nesting is limited to ``MAX_LEVELS``, a run to
``MAX_UNIQUE`` distinct called workflows, and cycles fail.

A called workflow's own workflow-level ``concurrency:`` is evaluated with the
caller's ``github`` context (so ``github.workflow`` is the caller's name, as
on GitHub), the called ``inputs`` and ``vars``, and its group is held by the
calling job around all the called jobs (pending / ``cancel-in-progress`` as
for any group, across processes through the store). A group the run already
holds around that call (the caller's workflow group, the calling job's group,
an enclosing called workflow's group) would wait for itself: GitHub detects
that deadlock and cancels the called workflow, and so does shipway.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipway.ci import remote
from shipway.ci.expr.evaluate import Scope
from shipway.ci.expr.lexer import ExprError
from shipway.ci.expr.template import render_deep, render_str
from shipway.ci.expr.values import from_json_value, integral, to_num, to_str, truthy
from shipway.ci.plan.model import Job, Workflow
from shipway.ci.plan.refs import RefError, RemoteUses, parse_uses
from shipway.ci.remote import RemoteError
from shipway.ci.runinfo import RunInfo, github_context
from shipway.ci.runstate import RunState
from shipway.ci.syntax.github import parse_workflow
from shipway.model.errors import InputError
from shipway.runtime.host import Cancel
from shipway.runtime.textfiles import read_text

if TYPE_CHECKING:
    from shipway.ci.engine import Engine


class CallError(Exception):
    pass


Origin = tuple[Path, RemoteUses]  # a remote called workflow's repository checkout and ref
_origins: weakref.WeakKeyDictionary[Engine, Origin] = weakref.WeakKeyDictionary()


def locate(
    engine: Engine, uses: str, log: Callable[[str], None] | None = None
) -> tuple[Path, str, Origin | None]:
    """The file a ``uses:`` names, how to show it, and the remote repository it is in.

    ``./`` inside a remote called workflow means that workflow's repository at
    the same commit, as GitHub has it.
    """
    info = engine.info
    origin = _origins.get(engine)
    if uses.startswith("./") and origin is not None:
        path = origin[0] / uses[2:]
        at = origin[1]
        if not path.is_file():
            raise CallError(f"called workflow {uses[2:]} not found in {at.repo}@{at.ref}")
        return path, f"{at.repo}/{uses[2:]}@{at.ref}", origin
    if uses.startswith("./"):
        root = info.source_root
        if root is None:
            raise CallError(f"cannot read {uses}: the run has no source checkout")
        local = root / uses[2:]
        if not local.is_file():
            raise CallError(f"called workflow {uses} not found in the repository")
        return local, uses[2:], None
    try:
        ref = parse_uses(uses)
    except RefError:
        raise CallError(
            f"invalid reusable workflow reference {uses!r} (owner/repo/path@ref)"
        ) from None
    if not ref.path.startswith(".github/workflows/"):
        raise CallError(
            f"invalid reusable workflow reference {uses!r}: the file must be in .github/workflows/"
        )
    token = str(engine.rs.secrets_ctx.get("GITHUB_TOKEN") or "")
    try:
        root = remote.ensure(info, ref, token, log=log)
    except RemoteError as exc:
        where = info.action_cache or "$SHIPWAY_HOME/actions"
        raise CallError(
            f"reusable workflow {uses!r} is not available: {exc}; vendor it with `git clone "
            f"https://github.com/{ref.repo} {where}/{ref.cache_entry}` (checked out at that ref)"
        ) from None
    path = root / ref.path
    if not path.is_file():
        raise CallError(f"called workflow {ref.path} not found in {ref.repo}@{ref.ref}")
    return path, uses, (root, ref)


MAX_LEVELS = 10  # the caller and nine levels of called workflows (github.com; GHES: 4)
MAX_UNIQUE = 50  # distinct reusable workflows one top-level run may call (github.com; GHES: 20)
_chains: weakref.WeakKeyDictionary[Engine, tuple[str, ...]] = weakref.WeakKeyDictionary()
_called: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()
_called_lock = threading.Lock()


def call_chain(engine: Engine, shown: str) -> tuple[str, ...]:
    """The workflows from the top caller to ``shown``.

    ``CallError`` on a cycle, when nested too deeply, or when ``shown`` would be
    one distinct called workflow more than a run may call.
    """
    chain = (*_chains.get(engine, (engine.wf.file,)), shown)
    if shown in chain[:-1]:
        raise CallError(f"reusable workflows call each other in a cycle: {' -> '.join(chain)}")
    if len(chain) > MAX_LEVELS:
        raise CallError(
            f"reusable workflows are nested too deeply ({' -> '.join(chain)}): at most "
            f"{MAX_LEVELS} levels, the caller and {MAX_LEVELS - 1} levels of called workflows"
        )
    with _called_lock:
        seen = _called.setdefault(engine, set())
        if shown not in seen and len(seen) >= MAX_UNIQUE:
            raise CallError(
                f"too many reusable workflows: {' -> '.join(chain)} would be distinct called "
                f"workflow number {len(seen) + 1} of this run; a run may call at most "
                f"{MAX_UNIQUE} (github.com; 20 on GitHub Enterprise Server), nested calls included"
            )
        seen.add(shown)
    return chain


def typed_inputs(spec: dict[str, Any], given: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """Inputs as declared by ``workflow_call`` or ``workflow_dispatch``: typed and checked."""
    declared = spec.get("inputs") or {}
    out: dict[str, Any] = {}
    for name in given:
        if name not in declared:
            raise CallError(f"input {name!r} is not declared by the called workflow")
    for name, decl in declared.items():
        decl = decl or {}
        kind = str(decl.get("type", "string"))
        if name in given:
            value = from_json_value(given[name])
        elif "default" in decl:
            value = from_json_value(render_deep(decl["default"], scope))
        elif decl.get("required"):
            raise CallError(f"required input {name!r} was not given")
        else:
            value = {"boolean": False, "number": 0.0}.get(kind, "")
        if kind == "boolean":
            value = value if isinstance(value, bool) else to_str(value).lower() == "true"
        elif kind == "number":
            value = to_num(value)
        elif kind == "choice" and to_str(value) not in [to_str(o) for o in decl.get("options", [])]:
            raise CallError(f"input {name!r}: {to_str(value)!r} is not one of its options")
        else:
            value = to_str(value)
        out[name] = value
    return out


def _secrets(engine: Engine, job: Job, spec: dict[str, Any], scope: Scope) -> dict[str, str]:
    if job.secrets == "inherit":
        passed = dict(engine.rs.info.secrets)
    else:
        passed = {str(k): to_str(v) for k, v in render_deep(job.secrets or {}, scope).items()}
    for name, decl in (spec.get("secrets") or {}).items():
        if (decl or {}).get("required") and name not in passed:
            raise CallError(f"required secret {name!r} was not passed")
    return passed


Called = tuple[str, "Origin | None", tuple[str, ...], Workflow, dict[str, Any], dict[str, str],
               "tuple[str, bool] | None"]  # fmt: skip


def dispatch_inputs(workflow: Workflow, info: RunInfo) -> tuple[dict[str, Any], str]:
    """A ``workflow_dispatch`` run's typed inputs (and the payload's, as strings), or an error."""
    spec = workflow.on.get("workflow_dispatch") or {}
    given = info.payload.get("inputs") or {}
    scope = Scope({"github": github_context(info, workflow.name, "", info.base_dir),
                   "vars": info.vars, "inputs": {}})  # fmt: skip
    try:
        typed = typed_inputs(spec if isinstance(spec, dict) else {}, dict(given), scope)
    except (CallError, ExprError) as exc:
        return {}, exc.message if isinstance(exc, ExprError) else str(exc)
    # GitHub's event payload carries every input, defaults included, as strings
    info.payload["inputs"] = {k: to_str(from_json_value(v)) for k, v in typed.items()}
    return typed, ""


def _prepare(engine: Engine, job: Job, scope: Scope, name: str) -> Called:
    """Find, parse and check the called workflow; its inputs, secrets and concurrency group."""
    path, shown, origin = locate(
        engine, job.uses or "", lambda line: engine.rs.emit(engine.prefix + name, "", line)
    )
    chain = call_chain(engine, shown)
    called: Workflow = parse_workflow(read_text(path, shown), shown)
    spec = called.call_spec
    if spec is None:
        raise CallError(f"{shown} has no 'on: workflow_call' trigger")
    inputs = typed_inputs(spec, render_deep(job.with_, scope), scope)
    secrets = _secrets(engine, job, spec, scope)
    group_scope = Scope({"github": scope.contexts["github"], "inputs": inputs,
                         "vars": engine.info.vars})  # fmt: skip
    group = engine._group(called.concurrency, group_scope)
    return shown, origin, chain, called, inputs, secrets, group


def run_called(
    engine: Engine,
    job: Job,
    scope: Scope,
    held: tuple[str, ...] = (),
    cancel: Cancel | None = None,
    *,
    display: str | None = None,
    key: str | None = None,
    index: int = 0,
) -> str:
    """Run the workflow ``job.uses`` names as this job; return the job's result.

    ``held``: the calling job's own concurrency group, if it holds one;
    ``display`` and ``key``: the name and directory of one matrix combination.
    """
    name = display or job.name or job.id
    shown_as = engine.prefix + name
    try:
        shown, origin, chain, called, inputs, secrets, group = _prepare(engine, job, scope, name)
    except (CallError, ExprError, InputError) as exc:
        msg = exc.message if isinstance(exc, ExprError | InputError) else str(exc)
        engine.rs.emit(shown_as, "", f"::error::{job.where}: {msg}")
        engine._record(job, name, {}, "failure", {}, [])
        return "failure"
    cancel = cancel or engine.rs.cancel
    holding = (*engine.held_groups, *held)
    args = (engine, job, scope, called, inputs, secrets, chain, origin, name, key or job.id, index)
    if group is None:
        return _run_inner(*args, holding, cancel)
    if group[0].lower() in {g.lower() for g in holding}:
        caller = chain[-2] if len(chain) > 1 else engine.wf.file
        engine.rs.emit(shown_as, "", f"Canceling since a deadlock for concurrency group "
                       f"'{group[0]}' was detected between '{caller}' and '{shown}'")  # fmt: skip
        engine._record(job, name, {}, "cancelled", {}, [])
        return "cancelled"
    mine = cancel.child()
    with engine._hold(group, mine, f"{job.id} ({shown})", shown_as) as acquired:
        if not acquired:
            engine.rs.emit(shown_as, "", f"cancelled: a newer run holds group {group[0]!r}")
            engine._record(job, name, {}, "cancelled", {}, [])
            return "cancelled"
        return _run_inner(*args, (*holding, group[0]), mine)


def _run_inner(
    engine: Engine,
    job: Job,
    scope: Scope,
    called: Workflow,
    inputs: dict[str, Any],
    secrets: dict[str, str],
    chain: tuple[str, ...],
    origin: Origin | None,
    name: str,
    key: str,
    index: int,
    holding: tuple[str, ...],
    cancel: Cancel,
) -> str:
    """Run the called workflow's jobs with their own run state; fold the results into ``job``
    (a matrix combination's outputs replace earlier ones, as GitHub's last one wins)."""
    from shipway.ci.engine import Engine

    spec = called.call_spec or {}
    info = dataclasses.replace(
        engine.info,
        secrets=secrets,
        base_dir=engine.info.base_dir / "called" / key,
        artifact_dir=engine.info.artifacts,
        cache_dir=engine.info.caches,
    )
    rs = RunState(info, called, inputs, masker=engine.rs.masker, lines=engine.rs.lines,
                  cancel=cancel, annotations=engine.rs.annotations)  # fmt: skip
    rs.secrets_ctx = {"GITHUB_TOKEN": engine.rs.secrets_ctx["GITHUB_TOKEN"], **secrets}
    inner = Engine(called, info, state=rs, prefix=f"{engine.prefix}{name} / ")
    inner.store, inner.token_cap = engine.store, engine.permissions_for(job)  # can only lower
    inner.held_groups = holding
    inner.forward_wait = lambda rec, on: engine._waiting(job, rec, on)
    _chains[inner] = chain
    with _called_lock:
        _called[inner] = _called.setdefault(engine, set())  # one count for the whole run
    if origin is not None:
        _origins[inner] = origin
    inner.run_jobs()
    result = inner._conclusion()
    jobs_ctx = {jid: {"result": r, "outputs": inner.outputs.get(jid, {})}
                for jid, r in inner.results.items()}  # fmt: skip
    out_scope = Scope({**scope.contexts, "jobs": jobs_ctx, "inputs": inputs})
    outputs: dict[str, str] = {}
    for oname, decl in (spec.get("outputs") or {}).items():
        try:
            outputs[oname] = render_str(str((decl or {}).get("value", "")), out_scope)
        except ExprError as exc:
            engine.rs.emit(engine.prefix + name, "", f"::warning::output {oname!r}: {exc.message}")
    if result == "failure" and truthy(render_deep(job.continue_on_error, scope)):
        result = "success"
    caller = {"id": job.id, "name": engine.prefix + name, "uses": job.uses,
              "matrix": integral(scope.contexts.get("matrix") or {}), "result": result,
              "outputs": outputs, "steps": [], "index": index}  # fmt: skip
    with engine.lock:
        engine.outputs.setdefault(job.id, {}).update(outputs)
        # the calling job, then its called jobs: ids that cannot collide with the caller's
        # own jobs (``call/inner``), each naming its caller
        mine = [caller]
        for jid in inner.selected():
            for rec in inner.job_records.get(jid, []):
                mine.append({**rec, "id": f"{job.id}/{rec['id']}",
                             "caller": f"{job.id}/{rec['caller']}" if rec.get("caller")
                             else job.id, "index": index})  # fmt: skip
        records = engine.job_records.setdefault(job.id, [])
        records.extend(mine)
        records.sort(key=lambda r: int(r["index"]))
    return result
