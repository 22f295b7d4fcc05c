"""Secret values never shown: ``++++++++`` in every diff, as Argo CD masks them. Pure.

``pair`` masks the ``data`` of a Secret on both sides of a diff: a value the
two sides share becomes ``++++++++`` on both, a value that differs
``++++++++`` on one side and ``+++++++++`` on the other, so the diff still
names every key that changed, was added or removed, but never its value.
"""

from __future__ import annotations

from typing import Any

SAME, CHANGED = "+" * 8, "+" * 9


def _data(obj: Any) -> dict[str, Any]:
    data = obj.get("data") if isinstance(obj, dict) else None
    return data if isinstance(data, dict) else {}


def pair(left: Any, right: Any) -> tuple[Any, Any]:
    """``(left, right)`` with Secret data values masked (either may be None)."""
    a, b = _data(left), _data(right)
    masked_a = {k: SAME for k in a}
    masked_b = {k: (SAME if k in a and a[k] == b[k] else CHANGED) for k in b}
    return _with(left, masked_a), _with(right, masked_b)


def _with(obj: Any, data: dict[str, str]) -> Any:
    if not isinstance(obj, dict) or "data" not in obj:
        return obj
    return {**obj, "data": data}
