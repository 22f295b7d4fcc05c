"""``ignoreDifferences`` beyond JSON pointers: jq path expressions and managed fields. Pure.

jq: the path subset Argo CD users write — ``.a.b``, ``.["a/b"]``, ``.a[]``,
``.a[0]``, and ``| select(.k == "v")`` (or ``!=``) after an iteration — each
matched path is deleted. Managed fields: the fields a listed manager owns in
the live object's ``managedFields`` (``fieldsV1``: ``f:`` keys, ``k:`` keyed
list items, ``i:`` indexes, ``v:`` set values) are deleted from both sides.
Unsupported jq raises ``ValueError`` naming the expression.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

_SEG = re.compile(r'\.(?:([A-Za-z_][\w-]*)|\["([^"]+)"\])|\[(\d*)\]')
_SELECT = re.compile(
    r'^select\(\s*\.([\w.-]+)\s*(==|!=)\s*("(?:[^"\\]|\\.)*"|-?\d+|true|false|null)\s*\)$'
)


def _compile(expr: str) -> list[Any]:
    steps: list[Any] = []
    for part in [p.strip() for p in expr.split("|")]:
        m = _SELECT.match(part)
        if m:
            steps.append(("select", m[1].split("."), m[2], json.loads(m[3])))
            continue
        pos = 0
        if part == ".":
            continue
        while pos < len(part):
            sm = _SEG.match(part, pos)
            if not sm:
                raise ValueError(f"unsupported jq path expression: {expr}")
            key = sm[1] or sm[2]
            if key is not None:
                steps.append(("key", key))
            elif sm[3] == "":
                steps.append(("iter",))
            else:
                steps.append(("index", int(sm[3])))
            pos = sm.end()
    return steps


def _get(obj: Any, dotted: list[str]) -> Any:
    for k in dotted:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def _has(node: Any, step: Any) -> bool:
    if step[0] == "key":
        return isinstance(node, dict) and step[1] in node
    return step[0] == "index" and isinstance(node, list) and step[1] < len(node)


def _paths(node: Any, steps: list[Any], prefix: tuple[Any, ...]) -> Iterable[tuple[Any, ...]]:
    if not steps:
        yield prefix
        return
    step, rest = steps[0], steps[1:]
    if _has(node, step):
        yield from _paths(node[step[1]], rest, (*prefix, step[1]))
    elif step[0] == "iter" and isinstance(node, list | dict):
        items = enumerate(node) if isinstance(node, list) else node.items()
        for k, v in items:
            yield from _paths(v, rest, (*prefix, k))
    elif step[0] == "select":
        have = _get(node, step[1])
        if (have == step[3]) == (step[2] == "=="):
            yield from _paths(node, rest, prefix)


def _delete(obj: Any, path: tuple[Any, ...]) -> None:
    for p in path[:-1]:
        obj = obj[p]
    if isinstance(obj, list):
        obj[path[-1]] = _DELETED
    else:
        obj.pop(path[-1], None)


class _Deleted:
    pass


_DELETED = _Deleted()


def _sweep(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _sweep(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_sweep(v) for v in node if v is not _DELETED]
    return node


def delete_jq(obj: dict[str, Any], expressions: Iterable[str]) -> dict[str, Any]:
    """``obj`` without everything the jq path expressions select."""
    for expr in expressions:
        for path in sorted(_paths(obj, _compile(expr), ()), key=len, reverse=True):
            if path:
                _delete(obj, path)
        obj = _sweep(obj)
    return obj


def managed_paths(live: dict[str, Any], managers: Iterable[str]) -> list[tuple[str, Any]]:
    """The ``fieldsV1`` trees the named managers own in ``live``."""
    wanted = set(managers)
    return [
        (str(m.get("manager")), m.get("fieldsV1") or {})
        for m in (live.get("metadata") or {}).get("managedFields") or []
        if m.get("manager") in wanted
    ]


def delete_fields(obj: Any, fields: dict[str, Any]) -> None:
    """Delete what a ``fieldsV1`` tree names from ``obj`` (leaves, keyed items, values)."""
    for raw, sub in fields.items():
        kind, _, ident = raw.partition(":")
        if kind == "f" and isinstance(obj, dict) and ident in obj:
            if sub:
                delete_fields(obj[ident], sub)
                if obj[ident] in ({}, []):
                    del obj[ident]
            else:
                del obj[ident]
        elif kind == "k" and isinstance(obj, list):
            keys = json.loads(ident)
            for item in list(obj):
                if isinstance(item, dict) and all(item.get(k) == v for k, v in keys.items()):
                    if sub and set(sub) - {"."}:
                        delete_fields(item, {k: v for k, v in sub.items() if k != "."})
                    else:
                        obj.remove(item)
                    break
        elif kind == "i" and isinstance(obj, list) and ident.isdigit() and int(ident) < len(obj):
            if sub:
                delete_fields(obj[int(ident)], sub)
        elif kind == "v" and isinstance(obj, list):
            value = json.loads(ident)
            if value in obj:
                obj.remove(value)
