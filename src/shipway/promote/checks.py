"""Apply-time checks across Kargo and Argo Rollouts objects: data in, problems out.

``check(batch, stored)`` takes the resources being applied (already valid one
by one: ``shipway.model.resources``) and those already stored, and returns a
``ResourceError`` for every problem, each at the ``file:line:col`` of the field
at fault (the document's line when a resource has no positions). Only the
batch is checked; the stored objects are what it may refer to (a batch object
replaces a stored one of the same ref). The checks, as Kargo's admission
webhooks make them or as issue 13 asks:

- a cycle in Stages' ``requestedFreight[].sources.stages`` (the cycle named);
- a ``requestedFreight[].origin`` Warehouse missing from the Stage's Project;
- a step ``task`` naming a missing PromotionTask (same Project) or ClusterPromotionTask;
- a ``verification.analysisTemplates[]`` entry naming a missing AnalysisTemplate
  (same Project) or ClusterAnalysisTemplate;
- a Promotion whose Stage or Freight does not exist;
- a bad ``${{ }}`` expression in any step field (``if``, ``config``, ``vars``),
  in a Stage's ``vars`` or verification ``args``: it must compile as expr-lang,
  and the functions it calls must be expr-lang builtins or ``KARGO_FUNCTIONS``;
- step aliases duplicated or reserved (``step-N``, ``task-N``), per step list;
- a ProjectConfig not named after its Project, and promotion policies naming
  one Stage twice;
- a Warehouse chart subscription's ``semverConstraint`` that is not a semver range.

Pure: no I/O (no store, no network); it imports the model and the expression language.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from shipway.model.errors import ResourceError
from shipway.model.kargo_steps import STEP_NAMES, check_alias_names
from shipway.model.resources import Resource
from shipway.templates.errors import ExprError
from shipway.templates.exprlang import BUILTINS, compile_expr
from shipway.templates.exprlang.parser import Node
from shipway.templates.exprlang.template import segments

KARGO_FUNCTIONS: frozenset[str] = frozenset(
    {"imageFrom", "commitFrom", "chartFrom", "warehouse", "quote", "unsafeQuote",
     "success", "failure", "always", "status", "secret", "configMap", "asYAML", "asJSON",
     "semverParse", "semverDiff", "freightMetadata", "freightStatus", "stageMetadata",
     "sharedSecret", "sharedConfigMap"}
)  # fmt: skip
"""Kargo's expression functions shipway provides (issue 13); calls to others are refused."""

Path = tuple[str | int, ...]
_STEP_KINDS = ("Stage", "Promotion", "PromotionTask", "ClusterPromotionTask")
CHECKED_KINDS: frozenset[str] = frozenset({*_STEP_KINDS, "ProjectConfig", "Warehouse"})
"""Kinds ``check`` looks at; a batch without them needs no stored objects."""
REFERENCED_KINDS: tuple[str, ...] = (
    "Stage", "Warehouse", "Freight", "PromotionTask", "ClusterPromotionTask", "AnalysisTemplate",
    "ClusterAnalysisTemplate",
)  # fmt: skip
"""Kinds the checked ones may name: what the caller loads from the store."""


def referenced_kinds(batch: Sequence[Resource]) -> list[str]:
    """The kinds ``batch`` may refer to (Freight only for Promotions): what to load from the
    store, in the batch's Projects (cluster-scoped kinds: all)."""
    kinds = {r.kind for r in batch}
    if not kinds & CHECKED_KINDS:
        return []
    return [k for k in REFERENCED_KINDS if k != "Freight" or "Promotion" in kinds]


def _where(res: Resource, path: Path) -> str:
    located = res.located
    return located.where(path) if located is not None else res.source


def _problem(res: Resource, path: Path, message: str) -> ResourceError:
    return ResourceError(f"{res.key}: {message}", subject=_where(res, path))


class _Index:
    """Who exists: ``(kind, namespace, name)`` from the store, then the batch over it."""

    def __init__(self, batch: Sequence[Resource], stored: Sequence[Resource]) -> None:
        self.objects: dict[tuple[str, str, str], Resource] = {}
        for res in [*stored, *batch]:
            self.objects[(res.kind, res.namespace, res.name)] = res

    def has(self, kind: str, namespace: str, name: str) -> bool:
        return (kind, namespace, name) in self.objects

    def of_kind(self, kind: str) -> Iterator[Resource]:
        return (r for (k, _, _), r in self.objects.items() if k == kind)


def _steps_path(kind: str) -> Path:
    return ("spec", "promotionTemplate", "spec", "steps") if kind == "Stage" else ("spec", "steps")


def _get(data: Any, path: Path) -> Any:
    for key in path:
        if isinstance(data, dict) and isinstance(key, str):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return None
    return data


def _unknown_calls(node: Node, known: frozenset[str]) -> Iterator[tuple[str, int]]:
    if node.kind == "call" and node.args and node.args[0].kind == "ident":
        name = str(node.args[0].value)
        if name not in known:
            yield name, node.pos
    for child in node.args:
        if isinstance(child, Node):
            yield from _unknown_calls(child, known)


