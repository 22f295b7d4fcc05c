"""Kyverno's ``conditions`` on attestation predicates: ``{{ jmespath }}`` keys and operators.

Pure. ``key`` and ``value`` may hold ``{{ expression }}`` (JMESPath on the
predicate); Equals/NotEquals compare with ``*``/``?`` wildcards in string
values; In/AnyIn/AllIn/NotIn/AnyNotIn/AllNotIn compare lists; the ordering
operators compare numbers. A bad expression is a ``ConditionError`` naming it.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import jmespath
import jmespath.exceptions

from shipway.model import kyverno

_VAR = re.compile(r"\{\{\s*(.+?)\s*\}\}")


class ConditionError(ValueError):
    """A condition that cannot be evaluated (a bad JMESPath expression)."""


def substitute(value: Any, data: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [substitute(v, data) for v in value]
    if not isinstance(value, str):
        return value
    whole = _VAR.fullmatch(value.strip())
    try:
        if whole:
            return jmespath.search(whole.group(1), data)
        return _VAR.sub(lambda m: str(jmespath.search(m.group(1), data)), value)
    except jmespath.exceptions.JMESPathError as exc:
        raise ConditionError(f"bad expression in {value!r}: {exc}") from None


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return fnmatch.fnmatchcase(a, b) or a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ConditionError(f"{v!r} is not a number") from None


def holds(cond: kyverno.Condition, data: dict[str, Any]) -> bool:
    key = substitute(cond.key, data)
    value = substitute(cond.value, data)
    op = cond.operator
    if op == "Equals":
        return _eq(key, value)
    if op == "NotEquals":
        return not _eq(key, value)
    keys, values = _as_list(key), _as_list(value)
    inside = [any(_eq(k, v) for v in values) for k in keys]
    if op in ("In", "AllIn"):
        return all(inside)
    if op == "AnyIn":
        return any(inside)
    if op in ("NotIn", "AllNotIn"):
        return not any(inside)
    if op == "AnyNotIn":
        return not all(inside)
    a, b = _num(key), _num(value)
    return {
        "GreaterThan": a > b,
        "GreaterThanOrEquals": a >= b,
        "LessThan": a < b,
        "LessThanOrEquals": a <= b,
    }[op]


def failed(blocks: list[kyverno.ConditionBlock], data: dict[str, Any]) -> str | None:
    """None when every block holds, else a message naming the first failing condition."""
    for block in blocks:
        for cond in block.all:
            if not holds(cond, data):
                return cond.message or f"condition failed: {cond.key} {cond.operator} {cond.value}"
        if block.any and not any(holds(c, data) for c in block.any):
            first = block.any[0]
            return first.message or (
                f"no condition of any held (first: {first.key} {first.operator} {first.value})"
            )
    return None
