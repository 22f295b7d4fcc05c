"""Tekton into the neutral plan: Pipelines and Tasks compiled, ``$(...)`` and ``when`` read,
and Tekton's skip rules.

Pure. ``compile_pipeline`` turns a Pipeline spec into a ``Plan`` (a node per
pipeline task, ``finally`` tasks as ``finally`` nodes; edges from ``runAfter``
and from ``$(tasks.t.results.r)`` references, which also order the tasks);
``compile_task`` turns a Task (or a TaskRun's) spec into a one-node plan;
``compile_bundle`` plans every run of loaded files.
``TektonRules`` decides as Tekton does: a task whose ``when`` is false is skipped
alone (its dependents still run, unless they read its results); a task whose
parent was skipped for another reason is skipped too; once a task fails nothing
new starts ("PipelineRun was stopping"); ``finally`` tasks run when every task
is done, unless the run timed out or was cancelled.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

from shipway.ci.neutral import scheduler as sch
from shipway.ci.neutral.model import Condition, Edge, Node, Plan, Step
from shipway.ci.tekton import subst
from shipway.ci.tekton.load import Bundle
from shipway.ci.tekton.params import given_map
from shipway.ci.tekton.schema import parse_duration

WHEN_FALSE = "When Expressions evaluated to false"
PARENT_SKIPPED = "Parent Tasks were skipped"
STOPPING = "PipelineRun was stopping"
MISSING_RESULTS = "Results were missing"
EMPTY_MATRIX = "Matrix Parameters have an empty array"
PIPELINE_TIMEOUT = "PipelineRun timeout has been reached"
TASKS_TIMEOUT = "PipelineRun Tasks timeout has been reached"
FINALLY_TIMEOUT = "PipelineRun Finally timeout has been reached"
CANCELLED = "PipelineRun was cancelled"  # Ctrl-C: nothing more starts, finally neither
_ORDERING = ("results", "matrix")
WORDS = {sch.PENDING: "Pending", sch.RUNNING: "Running", sch.SUCCESS: "Succeeded",
         sch.FAILURE: "Failed", sch.SKIPPED: "Skipped", sch.CANCELLED: "Cancelled",
         sch.MANUAL: "Skipped"}  # fmt: skip
STATUS_OF_WORD = {v: k for k, v in WORDS.items() if k != sch.MANUAL}

Where = Callable[[tuple[str | int, ...]], str]
FindTask = Callable[[str, str], dict[str, Any] | None]  # (kind, name) -> Task spec


def task_deps(task: Mapping[str, Any]) -> set[str]:
    """Tasks ``task`` runs after: ``runAfter`` and the tasks whose results it reads."""
    deps = {str(a) for a in task.get("runAfter") or []}
    where = {k: v for k, v in task.items() if k in ("params", "when", "matrix")}
    for ref in subst.refs_deep(where):
        if ref.parts[0] == "tasks" and len(ref.parts) >= 3 and ref.parts[2] in _ORDERING:
            deps.add(ref.parts[1])
    return deps


def when_holds(when: list[dict[str, Any]], values: subst.Vars) -> tuple[bool, list[dict[str, Any]]]:
    """Whether every expression holds, and the expressions with their variables substituted."""
    resolved: list[dict[str, Any]] = []
    ok = True
    for w in when:
        item = {"input": subst.render(str(w.get("input", "")), values),
                "operator": str(w.get("operator", "in")),
                "values": subst.render_list(list(w.get("values") or []), values)}  # fmt: skip
        hit = item["input"] in item["values"]
        ok = ok and (hit if item["operator"] == "in" else not hit)
        resolved.append(item)
    return ok, resolved


def matrix_combos(matrix: dict[str, Any] | None, values: subst.Vars) -> list[dict[str, Any]]:
    """Every combination of a ``matrix`` (its params crossed, then ``include``), as Tekton
    fans a pipeline task out; ``[]`` without a matrix."""
    if not matrix:
        return []
    axes = {k: subst.render_value(v, values) for k, v in given_map(matrix.get("params")).items()}
    axes = {k: v if isinstance(v, list) else [v] for k, v in axes.items()}
    # Tekton fans out param by param, each new param's values outermost: the first
    # param varies fastest (linux-chrome, mac-chrome, linux-safari, ...)
    keys = list(reversed(axes))
    combos = [{k: c[keys.index(k)] for k in axes}
              for c in itertools.product(*(axes[k] for k in keys))]  # fmt: skip
    if not axes:
        combos = []
    for inc in matrix.get("include") or []:
        extra = {k: subst.render_value(v, values) for k, v in given_map(inc.get("params")).items()}
        overlap = {k: v for k, v in extra.items() if k in axes}
        if not axes:
            combos.append(extra)
        elif not overlap:
            combos = [{**c, **extra} for c in combos]
        else:
            hits = [c for c in combos if all(c.get(k) == v for k, v in overlap.items())]
            for c in hits:
                c.update(extra)
            if not hits:
                combos.append(extra)
    return combos


class TektonEvaluator:
    """``$(params.x)``, ``$(tasks.t.results.r)``... and ``when`` lists (input/operator/values)."""

    name = "tekton"

    def render(self, text: str, values: Mapping[str, Any]) -> Any:
        return subst.render_value(text, dict(values))

    def holds(self, cond: Condition, values: Mapping[str, Any]) -> bool:
        return when_holds(list(cond.expr or []), dict(values))[0]


# -- compiling -----------------------------------------------------------------------
def _steps(spec: Mapping[str, Any] | None, where: Where, base: tuple[str | int, ...]) -> list[Step]:
    out = []
    for i, s in enumerate((spec or {}).get("steps") or []):
        if not isinstance(s, dict):
            continue
        ref = s.get("ref") if isinstance(s.get("ref"), dict) else None
        out.append(
            Step(
                name=str(s.get("name") or f"step-{i}"),
                where=where((*base, "steps", i)),
                run=s.get("script")
                or (
                    " ".join(map(str, [*(s.get("command") or []), *(s.get("args") or [])])) or None
                ),
                uses=str(ref["name"]) if ref else None,
                image=s.get("image"),
                env={
                    str(e.get("name")): e.get("value")
                    for e in s.get("env") or []
                    if isinstance(e, dict)
                },
                timeout=s.get("timeout"),
                on_error="continue" if s.get("onError") == "continue" else "stop",
            )
        )
    return out  # fmt: skip


def _sidecars(spec: Mapping[str, Any] | None) -> list[str]:
    return [str(c.get("name") or c.get("image")) for c in (spec or {}).get("sidecars") or []
            if isinstance(c, dict)]  # fmt: skip


def _task_node(pt: dict[str, Any], kind: str, path: tuple[str | int, ...], where: Where,
               find: FindTask | None) -> Node:  # fmt: skip
    name = str(pt.get("name"))
    spec: dict[str, Any] | None = (
        pt.get("taskSpec") if isinstance(pt.get("taskSpec"), dict) else None
    )
    step_where, base = where, (*path, "taskSpec")
    if spec is None and isinstance(pt.get("taskRef"), dict) and find is not None:
        ref = pt["taskRef"]
        spec = find(str(ref.get("kind") or "Task"), str(ref.get("name")))
        ref_at = where((*path, "taskRef"))  # the Task is another document: its steps are here

        def step_where(_p: tuple[str | int, ...]) -> str:
            return ref_at

    edges = [Edge(d, "runAfter") for d in pt.get("runAfter") or []]
    edges += [Edge(d, "result") for d in sorted(task_deps(pt) - {e.source for e in edges})]
    when = pt.get("when")
    matrix = pt.get("matrix")
    timeout = pt.get("timeout")
    return Node(
        id=name, name=name, where=where(path), kind=kind, edges=edges,
        condition=Condition("tekton", when, where((*path, "when"))) if when else None,
        when="always" if kind == "finally" else "on_success",
        matrix=matrix if matrix else None, retries=int(pt.get("retries") or 0),
        timeout=parse_duration(str(timeout)) if timeout else None,
        results=[str(r.get("name")) for r in (spec or {}).get("results") or []
                 if isinstance(r, dict)],
        workspaces=[str(w.get("workspace", w.get("name"))) for w in pt.get("workspaces") or []
                    if isinstance(w, dict)],
        services=_sidecars(spec), steps=_steps(spec, step_where, base), source=pt)  # fmt: skip


def compile_pipeline(spec: Mapping[str, Any], *, file: str = "", name: str = "",
                     where: Where | None = None, find: FindTask | None = None,
                     path: tuple[str | int, ...] = ("spec",)) -> Plan:  # fmt: skip
    """A Pipeline spec as a plan; ``where`` locates a path of the document, ``find``
    resolves ``taskRef``s (for their steps and results)."""
    at: Where = where or (lambda _p: file)
    nodes: dict[str, Node] = {}
    for i, t in enumerate(spec.get("tasks") or []):
        nodes[str(t["name"])] = _task_node(t, "task", (*path, "tasks", i), at, find)
    for i, t in enumerate(spec.get("finally") or []):
        nodes[str(t["name"])] = _task_node(t, "finally", (*path, "finally", i), at, find)
    params = {str(p.get("name")): p.get("default") for p in spec.get("params") or []
              if isinstance(p, dict)}  # fmt: skip
    return Plan("tekton", file, name, nodes, params=params)


def compile_task(spec: Mapping[str, Any], *, file: str = "", name: str = "",
                 where: Where | None = None,
                 path: tuple[str | int, ...] = ("spec",)) -> Plan:  # fmt: skip
    """A Task's (or a TaskRun's embedded taskSpec's) spec as a one-node plan."""
    at: Where = where or (lambda _p: file)
    node = Node(id=name or "task", name=name or "task", where=at(path), kind="task",
                results=[str(r.get("name")) for r in spec.get("results") or []
                         if isinstance(r, dict)],
                workspaces=[str(w.get("name")) for w in spec.get("workspaces") or []
                            if isinstance(w, dict)],
                services=_sidecars(spec), steps=_steps(spec, at, path),
                source=dict(spec))  # fmt: skip
    params = {str(p.get("name")): p.get("default") for p in spec.get("params") or []
              if isinstance(p, dict)}  # fmt: skip
    return Plan("tekton", file, name, {node.id: node}, params=params)