_KNOWN_FUNCS = frozenset(BUILTINS) | KARGO_FUNCTIONS


def expression_problems(text: str) -> list[str]:
    """Why ``text``'s ``${{ }}`` segments are bad (unclosed, not expr-lang, unknown function)."""
    try:
        parts = segments(text)
    except ExprError as exc:
        return [exc.reason]
    found: list[str] = []
    for is_expr, body, _offset in parts:
        if not is_expr:
            continue
        try:
            prog = compile_expr(body)
        except ExprError as exc:
            found.append(f"bad expression ${{{{{body}}}}}: {exc.reason}")
            continue
        for name, _pos in _unknown_calls(prog.tree, _KNOWN_FUNCS):
            found.append(f"unknown function {name!r} in ${{{{{body}}}}}")
    return found


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))


def _expressions(res: Resource) -> Iterator[ResourceError]:
    body = res.body
    roots: list[Path] = [_steps_path(res.kind), ("spec", "vars")]
    if res.kind == "Stage":
        roots += [("spec", "promotionTemplate", "spec", "vars"), ("spec", "verification", "args")]
    for root in roots:
        for path, text in _strings(_get(body, root), root):
            if path[-1] in ("uses", "as", "name", "kind") and len(path) <= len(root) + 3:
                continue  # names, not templated fields
            if "${{" not in text:
                continue
            for why in expression_problems(text):
                yield _problem(res, path, why)


def _aliases(res: Resource) -> Iterator[ResourceError]:
    root = _steps_path(res.kind)
    raw = _get(res.body, root)
    if not isinstance(raw, list):
        return
    aliases = [str(s.get("as") or "") if isinstance(s, dict) else None for s in raw]
    for i, why in check_alias_names(aliases):
        yield _problem(res, (*root, i, "as"), why)


def _task_refs(res: Resource, index: _Index) -> Iterator[ResourceError]:
    root = _steps_path(res.kind)
    for i, step in enumerate(_get(res.body, root) or []):
        task = step.get("task") if isinstance(step, dict) else None
        if not isinstance(task, dict):
            continue
        kind = task.get("kind") or "PromotionTask"
        ns = res.namespace if kind == "PromotionTask" else ""
        if not index.has(kind, ns, str(task.get("name"))):
            where = f" in Project {res.namespace!r}" if ns else ""
            yield _problem(res, (*root, i, "task", "name"),
                           f"{kind} {task.get('name')!r} does not exist{where}")  # fmt: skip


def _stage_refs(res: Resource, index: _Index) -> Iterator[ResourceError]:
    for i, req in enumerate(_get(res.body, ("spec", "requestedFreight")) or []):
        origin = req.get("origin") or {}
        if not index.has("Warehouse", res.namespace, str(origin.get("name"))):
            yield _problem(res, ("spec", "requestedFreight", i, "origin", "name"),
                           f"Warehouse {origin.get('name')!r} does not exist in Project "
                           f"{res.namespace!r}")  # fmt: skip
    templates = _get(res.body, ("spec", "verification", "analysisTemplates")) or []
    for i, ref in enumerate(templates):
        kind = ref.get("kind") or "AnalysisTemplate"
        ns = res.namespace if kind == "AnalysisTemplate" else ""
        if not index.has(kind, ns, str(ref.get("name"))):
            where = f" in Project {res.namespace!r}" if ns else ""
            yield _problem(res, ("spec", "verification", "analysisTemplates", i, "name"),
                           f"{kind} {ref.get('name')!r} does not exist{where}")  # fmt: skip


def _upstreams(res: Resource) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for i, req in enumerate(_get(res.body, ("spec", "requestedFreight")) or []):
        for j, name in enumerate(_get(req, ("sources", "stages")) or []):
            out.append((str(name), ("spec", "requestedFreight", i, "sources", "stages", j)))
    return out


Key = tuple[str, str]


def _components(edges: dict[Key, list[tuple[str, Path]]]) -> list[list[Key]]:
    """Tarjan's strongly connected components of the "takes Freight from" graph (iterative)."""
    index: dict[Key, int] = {}
    low: dict[Key, int] = {}
    on_stack: set[Key] = set()
    stack: list[Key] = []
    out: list[list[Key]] = []
    for root in edges:
        if root in index:
            continue
        work: list[tuple[Key, int]] = [(root, 0)]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, i = work.pop()
            nexts = [(node[0], up) for up, _ in edges[node] if (node[0], up) in edges]
            if i < len(nexts):
                work.append((node, i + 1))
                nxt = nexts[i]
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp: list[Key] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                out.append(comp)
    return out


def _cycle_in(start: Key, members: set[Key], edges: dict[Key, list[tuple[str, Path]]]) -> list[Key]:
    """A path start -> ... -> start inside one component (breadth-first: a shortest one)."""
    previous: dict[Key, Key] = {}
    queue = [start]
    for node in queue:
        for up, _ in edges[node]:
            nxt = (start[0], up)
            if nxt == start:
                trail = [node]
                while trail[-1] != start:
                    trail.append(previous[trail[-1]])
                return trail[::-1]
            if nxt in members and nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return [start]  # not reached: a component with a cycle holds one through each member


