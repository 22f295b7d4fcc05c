"""A Pipeline's order, ``when`` expressions, skips and ``finally`` tasks, as Tekton decides them.

Pure: ``Scheduler`` holds the pipeline tasks' states; the runner asks
``decide()`` for the tasks to start now (and which to skip, with Tekton's
skipping reasons), and reports each ``finish``. Order comes from
``runAfter`` and from ``$(tasks.t.results.r)`` references. A task whose
``when`` is false is skipped alone (its dependents still run, unless they
need its results); a task whose parent was skipped for another reason is
skipped too; once a task fails no new task starts ("PipelineRun was
stopping"); ``finally`` tasks start when every task is done and read
``$(tasks.t.status)`` and ``$(tasks.status)``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from shipway.ci.tekton import subst
from shipway.ci.tekton.params import given_map

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
DONE = ("Succeeded", "Failed", "Skipped", "Cancelled")


@dataclass
class TaskState:
    spec: dict[str, Any]
    final: bool
    deps: set[str]
    status: str = "Pending"  # Pending, Running, Succeeded, Failed, Skipped, Cancelled
    reason: str = ""  # the skipping reason
    results: dict[str, Any] = field(default_factory=dict)
    when: list[dict[str, Any]] = field(default_factory=list)  # as evaluated, for the status
    combos: int = 0  # matrix combinations run

    @property
    def name(self) -> str:
        return str(self.spec.get("name"))


def task_deps(task: dict[str, Any]) -> set[str]:
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
    combos = [dict(zip(axes, c, strict=True)) for c in itertools.product(*axes.values())]
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


class Scheduler:
    def __init__(self, spec: dict[str, Any], base_vars: dict[str, Any]) -> None:
        self.base_vars = base_vars  # params.*, context.*, workspaces.*.bound
        self.tasks: dict[str, TaskState] = {}
        for t in spec.get("tasks") or []:
            self.tasks[str(t["name"])] = TaskState(t, False, task_deps(t))
        for t in spec.get("finally") or []:
            self.tasks[str(t["name"])] = TaskState(t, True, set())
        self.stopping = ""  # a skipping reason once no new task may start

    # -- variables ----------------------------------------------------------------
    def vars(self) -> dict[str, Any]:
        out = dict(self.base_vars)
        for name, st in self.tasks.items():
            for r, v in st.results.items():
                out[f"tasks.{name}.results.{r}"] = v
                if st.combos:
                    out[f"tasks.{name}.matrix.{r}.length"] = str(len(v))
            if st.combos:
                out[f"tasks.{name}.matrix.length"] = str(st.combos)
            if not st.final:
                word = {"Succeeded": "Succeeded", "Failed": "Failed", "Cancelled": "Failed"}
                out[f"tasks.{name}.status"] = word.get(st.status, "None")
                out[f"tasks.{name}.reason"] = st.reason or out[f"tasks.{name}.status"]
        out["tasks.status"] = self.aggregate()
        return out

    def aggregate(self) -> str:
        """``$(tasks.status)``: Succeeded, Failed, Completed (some skipped) or None."""
        main = [t for t in self.tasks.values() if not t.final]
        if any(t.status in ("Failed", "Cancelled") for t in main):
            return "Failed"
        if all(t.status == "Succeeded" for t in main):
            return "Succeeded"
        if all(t.status in ("Succeeded", "Skipped") for t in main):
            return "Completed"
        return "None"

    # -- decisions ----------------------------------------------------------------
    def main_done(self) -> bool:
        return all(t.status in DONE for t in self.tasks.values() if not t.final)

    def done(self) -> bool:
        return all(t.status in DONE for t in self.tasks.values())

    def decide(self) -> list[TaskState]:
        """Tasks to start now (marked Running); skipped ones are marked here."""
        start: list[TaskState] = []
        progressed = True
        while progressed:
            progressed = False
            finals = self.main_done()
            for st in self.tasks.values():
                if st.status != "Pending" or (st.final and not finals):
                    continue
                if not st.final and not all(self.tasks[d].status in DONE for d in st.deps):
                    continue
                reason = self._skip_reason(st)
                if reason:
                    st.status, st.reason = "Skipped", reason
                    progressed = True
                else:
                    st.status = "Running"
                    start.append(st)
        return start

    def _skip_reason(self, st: TaskState) -> str:
        if self.stopping and (
            not st.final or self.stopping in (PIPELINE_TIMEOUT, FINALLY_TIMEOUT, CANCELLED)
        ):
            return self.stopping
        if not st.final:
            for d in sorted(st.deps):
                parent = self.tasks[d]
                if parent.status == "Skipped" and parent.reason != WHEN_FALSE:
                    return PARENT_SKIPPED
        values = self.vars()
        where = {k: v for k, v in st.spec.items() if k in ("params", "when", "matrix")}
        for ref in subst.refs_deep(where):
            result = ref.parts[0] == "tasks" and len(ref.parts) >= 4 and ref.parts[2] == "results"
            if result and not subst.found(ref, values):
                return MISSING_RESULTS
        ok, st.when = when_holds(list(st.spec.get("when") or []), values)
        if not ok:
            return WHEN_FALSE
        matrix = st.spec.get("matrix")
        if matrix and not matrix.get("include") and not matrix_combos(matrix, values):
            return EMPTY_MATRIX
        return ""

    def finish(self, name: str, status: str, results: dict[str, Any], combos: int = 0) -> None:
        st = self.tasks[name]
        st.status, st.results, st.combos = status, results, combos
        if status in ("Failed", "Cancelled") and not st.final and not self.stopping:
            self.stopping = STOPPING

    def stop(self, reason: str) -> None:
        """No new task starts (a timeout); pending ones are skipped with ``reason``."""
        self.stopping = reason
