"""A Tekton run from files to a stored CI run record.

``run_files`` reads the files (``tekton.load``), picks the TaskRuns and
PipelineRuns in them (a lone Task or Pipeline runs as if a run named it),
binds workspaces (``--workspace name=DIR``, else the run's ``emptyDir`` /
``volumeClaimTemplate`` as a fresh directory, ``persistentVolumeClaim`` as a
directory kept per claim under ``$SHIPWAY_HOME/work/tekton/pvc``), applies
``--param`` overrides, runs it on the host, podman or Kubernetes (a TaskRun as
one Pod, ``tekton_run.steps``) and returns the record:
the common fields (``conclusion``, ``jobs`` with ``steps``) plus ``status``
shaped as the run's Tekton status. With a store, the run's state and its
record so far are stored before and after every TaskRun (phase ``running``:
the files' text, the options, the pipeline's scheduler state); ``resume``
finishes such a run after its process died (its step processes, and on podman
its step containers, ``shipway-ci-<run>-…``, are removed first). Reads and writes the store (the
record, the state), the run's directories, and podman.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.ci.exec.base import ExecutorConfig, clear_leftovers
from shipway.ci.tekton import companions, subst
from shipway.ci.tekton.load import Bundle, Doc, load
from shipway.ci.tekton.params import given_map, param_vars, resolve
from shipway.ci.tekton.schema import parse_duration
from shipway.ci.tekton_run.pipelinerun import PipelineRequest, run_pipeline
from shipway.ci.tekton_run.steps import Executor, StepExecutor
from shipway.ci.tekton_run.taskrun import TaskRequest, run_task
from shipway.model.errors import InputError
from shipway.model.events import rfc3339
from shipway.runtime import docker_api, podman_env
from shipway.runtime.host import Cancel, stop_leftovers
from shipway.store.db import Store
from shipway.store.runs import put_state, save_run


@dataclass
class RunOptions:
    params: dict[str, str] = field(default_factory=dict)
    workspaces: dict[str, Path] = field(default_factory=dict)
    executor: str = "host"
    base_dir: Path = Path(".")  # $SHIPWAY_HOME/work/ci
    pvc_dir: Path = Path(".")
    podman_home: Path = Path(".")
    podman_env: dict[str, str] | None = None  # default: podman under podman_home
    commit: str = ""
    ref: str = ""
    event: str = "manual"
    keep: bool = False
    on_line: Callable[[str], None] = print
    pipeline: str = ""  # the shipway Pipeline a controller run is for
    env: dict[str, str] = field(default_factory=dict)  # under host steps' own (PATH, DOCKER_HOST)
    kube: dict[str, Any] = field(default_factory=dict)  # the kubernetes executor's settings


def run_files(store: Store | None, files: list[tuple[str, str]], opts: RunOptions,
              cancel: Cancel,
              select: Callable[[Doc], bool] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Run every TaskRun and PipelineRun of ``files`` (those ``select`` picks, when given);
    ``InputError`` before anything runs."""
    bundle = load(files)
    if select is not None:
        runs = [d for d in bundle.runs() if select(d)]
        if not runs:
            return []
    else:
        lone = [d for d in bundle.docs if d.kind in ("Task", "Pipeline")][-1:]
        runs = bundle.runs() or lone
    if not runs:
        raise InputError("no TaskRun, PipelineRun, Task or Pipeline in the files given",
                         subject=files[0][1] if files else "-f")  # fmt: skip
    prepared = [_prepare(doc, bundle, opts) for doc in runs]  # every problem before any run
    for other in bundle.companions:
        if other.kind in companions.UNUSED:
            opts.on_line(f"{other.kind} {other.name}: read, not used (no RBAC here)")
    return [_run(store, Started(files, bundle.docs.index(doc), secrets.token_hex(8)), bundle,
                 opts, cancel, *p) for doc, p in zip(runs, prepared, strict=True)]  # fmt: skip


