"""A Pipeline's order, ``when`` expressions, skips and ``finally`` tasks, as Tekton decides them.

Pure: ``Scheduler`` compiles the Pipeline into the neutral plan
(``ci.neutral.tekton.compile_pipeline``) and asks the one neutral scheduler
(``ci.neutral.scheduler.settle`` with ``TektonRules``) for the tasks to start
now and the ones to skip, with Tekton's skipping reasons; the runner reports
each ``finish``. ``tasks`` shows each pipeline task's state in Tekton's words
(``TaskState``), ``state`` is the neutral state, as data an engine persists.
Order comes from ``runAfter`` and from ``$(tasks.t.results.r)`` references; a
task whose ``when`` is false is skipped alone (its dependents still run, unless
they need its results); a task whose parent was skipped for another reason is
skipped too; once a task fails no new task starts ("PipelineRun was
stopping"); ``finally`` tasks start when every task is done and read
``$(tasks.t.status)`` and ``$(tasks.status)``.
"""

from __future__ import annotations

from typing import Any

from shipway.ci.neutral import scheduler as sch
from shipway.ci.neutral.model import Node
from shipway.ci.neutral.tekton import (
    CANCELLED,
    EMPTY_MATRIX,
    FINALLY_TIMEOUT,
    MISSING_RESULTS,
    PARENT_SKIPPED,
    PIPELINE_TIMEOUT,
    STATUS_OF_WORD,
    STOPPING,
    TASKS_TIMEOUT,
    WHEN_FALSE,
    WORDS,
    TektonRules,
    aggregate,
    compile_pipeline,
    matrix_combos,
    task_deps,
    tekton_vars,
    when_holds,
)

__all__ = [
    "CANCELLED",
    "DONE",
    "EMPTY_MATRIX",
    "FINALLY_TIMEOUT",
    "MISSING_RESULTS",
    "PARENT_SKIPPED",
    "PIPELINE_TIMEOUT",
    "STOPPING",
    "TASKS_TIMEOUT",
    "WHEN_FALSE",
    "Scheduler",
    "TaskState",
    "matrix_combos",
    "task_deps",
    "when_holds",
]  # fmt: skip
DONE = ("Succeeded", "Failed", "Skipped", "Cancelled")
FAILURE_IGNORED = "FailureIgnored"  # a failed TaskRun of a pipeline task with onError: continue


class TaskState:
    """One pipeline task's state in Tekton's words: a view of the neutral node and its state."""

    def __init__(self, node: Node, ns: sch.NodeState) -> None:
        self.node, self.ns = node, ns

    @property
    def spec(self) -> dict[str, Any]:
        return self.node.source if isinstance(self.node.source, dict) else {}

    @property
    def final(self) -> bool:
        return self.node.final

    @property
    def deps(self) -> set[str]:
        return set(self.node.parents)

    @property
    def name(self) -> str:
        return self.node.id

    @property
    def status(self) -> str:  # Pending, Running, Succeeded, Failed, Skipped, Cancelled
        return WORDS[self.ns.status]

    @property
    def reason(self) -> str:
        return self.ns.reason

    @property
    def ignored(self) -> bool:  # failed, and its onError: continue lets the run go on
        return self.ns.status == sch.FAILURE and self.ns.allowed

    @property
    def results(self) -> dict[str, Any]:
        return self.ns.results

    @property
    def when(self) -> list[dict[str, Any]]:  # as evaluated, for the status
        return list(self.ns.data.get("when") or [])

    @property
    def combos(self) -> int:  # matrix combinations run
        return int(self.ns.data.get("combos") or 0)


class Scheduler:
    def __init__(self, spec: dict[str, Any], base_vars: dict[str, Any],
                 state: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.base_vars = base_vars  # params.*, context.*, workspaces.*.bound
        self.plan = compile_pipeline(spec)
        self.rules = TektonRules(base_vars)
        self.state = sch.State.new(self.plan) if state is None else (
            sch.State.from_data(self.plan, state))  # fmt: skip
        self.tasks = {n: TaskState(node, self.state.nodes[n])
                      for n, node in self.plan.nodes.items()}  # fmt: skip

    @property
    def stopping(self) -> str:  # a skipping reason once no new task may start
        return self.state.stopping

    def vars(self) -> dict[str, Any]:
        return tekton_vars(self.plan, self.state, self.base_vars)

    def aggregate(self) -> str:
        """``$(tasks.status)``: Succeeded, Failed, Completed (some skipped) or None."""
        return aggregate(self.plan, self.state)

    def main_done(self) -> bool:
        return sch.main_done(self.plan, self.state)

    def done(self) -> bool:
        return sch.finished(self.plan, self.state)

    def decide(self) -> list[TaskState]:
        """Tasks to start now (marked Running); skipped ones are marked here."""
        return [self.tasks[v.node] for v in sch.settle(self.plan, self.state, self.rules)
                if v.action == "run"]  # fmt: skip

    def finish(self, name: str, status: str, results: dict[str, Any], combos: int = 0) -> None:
        node = self.plan.nodes[name]
        source = node.source if isinstance(node.source, dict) else {}
        # a pipeline task with onError: continue fails without stopping the run
        ignored = status == "Failed" and source.get("onError") == "continue"
        self.state.finish(name, STATUS_OF_WORD[status], results, allowed=ignored, combos=combos)
        if ignored:
            self.state.nodes[name].reason = FAILURE_IGNORED
        failed = status in ("Failed", "Cancelled") and not ignored
        if failed and not node.final and not self.state.stopping:
            self.state.stopping = STOPPING

    def stop(self, reason: str) -> None:
        """No new task starts (a timeout); pending ones are skipped with ``reason``."""
        self.state.stopping = reason
