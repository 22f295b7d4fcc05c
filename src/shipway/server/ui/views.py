"""What the application page shows, computed from data. Pure: no I/O.

- ``tree``: an application's objects by ownership (``metadata.ownerReferences``,
  matched by uid, else by kind and name), roots first, children under their owner.
- ``side_by_side``: two texts as rows of a two-column diff; runs of unchanged lines
  longer than twice the context are folded (their rows kept, hidden, to unfold).
- ``manifest_pair``: the live and desired objects as YAML, Secret values masked.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from shipway.deploy.diff import mask

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass
class Node:
    key: str
    group: str
    kind: str
    namespace: str
    name: str
    status: str = ""
    health: str = ""
    message: str = ""
    children: list[Node] = field(default_factory=list)

    @property
    def size(self) -> int:
        return 1 + sum(c.size for c in self.children)


def tree(objects: Iterable[Mapping[str, Any]]) -> list[Node]:
    """Nodes for ``{key, group, kind, namespace, name, status, health, message, live}``."""
    nodes: dict[str, Node] = {}
    owners: dict[str, list[dict[str, Any]]] = {}
    by_uid: dict[str, str] = {}
    by_name: dict[tuple[str, str, str], str] = {}
    for o in objects:
        key = str(o["key"])
        nodes[key] = Node(
            key,
            str(o.get("group", "")),
            str(o["kind"]),
            str(o.get("namespace", "")),
            str(o["name"]),
            str(o.get("status", "")),
            str(o.get("health", "")),
            str(o.get("message", "")),
        )
        meta = (o.get("live") or {}).get("metadata") or {}
        if meta.get("uid"):
            by_uid[str(meta["uid"])] = key
        by_name[(nodes[key].kind, nodes[key].namespace, nodes[key].name)] = key
        owners[key] = [r for r in meta.get("ownerReferences") or [] if isinstance(r, dict)]
    roots: list[Node] = []
    for key, node in nodes.items():
        parent = None
        for ref in owners[key]:
            parent = by_uid.get(str(ref.get("uid", ""))) or by_name.get(
                (str(ref.get("kind", "")), node.namespace, str(ref.get("name", "")))
            )
            if parent and parent != key:
                break
            parent = None
        (nodes[parent].children if parent else roots).append(node)
    order = {k: i for i, k in enumerate(_KIND_ORDER)}
    for n in [*nodes.values()]:
        n.children.sort(key=lambda c: (order.get(c.kind, 99), c.kind, c.name))
    roots.sort(key=lambda c: (order.get(c.kind, 99), c.kind, c.namespace, c.name))
    return roots


_KIND_ORDER = (
    "Namespace",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "Service",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Pod",
    "Job",
    "CronJob",
    "Ingress",
)


def to_yaml(obj: Any) -> str:
    if obj is None:
        return ""
    return str(yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False))


def manifest_pair(kind: str, live: Any, desired: Any) -> tuple[str, str]:
    """``(live, desired)`` as YAML; a Secret's values masked on both sides."""
    if kind == "Secret":
        live, desired = mask.pair(_plain(live), _plain(desired))
    return to_yaml(live), to_yaml(desired)


def _plain(obj: Any) -> Any:
    """A Secret with ``stringData`` folded into ``data`` (so those values are masked too)."""
    if not isinstance(obj, dict) or "stringData" not in obj:
        return obj
    out = {k: v for k, v in obj.items() if k != "stringData"}
    out["data"] = {**(obj.get("data") or {}), **(obj.get("stringData") or {})}
    return out


@dataclass(frozen=True)
class Row:
    op: str  # equal | change | delete | insert
    left_no: int | None
    left: str
    right_no: int | None
    right: str


@dataclass
class Block:
    rows: list[Row]
    folded: bool = False


def side_by_side(left: str, right: str, context: int = 3) -> list[Block]:
    """Blocks of rows; a folded block holds an unchanged run (shown on request)."""
    a, b = left.splitlines(), right.splitlines()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=len(a) + len(b) > 4000)
    blocks: list[Block] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            rows = [
                Row("equal", i1 + k + 1, a[i1 + k], j1 + k + 1, b[j1 + k]) for k in range(i2 - i1)
            ]
            blocks += _fold(rows, context, first=not blocks, last=i2 == len(a))
            continue
        n = max(i2 - i1, j2 - j1)
        rows = []
        for k in range(n):
            li, rj = i1 + k, j1 + k
            has_l, has_r = li < i2, rj < j2
            kind = "change" if has_l and has_r else ("delete" if has_l else "insert")
            rows.append(
                Row(
                    kind,
                    li + 1 if has_l else None,
                    a[li] if has_l else "",
                    rj + 1 if has_r else None,
                    b[rj] if has_r else "",
                )
            )
        blocks.append(Block(rows))
    return blocks


def _fold(rows: Sequence[Row], context: int, *, first: bool, last: bool) -> list[Block]:
    head = 0 if first else context
    tail = 0 if last else context
    if len(rows) <= head + tail + 2:
        return [Block(list(rows))]
    out = []
    if head:
        out.append(Block(list(rows[:head])))
    out.append(Block(list(rows[head : len(rows) - tail]), folded=True))
    if tail:
        out.append(Block(list(rows[len(rows) - tail :])))
    return out


def changed(blocks: Sequence[Block]) -> int:
    return sum(1 for b in blocks for r in b.rows if r.op != "equal")