@dataclass
class Started:
    """Which run of which files, and where a resumed one was (``prior``: its stored state)."""

    files: list[tuple[str, str]]
    index: int  # the run's document in ``load(files).docs``
    run_id: str
    prior: dict[str, Any] | None = None


def _name(doc: Doc) -> str:
    meta = doc.body.get("metadata") or {}
    if doc.kind in ("Task", "Pipeline"):
        return f"{doc.name}-run-{secrets.token_hex(3)[:5]}"
    return str(meta.get("name") or f"{meta.get('generateName', 'run-')}{secrets.token_hex(3)[:5]}")


def _target(doc: Doc, bundle: Bundle) -> tuple[str, dict[str, Any], str]:
    """What ``doc`` runs: ("Task"|"Pipeline", spec, name of the referenced resource)."""
    if doc.kind in ("Task", "Pipeline"):
        return doc.kind, doc.spec, doc.name
    key = "task" if doc.kind == "TaskRun" else "pipeline"
    kind = "Task" if key == "task" else "Pipeline"
    if isinstance(doc.spec.get(f"{key}Spec"), dict):
        return kind, doc.spec[f"{key}Spec"], ""
    ref = doc.spec.get(f"{key}Ref") or {}
    found = bundle.find(str(ref.get("kind") or kind), str(ref.get("name")))
    assert found is not None  # load() checked it
    return kind, found.spec, found.name


Prepared = tuple[str, dict[str, Any], str, dict[str, Any], dict[str, Path], str]


def _prepare(doc: Doc, bundle: Bundle, opts: RunOptions) -> Prepared:
    kind, spec, target = _target(doc, bundle)
    name = _name(doc)
    run_dir = opts.base_dir / f"tekton-{name}"
    given = {**given_map(doc.spec.get("params")), **opts.params}
    values, problems = resolve(list(spec.get("params") or []), given, f"{doc.kind} {name!r}")
    declared = {p.get("name") for p in spec.get("params") or []}
    problems += [f"{doc.kind} {name!r}: --param {k}: the {kind} has no such param"
                 for k in opts.params if k not in declared]  # fmt: skip
    # A run's params the spec does not declare are still substituted (Tekton propagates
    # them into embedded specs); a lone Task or Pipeline has no run params.
    values.update({k: v for k, v in given_map(doc.spec.get("params")).items()
                   if k not in declared and doc.kind in ("TaskRun", "PipelineRun")})  # fmt: skip
    ws: dict[str, Path] = {}
    for i, b in enumerate(doc.spec.get("workspaces") or []):
        try:  # a binding's subPath, claimName... may name the run's params
            ws[str(b["name"])] = _bind(subst.render_deep(b, param_vars(values)), run_dir, opts,
                                       companions.Store(bundle.companions))  # fmt: skip
        except ValueError as exc:
            problems.append(f"{doc.where(('spec', 'workspaces', i))}: {exc}")
    ws.update(opts.workspaces)
    spec = _propagated_workspaces(doc, spec, ws)
    for w in spec.get("workspaces") or []:
        if w["name"] not in ws and not w.get("optional"):
            problems.append(f'{doc.kind} {name!r}: {kind.lower()} requires workspace with name '
                            f'"{w["name"]}" be provided (bind it with --workspace '
                            f'{w["name"]}=DIR)')  # fmt: skip
    extra = sorted(set(opts.workspaces) - {w["name"] for w in spec.get("workspaces") or []})
    problems += [f"{doc.kind} {name!r}: --workspace {w}: the {kind} declares no such workspace"
                 for w in extra]  # fmt: skip
    if doc.spec.get("status"):  # a run created pending or cancelled does not start
        problems.append(f"{doc.where(('spec', 'status'))}: spec.status is "
                        f"{doc.spec['status']}: the {doc.kind} does not start (remove "
                        "spec.status to run it)")  # fmt: skip
    if problems:
        raise InputError("\n".join(problems), subject=doc.where(()))
    return kind, spec, target, values, ws, name


