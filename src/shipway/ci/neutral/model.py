"""The format-neutral plan every CI syntax compiles into: nodes, steps, edges, conditions.

Pure data. A ``Plan`` is a DAG of ``Node``s (GitHub Actions jobs, Tekton
pipeline tasks and ``finally`` tasks, GitLab job instances), each with its
``Step``s, its incoming ``Edge``s (``needs``, ``runAfter``, result references,
stage order, ``finally``), its ``Condition`` (the syntax's own text, with the
name of the evaluator that reads it), its matrix, retries, timeout, results
or outputs, workspaces, artifacts and services. Every node and step keeps its
``where`` (``file:line:col``). Values holding ``${{ }}``, ``$(...)`` or ``$VAR``
are kept as written; an ``Evaluator`` of the syntax renders them at run time.
``to_data`` gives the plan as JSON-ready data (``shipway ci plan -o json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SYNTAXES = ("github", "tekton", "gitlab")
EDGE_KINDS = ("needs", "runAfter", "result", "stage", "finally")
# GitLab's ``when`` words; the other syntaxes use ``on_success`` (run when the parents allow)
# and Tekton's ``finally`` tasks ``always``
WHENS = ("on_success", "on_failure", "always", "manual", "delayed", "never")


@dataclass(frozen=True)
class Condition:
    evaluator: str  # "github" (``${{ }}`` if:), "tekton" (when: list), "gitlab" (rules if:)
    expr: Any  # the syntax's own text: an if: string, a list of when: expressions
    where: str = ""


@dataclass(frozen=True)
class Edge:
    source: str  # the node this one waits for
    kind: str  # one of EDGE_KINDS
    optional: bool = False  # GitLab ``needs: optional``
    artifacts: bool = True  # GitLab ``needs: artifacts``: its artifacts are passed on


@dataclass
class Step:
    name: str
    where: str
    run: str | None = None  # a script / run: text
    uses: str | None = None  # an action, a StepAction ref
    image: str | None = None
    condition: Condition | None = None
    env: dict[str, Any] = field(default_factory=dict)
    timeout: Any = None  # as written (minutes in GHA, a duration in Tekton)
    on_error: str = "stop"  # "stop" or "continue" (continue-on-error, onError: continue)


@dataclass
class Node:
    id: str  # unique in the plan: job id, pipeline task name, GitLab instance name
    name: str
    where: str
    kind: str = "job"  # "job", "task", "finally"
    edges: list[Edge] = field(default_factory=list)
    condition: Condition | None = None
    when: str = "on_success"  # one of WHENS
    allow_failure: bool = False
    allow_exit_codes: list[int] = field(default_factory=list)
    matrix: Any = None  # combinations (a list of dicts), or the syntax's text when computed later
    retries: int = 0
    timeout: float | None = None  # seconds; None: the syntax's default
    results: list[str] = field(default_factory=list)  # Tekton results, GHA outputs, dotenv
    outputs: dict[str, Any] = field(default_factory=dict)  # GHA outputs: name -> expression
    workspaces: list[str] = field(default_factory=list)
    artifacts: dict[str, Any] = field(default_factory=dict)
    services: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    image: str | None = None
    stage: str = ""
    resource_group: str | None = None
    source: Any = None  # the syntax's own object (Job, pipeline task dict, Planned); not shown

    _parents: tuple[int, list[str]] | None = field(default=None, repr=False, compare=False)

    @property
    def parents(self) -> list[str]:
        """The nodes this one waits for, each once (kept while ``edges`` keeps its length)."""
        if self._parents is None or self._parents[0] != len(self.edges):
            self._parents = (len(self.edges), list(dict.fromkeys(e.source for e in self.edges)))
        return self._parents[1]

    @property
    def final(self) -> bool:
        return self.kind == "finally"


@dataclass
class Plan:
    syntax: str  # one of SYNTAXES
    file: str
    name: str
    nodes: dict[str, Node]  # in the file's order
    stages: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)  # inputs / params / variables

    _order: list[str] | None = field(default=None, repr=False, compare=False)

    def order(self) -> list[str]:
        """Node ids so every node comes after its parents; ties keep file order (the first
        node whose parents are placed goes next). Computed once: a plan does not change."""
        if self._order is None or len(self._order) != len(self.nodes):
            self._order = _order(self.nodes)
        return list(self._order)


def _order(nodes: dict[str, Node]) -> list[str]:
    done: set[str] = set()
    out: list[str] = []
    pending = list(nodes)
    while pending:
        for i, nid in enumerate(pending):
            if all(p in done or p not in nodes for p in nodes[nid].parents):
                out.append(nid)
                done.add(nid)
                del pending[i]
                break
        else:  # a cycle the parser let by: the rest in file order
            out.extend(pending)
            break
    return out


def _condition(c: Condition | None) -> dict[str, Any] | None:
    return None if c is None else {"evaluator": c.evaluator, "expr": c.expr, "where": c.where}


def _step(s: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"name": s.name, "where": s.where}
    for key in ("run", "uses", "image", "timeout"):
        if getattr(s, key) is not None:
            out[key] = getattr(s, key)
    if s.condition is not None:
        out["condition"] = _condition(s.condition)
    if s.env:
        out["env"] = s.env
    if s.on_error != "stop":
        out["on_error"] = s.on_error
    return out


def node_data(n: Node) -> dict[str, Any]:
    return {
        "id": n.id, "name": n.name, "kind": n.kind, "where": n.where, "stage": n.stage,
        "needs": [{"node": e.source, "kind": e.kind,
                   **({"optional": True} if e.optional else {}),
                   **({"artifacts": False} if not e.artifacts else {})} for e in n.edges],
        "condition": _condition(n.condition), "when": n.when,
        "allow_failure": n.allow_failure, "matrix": n.matrix, "retries": n.retries,
        "timeout": n.timeout, "results": n.results, "outputs": n.outputs,
        "workspaces": n.workspaces, "artifacts": n.artifacts, "services": n.services,
        "image": n.image, "resource_group": n.resource_group,
        "steps": [_step(s) for s in n.steps],
    }  # fmt: skip


def to_data(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-ready data, nodes in run order."""
    return {"syntax": plan.syntax, "file": plan.file, "name": plan.name,
            "stages": plan.stages, "params": plan.params,
            "nodes": [node_data(plan.nodes[n]) for n in plan.order()]}  # fmt: skip
