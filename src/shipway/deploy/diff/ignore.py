"""``ignoreDifferences`` beyond JSON pointers: jq path expressions and managed fields. Pure.

jq: each ``jqPathExpressions`` entry is run by the real jq (PyPI ``jq``, the
C library) as ``del(EXPRESSION)``, as Argo CD runs it with gojq, so every
form jq has works (``.webhooks[]?.clientConfig.caBundle``, ``select``,
``..``, ``to_entries``). An expression jq cannot compile raises
``JqError`` carrying jq's own message; an expression that fails on one
object (``Cannot iterate over null``) leaves that object as it is, as Argo
CD logs and goes on. Managed fields: the fields a listed manager owns in the
live object's ``managedFields`` (``fieldsV1``: ``f:`` keys, ``k:`` keyed list
items, ``i:`` indexes, ``v:`` set values) are deleted.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

import jq  # type: ignore[import-not-found]


class JqError(ValueError):
    """A jq expression that does not compile (``expression``, jq's ``reason``)."""

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"jq expression {expression!r}: {reason}")
        self.expression, self.reason = expression, reason


@functools.lru_cache(maxsize=512)
def compile_deletion(expression: str) -> Any:
    """The compiled ``del(expression)`` (raises ``JqError``)."""
    try:
        jq.compile(expression)
        return jq.compile(f"del({expression})")
    except ValueError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        reason = lines[0].removeprefix("jq: error: ").rstrip(":") if lines else "does not compile"
        raise JqError(expression, reason) from None


def delete_jq(obj: dict[str, Any], expressions: Iterable[str]) -> dict[str, Any]:
    """``obj`` without everything the jq path expressions select."""
    for expr in expressions:
        program = compile_deletion(expr)
        try:
            out = program.input_value(obj).first()
        except (ValueError, StopIteration):  # a runtime error on this object: keep it
            continue
        if isinstance(out, dict):
            obj = out
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
            if sub and set(sub) - {"."}:
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