def _propagated_workspaces(doc: Doc, spec: dict[str, Any], ws: dict[str, Path]
                           ) -> dict[str, Any]:  # fmt: skip
    """An embedded ``pipelineSpec`` declares the run's workspaces it lacks (Tekton
    propagates them)."""
    if doc.kind != "PipelineRun" or not isinstance(doc.spec.get("pipelineSpec"), dict):
        return spec
    own = {str(w["name"]) for w in spec.get("workspaces") or []}
    return {**spec, "workspaces": [*(spec.get("workspaces") or []),
                                   *({"name": n} for n in ws if n not in own)]}  # fmt: skip


def _bind(binding: dict[str, Any], run_dir: Path, opts: RunOptions,
          store: companions.Store) -> Path:  # fmt: skip
    volume = _data_volume(binding)
    if volume:  # configMap, secret, projected: their files, fresh in the run's directory
        path = run_dir / "ws" / str(binding["name"])
        path.mkdir(parents=True, exist_ok=True)
        for kind, ref in volume:
            name = str(ref.get("name") or ref.get("secretName") or "")
            for rel, data in store.files(kind, name, ref.get("items"), bool(ref.get("optional"))):
                target = (path / rel).resolve()
                if not target.is_relative_to(path.resolve()):
                    raise ValueError(f"{kind} {name!r}: item path {rel!r} leaves the volume")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        return path / str(binding["subPath"]) if binding.get("subPath") else path
    if "persistentVolumeClaim" in binding:
        claim = str((binding["persistentVolumeClaim"] or {}).get("claimName") or "")
        if not claim or "/" in claim or claim.startswith("."):
            raise ValueError("persistentVolumeClaim needs a claimName")
        path = opts.pvc_dir / claim
    elif "emptyDir" in binding or "volumeClaimTemplate" in binding:
        path = run_dir / "ws" / str(binding["name"])
    else:
        kinds = sorted(set(binding) - {"name", "subPath"})
        raise ValueError(f"workspace {binding['name']!r}: {', '.join(kinds) or 'no volume'} is "
                         "not served here (use emptyDir, volumeClaimTemplate, "
                         "persistentVolumeClaim or --workspace NAME=DIR)")  # fmt: skip
    return path / str(binding["subPath"]) if binding.get("subPath") else path