# -- Tekton's skip rules ------------------------------------------------------------------
def aggregate(plan: Plan, state: sch.State) -> str:
    """``$(tasks.status)``: Succeeded, Failed, Completed (some skipped) or None."""
    main = [state.nodes[n].status for n, node in plan.nodes.items() if not node.final]
    if any(s in (sch.FAILURE, sch.CANCELLED) for s in main):
        return "Failed"
    if all(s == sch.SUCCESS for s in main):
        return "Succeeded"
    if all(s in (sch.SUCCESS, sch.SKIPPED) for s in main):
        return "Completed"
    return "None"


def tekton_vars(plan: Plan, state: sch.State, base: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` (params.*, context.*, workspaces.*.bound) and what the tasks so far give:
    ``tasks.t.results.r``, ``tasks.t.matrix.length``, ``tasks.t.status``, ``tasks.status``."""
    out = dict(base)
    for name, node in plan.nodes.items():
        ns = state.nodes[name]
        combos = int(ns.data.get("combos") or 0)
        for r, v in ns.results.items():
            out[f"tasks.{name}.results.{r}"] = v
            if combos:
                out[f"tasks.{name}.matrix.{r}.length"] = str(len(v))
        if combos:
            out[f"tasks.{name}.matrix.length"] = str(combos)
        if not node.final:
            word = {sch.SUCCESS: "Succeeded", sch.FAILURE: "Failed", sch.CANCELLED: "Failed"}
            out[f"tasks.{name}.status"] = word.get(ns.status, "None")
            out[f"tasks.{name}.reason"] = ns.reason or out[f"tasks.{name}.status"]
    out["tasks.status"] = aggregate(plan, state)
    return out


class TektonRules:
    """Tekton's decisions; ``base`` holds the run's params, context and bound workspaces.
    The resolved ``when`` expressions of each decided task are kept in its
    ``data["when"]`` (the PipelineRun's status shows them)."""

    def __init__(self, base: Mapping[str, Any]) -> None:
        self.base = dict(base)

    def verdict(self, plan: Plan, state: sch.State, node: Node) -> sch.Verdict:
        reason = self._skip_reason(plan, state, node)
        return sch.Verdict(node.id, "skip" if reason else "run", reason)

    def _skip_reason(self, plan: Plan, state: sch.State, node: Node) -> str:
        stop = state.stopping
        if stop and (not node.final or stop in (PIPELINE_TIMEOUT, FINALLY_TIMEOUT, CANCELLED)):
            return stop
        if not node.final:
            for d in sorted(node.parents):
                parent = state.nodes[d]
                if parent.status == sch.SKIPPED and parent.reason != WHEN_FALSE:
                    return PARENT_SKIPPED
        values = tekton_vars(plan, state, self.base)
        spec = node.source if isinstance(node.source, dict) else {}
        where = {k: v for k, v in spec.items() if k in ("params", "when", "matrix")}
        for ref in subst.refs_deep(where):
            result = ref.parts[0] == "tasks" and len(ref.parts) >= 4 and ref.parts[2] == "results"
            if result and not subst.found(ref, values):
                return MISSING_RESULTS
        ok, state.nodes[node.id].data["when"] = when_holds(list(spec.get("when") or []), values)
        if not ok:
            return WHEN_FALSE
        matrix = spec.get("matrix")
        if matrix and not matrix.get("include") and not matrix_combos(matrix, values):
            return EMPTY_MATRIX
        return ""


def compile_bundle(bundle: Bundle) -> list[Plan]:
    """A plan for each TaskRun and PipelineRun of ``bundle`` (or, without any, for each
    Pipeline and Task), named after the run or the resource."""
    docs = bundle.runs() or [d for d in bundle.docs if d.kind in ("Task", "Pipeline")]

    def find(kind: str, name: str) -> dict[str, Any] | None:
        doc = bundle.find(kind, name)
        return doc.spec if doc is not None else None

    plans = []
    for doc in docs:
        kind = "Task" if doc.kind in ("Task", "TaskRun") else "Pipeline"
        where: Where = doc.where
        path: tuple[str | int, ...] = ("spec",)
        spec: dict[str, Any] | None = doc.spec
        file = doc.located.file
        if doc.kind in ("TaskRun", "PipelineRun"):
            key = "taskSpec" if kind == "Task" else "pipelineSpec"
            ref = doc.spec.get("taskRef" if kind == "Task" else "pipelineRef")
            if isinstance(doc.spec.get(key), dict):
                spec, path = doc.spec[key], ("spec", key)
            elif isinstance(ref, dict):
                target = bundle.find(str(ref.get("kind") or kind), str(ref.get("name")))
                spec = target.spec if target is not None else None
                if target is not None:
                    where, file = target.where, target.located.file
        if spec is None:
            continue
        if kind == "Task":
            plans.append(compile_task(spec, file=file, name=doc.name, where=where, path=path))
        else:
            plans.append(compile_pipeline(spec, file=file, name=doc.name, where=where,
                                          find=find, path=path))  # fmt: skip
    return plans
