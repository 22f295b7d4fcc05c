"""Tekton's ``$(...)`` variable substitution.

Pure. A reference is ``$(root.name...)`` with Tekton's spellings:
``params.x``, ``params["x"]``, ``params['x']``, then ``[*]`` (an array's
elements, only as a whole element of a list field or a whole value), ``[i]``
(one element) or ``.key`` (one key of an object). ``Vars`` maps a variable's
dotted name (``params.x``, ``tasks.t.results.r``, ``workspaces.w.path``,
``context.taskRun.name``) to a string, list or dict. A reference to a name
``Vars`` does not hold is left as written (so a script's ``$(date)`` stays),
as Tekton leaves it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Vars = Mapping[str, Any]

_REF = re.compile(r"\$\(([^()]*)\)")
_SEG = re.compile(r"""\[\s*"([^"]*)"\s*\]|\[\s*'([^']*)'\s*\]|\[(\*|\d+)\]|\.?([^.\[\]"']+)""")


@dataclass(frozen=True)
class Ref:
    """One reference: its segments (bracketed names are one segment) and ``[*]``/``[i]``."""

    text: str  # as written, ``$(...)`` included
    parts: tuple[str, ...]
    index: str | None  # "*" or digits

    @property
    def name(self) -> str:
        return ".".join(self.parts)


def parse(body: str, text: str = "") -> Ref | None:
    """The reference inside ``$(`` ``)``; None when it is not a dotted name (e.g. ``$(date)``)."""
    parts: list[str] = []
    index: str | None = None
    pos = 0
    body = body.strip()
    while pos < len(body):
        m = _SEG.match(body, pos)
        if m is None or m.end() == pos:
            return None
        quoted = m.group(1) if m.group(1) is not None else m.group(2)
        if m.group(3) is not None:
            if index is not None:
                return None
            index = m.group(3)
        elif index is not None:  # nothing but the end after [*] / [i]
            return None
        else:
            parts.append(quoted if quoted is not None else m.group(4))
        pos = m.end()
    if len(parts) < 2:
        return None
    return Ref(text or f"$({body})", tuple(parts), index)


def refs(text: str) -> Iterator[Ref]:
    """Every dotted reference in ``text``."""
    for m in _REF.finditer(text):
        ref = parse(m.group(1), m.group(0))
        if ref is not None:
            yield ref


def refs_deep(value: Any) -> Iterator[Ref]:
    if isinstance(value, str):
        yield from refs(value)
    elif isinstance(value, list):
        for v in value:
            yield from refs_deep(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from refs_deep(v)


_MISSING = object()


def lookup(ref: Ref, values: Vars) -> Any:
    """The value ``ref`` names in ``values``, or ``_MISSING``; the longest known prefix wins,
    one segment more is an object's key."""
    for cut in range(len(ref.parts), 1, -1):
        key = ".".join(ref.parts[:cut])
        if key in values:
            value = values[key]
            rest = ref.parts[cut:]
            if len(rest) > 1:
                return _MISSING
            if rest:
                if not isinstance(value, dict) or rest[0] not in value:
                    return _MISSING
                value = value[rest[0]]
            if ref.index is None or ref.index == "*":
                return value
            if isinstance(value, list) and int(ref.index) < len(value):
                return value[int(ref.index)]
            return _MISSING
    return _MISSING


def found(ref: Ref, values: Vars) -> bool:
    return lookup(ref, values) is not _MISSING


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def render(text: str, values: Vars) -> str:
    """``text`` with every known reference replaced (arrays and objects as JSON)."""

    def one(m: re.Match[str]) -> str:
        ref = parse(m.group(1), m.group(0))
        if ref is None:
            return m.group(0)
        value = lookup(ref, values)
        return m.group(0) if value is _MISSING else _text(value)

    return _REF.sub(one, text)


def whole(text: str, values: Vars) -> Any:
    """A value that is exactly one reference to an array or object becomes that value;
    anything else is rendered as a string."""
    m = _REF.fullmatch(text.strip())
    if m is not None:
        ref = parse(m.group(1), m.group(0))
        if ref is not None:
            value = lookup(ref, values)
            if isinstance(value, list | dict) and (ref.index == "*" or ref.index is None):
                return value
    return render(text, values)


def render_list(items: list[Any], values: Vars) -> list[str]:
    """A list field (``args``, ``command``, an array param): ``$(params.a[*])`` as a whole
    element becomes the array's elements."""
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            value = whole(item, values)
            if isinstance(value, list):
                out.extend(_text(v) for v in value)
                continue
            out.append(value if isinstance(value, str) else _text(value))
        else:
            out.append(_text(item))
    return out


def render_value(value: Any, values: Vars) -> Any:
    """A param value: a string (maybe a whole array/object reference), a list or a mapping."""
    if isinstance(value, str):
        return whole(value, values)
    if isinstance(value, list):
        return render_list(value, values)
    if isinstance(value, dict):
        return {k: render(v, values) if isinstance(v, str) else v for k, v in value.items()}
    return value


def render_deep(value: Any, values: Vars) -> Any:
    """Every string inside ``value`` rendered (mapping keys kept)."""
    if isinstance(value, str):
        return render(value, values)
    if isinstance(value, list):
        return [render_deep(v, values) for v in value]
    if isinstance(value, dict):
        return {k: render_deep(v, values) for k, v in value.items()}
    return value