def _data_volume(binding: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A binding's ConfigMaps and Secrets as (kind, reference), in mount order."""
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(binding.get("configMap"), dict):
        out.append(("ConfigMap", binding["configMap"]))
    if isinstance(binding.get("secret"), dict):
        out.append(("Secret", binding["secret"]))
    projected = binding.get("projected")
    for src in (projected.get("sources") or []) if isinstance(projected, dict) else []:
        for key, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
            if isinstance(src, dict) and isinstance(src.get(key), dict):
                out.append((kind, src[key]))
    return out


def _aliases(opts: RunOptions) -> dict[str, str]:
    named = opts.env.get("SHIPWAY_REGISTRY_ALIASES") or os.environ.get(
        "SHIPWAY_REGISTRY_ALIASES", "")  # the controller's Pipeline passes its own  # fmt: skip
    return docker_api.parse_aliases(named)


def _podman_env(opts: RunOptions) -> dict[str, str]:
    return opts.podman_env or podman_env.podman_env(
        opts.podman_home, [*podman_env.insecure_registries(), *_aliases(opts).values()]
    )


def _executor(opts: RunOptions, run_id: str) -> Callable[[str], Executor]:
    aliases = _aliases(opts)
    config = ExecutorConfig(podman_env=_podman_env(opts), kube=dict(opts.kube))
    return lambda name: StepExecutor(opts.executor, run_id, name, config, aliases, opts.env)


def _run(store: Store | None, start: Started, bundle: Bundle, opts: RunOptions,
         cancel: Cancel, kind: str, spec: dict[str, Any], target: str,
         values: dict[str, Any], ws: dict[str, Path], name: str) -> dict[str, Any]:  # fmt: skip
    """Run one TaskRun or PipelineRun; with a store its state is stored before and after
    every TaskRun (phase ``running``) so ``resume`` finishes it after a restart."""
    doc, run_id, prior = bundle.docs[start.index], start.run_id, start.prior or {}
    run_dir = opts.base_dir / f"tekton-{name}"
    lines: list[str] = list(prior.get("lines") or [])
    resume_data = {"syntax": "tekton", "commit": opts.commit,  # what built an image: signing
                   "files": [list(f) for f in start.files],
                   "index": start.index, "name": name, "kind": kind, "target": target,
                   "values": values, "workspaces": {k: str(v) for k, v in ws.items()},
                   "opts": _opts_data(opts)}  # fmt: skip

    def log(line: str) -> None:
        lines.append(line)
        opts.on_line(line)

    def record(conclusion: str, jobs: list[dict[str, Any]], status: dict[str, Any],
               results: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        return {"id": run_id, "apiVersion": "tekton.dev/v1", "kind": doc.kind if doc.kind in (
                "TaskRun", "PipelineRun") else f"{doc.kind}Run", "name": name,
                "workflow": name, "file": doc.located.file, "event": opts.event,
                "ref": opts.ref, "commit": opts.commit, "conclusion": conclusion,
                "started": started, "seconds": round(time.monotonic() - t0, 3), "jobs": jobs,
                "annotations": [], "results": results, "status": status,
                **({"pipeline": opts.pipeline} if opts.pipeline else {})}  # fmt: skip

    def stored(state: dict[str, Any]) -> None:
        """The state, and the record so far (no conclusion yet: the run is under way)."""
        if store is None:
            return
        put_state(store, "ci", run_id, "running", {"resume": resume_data, "lines": list(lines),
                                                   "started": started,
                                                   "elapsed": time.monotonic() - t0,
                                                   "pipelinerun": state})  # fmt: skip
        so_far = [j for js in (state.get("jobs") or {}).values() for j in js]
        running = {"conditions": [{"type": "Succeeded", "status": "Unknown",
                                   "reason": "Running", "message": "the run is under way"}],
                   "startTime": started,
                   "childReferences": list(state.get("children") or [])}  # fmt: skip
        save_run(store, record("", so_far, running, {}), "\n".join(lines), opts.commit)

    t0 = time.monotonic() - float(prior.get("elapsed") or 0.0)
    started = str(prior.get("started") or rfc3339(dt.datetime.now(dt.UTC)) or "")
    make = _executor(opts, run_id)
    timeouts = _timeouts(doc)
    if not prior:
        log(f"{doc.kind} {name}: {kind} {target or '(embedded)'} on {opts.executor}")
    stored(dict(prior.get("pipelinerun") or {}))
    if kind == "Task":
        outcome = run_task(TaskRequest(name, spec, values, ws, {
            "taskRun.name": name, "taskRun.namespace": "default", "taskRun.uid": run_id,
            "task.name": target or name, "task.retry-count": "0"},
            timeouts.get("pipeline"), run_dir, {d.name: d.spec for d in bundle.docs
                                                if d.kind == "StepAction"},
            companions.Store(bundle.companions)),
            make(name), log, cancel)  # fmt: skip
        status, ok, results = outcome.status, outcome.ok, outcome.results
        jobs = [{"id": target or name, "name": name, "matrix": {},
                 "result": "success" if ok else "failure", "outputs": results,
                 "steps": outcome.steps, "seconds": outcome.seconds, "status": status}]  # fmt: skip
    else:
        context = {"pipelineRun.name": name, "pipelineRun.namespace": "default",
                   "pipelineRun.uid": run_id, "pipeline.name": target or name}  # fmt: skip
        specs = [s for s in doc.spec.get("taskRunSpecs") or [] if s.get("timeout")]
        per_task = {str(s["pipelineTaskName"]): parse_duration(str(s["timeout"])) for s in specs}
        request = PipelineRequest(name, target, spec, values, ws, timeouts, run_dir, bundle,
                                  context, per_task, on_state=stored,
                                  prior=prior.get("pipelinerun") or None)  # fmt: skip
        pout = run_pipeline(request, make, log, cancel)
        status, ok, results, jobs = pout.status, pout.ok, pout.results, pout.jobs
    cond = status["conditions"][0]
    log(f"{doc.kind} {name}: {cond['reason']}: {cond['message']}")
    final = record("success" if ok else "failure", jobs, status, results)
    if store is not None:
        save_run(store, final, "\n".join(lines), opts.commit)
        put_state(store, "ci", run_id, "done", {"resume": resume_data})
    if not opts.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    return final


def _timeouts(doc: Doc) -> dict[str, float | None]:
    """Seconds per ``timeouts`` key (``0`` means none); TaskRuns' ``timeout`` is ``pipeline``."""
    spec = doc.spec
    given = dict(spec.get("timeouts") or {})
    if spec.get("timeout"):  # TaskRun, v1beta1 PipelineRun
        given["pipeline"] = spec["timeout"]
    out: dict[str, float | None] = {"pipeline": 3600.0, "tasks": None, "finally": None}
    for k, v in given.items():
        seconds = parse_duration(str(v))
        out[k] = seconds or None
    return out


_OPT_PATHS = ("base_dir", "pvc_dir", "podman_home")
_OPT_DATA = ("params", "executor", "podman_env", "commit", "ref", "event", "keep", "pipeline",
             "env", "kube")  # fmt: skip


def _opts_data(opts: RunOptions) -> dict[str, Any]:
    data: dict[str, Any] = {k: getattr(opts, k) for k in _OPT_DATA}
    data.update({k: str(getattr(opts, k)) for k in _OPT_PATHS})
    data["workspaces"] = {k: str(v) for k, v in opts.workspaces.items()}
    return data


def resume(store: Store, run_id: str, state: dict[str, Any], *,
           on_line: Callable[[str], None] | None = None,
           cancel: Cancel | None = None) -> dict[str, Any]:  # fmt: skip
    """Finish a TaskRun or PipelineRun a stopped controller (or a killed ``shipway ci run``)
    left: its step processes are stopped first; TaskRuns that ended keep their results and
    status, one that was running runs again (a lone TaskRun runs again)."""
    data = dict(state.get("resume") or {})
    raw = dict(data.get("opts") or {})
    fields: dict[str, Any] = {k: raw[k] for k in _OPT_DATA if k in raw}
    fields.update({k: Path(str(raw[k])) for k in _OPT_PATHS if raw.get(k)})
    fields["workspaces"] = {k: Path(v) for k, v in (raw.get("workspaces") or {}).items()}
    opts = RunOptions(**fields, on_line=on_line or (lambda _line: None))
    files = [(str(t), str(f)) for t, f in data.get("files") or []]
    bundle = load(files)  # the texts are stored: the files may be gone
    name = str(data["name"])
    said: list[str] = []

    def say(line: str) -> None:  # into the run's log too
        said.append(line)
        opts.on_line(line)

    run_dir = opts.base_dir / f"tekton-{name}"
    stop_leftovers(run_dir, run_id, say)
    config = ExecutorConfig(podman_env=_podman_env(opts), kube=dict(opts.kube))
    clear_leftovers(opts.executor, run_id, config, say)  # podman's step containers
    if str(data["kind"]) == "Task":  # the TaskRun runs again from the start, in a fresh dir
        shutil.rmtree(run_dir, ignore_errors=True)
    prior = {**state, "lines": [*(state.get("lines") or []), *said]}
    start = Started(files, int(data["index"]), run_id, prior)
    kind, target = str(data["kind"]), str(data.get("target") or "")
    ws = {k: Path(v) for k, v in (data.get("workspaces") or {}).items()}
    doc = bundle.docs[start.index]
    spec = _propagated_workspaces(doc, _target(doc, bundle)[1], ws)
    return _run(store, start, bundle, opts, cancel or Cancel(), kind, spec, target,
                dict(data.get("values") or {}), ws, name)  # fmt: skip
