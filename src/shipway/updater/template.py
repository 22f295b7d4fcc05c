"""Commit message templates: shipway's ``{placeholders}`` and the Go-template subset Flux uses.

``{images}``, ``{tags}``, ``{apps}``, ``{files}`` are replaced in any
template. Flux ``messageTemplate`` actions are evaluated for the forms its
documentation shows: ``{{ .AutomationObject }}``; ``{{ range .Updated.Images }}``,
``{{ range .Updated.Files }}`` and ``{{ range .Changed.Changes }}`` blocks
(with ``{{ . }}``, ``{{ println . }}``, ``{{ .OldValue }}``, ``{{ .NewValue }}``,
``{{ .Setter }}`` inside); ``{{-``/``-}}`` trim whitespace as in Go. Any other
action is an ``InputError`` naming it, rather than a silently wrong message.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from shipway.model.errors import InputError

_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)
_RANGES = {".Updated.Images": "images", ".Updated.Files": "files", ".Changed.Changes": "changes"}


@dataclass(frozen=True)
class ChangeData:
    old: str
    new: str
    setter: str = ""


@dataclass(frozen=True)
class Data:
    automation: str
    images: Sequence[str]
    files: Sequence[str]
    changes: Sequence[ChangeData]
    apps: Sequence[str] = ()
    tags: Sequence[str] = ()


def render(template: str, data: Data, subject: str = "") -> str:
    """Fill ``template`` from ``data``."""
    text = _placeholders(template, data)
    if "{{" not in text:
        return text
    return _go(text, data, subject)


def _placeholders(template: str, data: Data) -> str:
    values = {
        "images": ", ".join(data.images),
        "tags": ", ".join(data.tags),
        "apps": ", ".join(data.apps),
        "files": ", ".join(data.files),
    }
    return re.sub(r"(?<!\{)\{(\w+)\}(?!\})", lambda m: values.get(m[1], m[0]), template)


def _tokens(text: str) -> list[tuple[str, str]]:
    """Split into ("text", …) and ("action", …), applying ``{{-`` / ``-}}`` trimming."""
    out: list[tuple[str, str]] = []
    pos = 0
    trim_next = False
    for m in _ACTION.finditer(text):
        chunk = text[pos : m.start()]
        if trim_next:
            chunk = chunk.lstrip()
        if m[1]:
            chunk = chunk.rstrip()
        out.append(("text", chunk))
        out.append(("action", m[2]))
        trim_next = bool(m[3])
        pos = m.end()
    tail = text[pos:]
    out.append(("text", tail.lstrip() if trim_next else tail))
    return out


def _value(action: str, item: object, data: Data, subject: str) -> str:
    if action == ".AutomationObject":
        return data.automation
    if action in (".", "println ."):
        return str(item) + ("\n" if action.startswith("println") else "")
    if isinstance(item, ChangeData) and action in (".OldValue", ".NewValue", ".Setter"):
        return {".OldValue": item.old, ".NewValue": item.new, ".Setter": item.setter}[action]
    raise InputError(f"unsupported template action {{{{ {action} }}}}", subject=subject)


def _go(text: str, data: Data, subject: str) -> str:
    tokens = _tokens(text)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "text":
            out.append(value)
        elif value.startswith("range "):
            source = _RANGES.get(value[len("range ") :].strip())
            if source is None:
                raise InputError(f"unsupported template range {{{{ {value} }}}}", subject=subject)
            end = _matching_end(tokens, i, subject)
            for item in getattr(data, source):
                out.append(_body(tokens[i + 1 : end], item, data, subject))
            i = end
        else:
            out.append(_value(value, None, data, subject))
        i += 1
    return "".join(out)


def _matching_end(tokens: list[tuple[str, str]], start: int, subject: str) -> int:
    for j in range(start + 1, len(tokens)):
        if tokens[j] == ("action", "end"):
            return j
        if tokens[j][0] == "action" and tokens[j][1].startswith("range "):
            raise InputError("nested template ranges are not supported", subject=subject)
    raise InputError("template range without {{ end }}", subject=subject)


def _body(tokens: list[tuple[str, str]], item: object, data: Data, subject: str) -> str:
    return "".join(v if k == "text" else _value(v, item, data, subject) for k, v in tokens)
