"""The plain kind of a value (nil, bool, int, float, string) and the number it stands for.

Pure, no imports beyond typing. One home for the dispatch every expression language here starts
with — Go templates, expr-lang and CI expressions — where ``bool`` must be told apart before
``int`` (Python's ``True`` is an ``int``). Each language maps these kinds to its own names.
"""

from __future__ import annotations

from typing import Any, Literal

Scalar = Literal["nil", "bool", "int", "float", "string"]


def scalar_kind(v: Any) -> Scalar | None:
    """``v``'s plain kind, or None for anything else (lists, maps, times, functions...)."""
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    return None


def plain_number(v: Any) -> float | None:
    """The number nil (0), a bool (1 or 0) or a number stands for; None for strings and the rest.

    Both Go's ``cast`` and JavaScript's ``Number()`` agree on these; they differ on strings.
    """
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return float(v)
    return None
