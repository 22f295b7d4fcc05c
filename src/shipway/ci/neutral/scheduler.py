"""One scheduler over a neutral ``Plan``: which nodes start now, which are skipped and why.

Pure state machine. ``State`` holds each node's status, reason, results and
the syntax's extra data; it round-trips through ``to_data``/``from_data`` so
an engine persists it and a restarted controller resumes from it. ``decide``
lists a ``Verdict`` for every node whose turn came (its parents are done;
``finally`` nodes once every other node is done), in run order, without
changing the state; ``settle`` applies every skip, manual and cancel verdict
until none is left and marks the nodes to start as running. The decision of
each node is the syntax's (``Rules``: GitHub's ``if``/needs failure
propagation, Tekton's ``when``-skipped dependents and stopping, GitLab's
``when: on_failure/always/manual`` and ``allow_failure``); the rules
implementations live in ``neutral.github``, ``neutral.tekton``, ``neutral.gitlab``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from shipway.ci.neutral.model import Node, Plan

PENDING, RUNNING = "pending", "running"
SUCCESS, FAILURE, SKIPPED, CANCELLED, MANUAL = (
    "success", "failure", "skipped", "cancelled", "manual")  # fmt: skip
TERMINAL = (SUCCESS, FAILURE, SKIPPED, CANCELLED, MANUAL)
ACTIONS = ("run", "skip", "manual", "cancel")
_STATUS_OF = {"skip": SKIPPED, "manual": MANUAL, "cancel": CANCELLED}


@dataclass
class NodeState:
    status: str = PENDING
    reason: str = ""  # why it was skipped (the syntax's words)
    allowed: bool = False  # a failure the node's allow_failure lets pass
    results: dict[str, Any] = field(default_factory=dict)  # results / outputs / dotenv
    data: dict[str, Any] = field(default_factory=dict)  # the engine's own (records, tries...)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def blocking_failure(self) -> bool:
        return self.status == FAILURE and not self.allowed


@dataclass
class State:
    nodes: dict[str, NodeState]
    stopping: str = ""  # once set, the rules start nothing new (the reason they give)
    cancelled: bool = False  # the run was cancelled

    @classmethod
    def new(cls, plan: Plan) -> State:
        return cls({nid: NodeState() for nid in plan.nodes})

    def start(self, nid: str) -> None:
        self.nodes[nid].status = RUNNING

    def finish(self, nid: str, status: str, results: dict[str, Any] | None = None,
               allowed: bool = False, **data: Any) -> None:  # fmt: skip
        if status not in TERMINAL:
            raise ValueError(f"not a final status: {status!r}")
        ns = self.nodes[nid]
        ns.status, ns.allowed = status, allowed
        ns.results = dict(results or {})
        ns.data.update(data)

    def to_data(self) -> dict[str, Any]:
        return {"stopping": self.stopping, "cancelled": self.cancelled,
                "nodes": {k: {"status": v.status, "reason": v.reason, "allowed": v.allowed,
                              "results": v.results, "data": v.data}
                          for k, v in self.nodes.items()}}  # fmt: skip

    @classmethod
    def from_data(cls, plan: Plan, data: dict[str, Any]) -> State:
        """A stored state for ``plan``; nodes that were running start again (pending)."""
        state = cls.new(plan)
        state.stopping = str(data.get("stopping") or "")
        state.cancelled = bool(data.get("cancelled"))
        for nid, raw in (data.get("nodes") or {}).items():
            if nid not in state.nodes or not isinstance(raw, dict):
                continue
            status = str(raw.get("status") or PENDING)
            state.nodes[nid] = NodeState(
                status if status in TERMINAL else PENDING, str(raw.get("reason") or ""),
                bool(raw.get("allowed")), dict(raw.get("results") or {}),
                dict(raw.get("data") or {}))  # fmt: skip
        return state


@dataclass(frozen=True)
class Verdict:
    node: str
    action: str  # one of ACTIONS
    reason: str = ""


class Rules(Protocol):
    """A syntax's decision for one node whose parents are done."""

    def verdict(self, plan: Plan, state: State, node: Node) -> Verdict: ...


def ancestors(plan: Plan, nid: str) -> set[str]:
    """Every node up the edges from ``nid`` (GitHub's status functions look at all of them)."""
    seen: set[str] = set()
    stack = list(plan.nodes[nid].parents)
    while stack:
        n = stack.pop()
        if n not in seen and n in plan.nodes:
            seen.add(n)
            stack.extend(plan.nodes[n].parents)
    return seen


def main_done(plan: Plan, state: State) -> bool:
    return all(state.nodes[n].done for n, node in plan.nodes.items() if not node.final)


def finished(plan: Plan, state: State) -> bool:
    return all(ns.done for ns in state.nodes.values())


def turn_came(plan: Plan, state: State, node: Node) -> bool:
    """Pending, with every parent done (a ``finally`` node: every non-final node done)."""
    if state.nodes[node.id].status != PENDING:
        return False
    if node.final:
        return main_done(plan, state)
    return all(state.nodes[p].done for p in node.parents if p in state.nodes)


def decide(plan: Plan, state: State, rules: Rules) -> list[Verdict]:
    """A verdict for every node whose turn came, in run order; ``state`` is not changed."""
    return [rules.verdict(plan, state, plan.nodes[nid]) for nid in plan.order()
            if turn_came(plan, state, plan.nodes[nid])]  # fmt: skip


def apply(state: State, verdict: Verdict) -> None:
    """Record a verdict: skipped, manual and cancelled nodes are done; run ones are running."""
    ns = state.nodes[verdict.node]
    if verdict.action == "run":
        ns.status = RUNNING
    else:
        ns.status, ns.reason = _STATUS_OF[verdict.action], verdict.reason


def settle(plan: Plan, state: State, rules: Rules) -> list[Verdict]:
    """Apply verdicts until no node's turn comes; return them all (runs are now running)."""
    out: list[Verdict] = []
    while True:
        found = decide(plan, state, rules)
        if not found:
            return out
        for v in found:
            apply(state, v)
        out.extend(found)