def _cycles(batch: Sequence[Resource], index: _Index) -> Iterator[ResourceError]:
    """Each cycle of "takes Freight from" edges through a batch Stage, reported once, on the
    component's first Stage in the batch."""
    edges = {(r.namespace, r.name): _upstreams(r) for r in index.of_kind("Stage")}
    batch_stages = {(r.namespace, r.name): r for r in batch if r.kind == "Stage"}
    order = {key: i for i, key in enumerate(batch_stages)}
    for comp in _components(edges):
        members = set(comp)
        looped = len(comp) > 1 or any(up == comp[0][1] for up, _ in edges[comp[0]])
        mine = sorted((k for k in comp if k in batch_stages), key=order.__getitem__)
        if not looped or not mine:
            continue
        start = mine[0]
        res = batch_stages[start]
        trail = _cycle_in(start, members, edges)
        nxt = trail[1][1] if len(trail) > 1 else res.name
        path = next(p for up, p in edges[start] if up == nxt)
        names = " -> ".join([n for _, n in trail] + [res.name])
        yield _problem(res, path, f"stage sources form a cycle: {names} "
                       "(each takes Freight from the next)")  # fmt: skip


def _promotion_refs(res: Resource, index: _Index) -> Iterator[ResourceError]:
    for kind in ("Stage", "Freight"):
        name = res.spec.get(kind.lower())
        if not index.has(kind, res.namespace, str(name)):
            message = f"{kind} {name!r} does not exist in Project {res.namespace!r}"
            yield _problem(res, ("spec", kind.lower()), message)


def _project_config(res: Resource) -> Iterator[ResourceError]:
    if res.name != res.namespace:
        yield _problem(res, ("metadata", "name"),
                       f"name {res.name!r} must match project name {res.namespace!r}")  # fmt: skip
    first: dict[str, int] = {}
    for i, policy in enumerate(res.spec.get("promotionPolicies") or []):
        stage = policy.get("stage") or (policy.get("stageSelector") or {}).get("name") or ""
        if not stage or ":" in stage:
            continue
        if stage in first:
            yield _problem(res, ("spec", "promotionPolicies", i),
                           f"stage name {stage!r} already defined at "
                           f"spec.promotionPolicies[{first[stage]}]")  # fmt: skip
        else:
            first[stage] = i


def _bare(text: str) -> str | None:
    """Why a bare expr-lang expression (no ``${{ }}``) does not parse, or None."""
    try:
        compile_expr(text)
    except ExprError as exc:
        return str(exc)
    return None


def _warehouse(res: Resource) -> Iterator[ResourceError]:
    """A Warehouse's ``expressionFilter``s and ``freightCreationCriteria.expression`` parse,
    and its chart subscriptions' ``semverConstraint``s are ranges."""
    from shipway.model.errors import InputError
    from shipway.updater.policy.semver import parse_range

    for i, sub in enumerate(res.spec.get("subscriptions") or []):
        constraint = ((sub or {}).get("chart") or {}).get("semverConstraint")
        if isinstance(constraint, str) and constraint.strip():
            try:
                parse_range(constraint)
            except InputError as exc:
                yield _problem(res, ("spec", "subscriptions", i, "chart", "semverConstraint"),
                               f"semverConstraint: {exc}")  # fmt: skip
        text = ((sub or {}).get("git") or {}).get("expressionFilter")
        why = _bare(text) if isinstance(text, str) and text.strip() else None
        if why:
            yield _problem(res, ("spec", "subscriptions", i, "git", "expressionFilter"),
                           f"expressionFilter: {why}")  # fmt: skip
    text = (res.spec.get("freightCreationCriteria") or {}).get("expression")
    why = _bare(text) if isinstance(text, str) and text.strip() else None
    if why:
        yield _problem(res, ("spec", "freightCreationCriteria", "expression"),
                       f"freightCreationCriteria: {why}")  # fmt: skip


def check(batch: Sequence[Resource], stored: Sequence[Resource]) -> list[ResourceError]:
    """Every cross-object problem of ``batch`` (see the module docstring), in no set order."""
    index = _Index(batch, stored)
    found: list[ResourceError] = []
    for res in batch:
        if res.kind in _STEP_KINDS:
            found += _expressions(res)
            found += _aliases(res)
        if res.kind == "Stage":
            found += _task_refs(res, index)
            found += _stage_refs(res, index)
        elif res.kind == "Promotion":
            found += _promotion_refs(res, index)
        elif res.kind == "ProjectConfig":
            found += _project_config(res)
        elif res.kind == "Warehouse":
            found += _warehouse(res)
    found += _cycles(batch, index)
    return found


__all__ = ["CHECKED_KINDS", "KARGO_FUNCTIONS", "REFERENCED_KINDS", "STEP_NAMES", "check",
           "expression_problems", "referenced_kinds"]  # fmt: skip
