"""Splice new scalar values into YAML text, leaving every other byte as it was.

The text is composed (not loaded) with ruamel.yaml, which gives each node its
exact character span. An edit replaces one scalar's span, or inserts a new
``key: value`` line after a mapping's last entry with the mapping's own
indentation and the file's line ending. Quoting follows the old scalar's
style, quoting a plain value only when plain text would change its meaning.
Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shipway.model import bounded
from shipway.model.errors import InputError

_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./@+-][A-Za-z0-9_./@:+=-]*$")
_NOT_STRINGS = re.compile(
    r"^(?:[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+|"
    r"true|false|True|False|TRUE|FALSE|null|Null|NULL|~|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|y|Y|n|N|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$"
)


@dataclass(frozen=True)
class Change:
    """One scalar that changed: where, which key, from what to what."""

    file: str
    line: int
    key: str
    old: str | None
    new: str

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "key": self.key,
            "old": self.old,
            "new": self.new,
        }


@dataclass
class Text:
    """A YAML file being edited: its documents' node trees and pending splices."""

    text: str
    file: str
    docs: list[Node]
    splices: list[tuple[int, int, str]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    @property
    def newline(self) -> str:
        return "\r\n" if "\r\n" in self.text else "\n"

    def line_of(self, index: int) -> int:
        return self.text.count("\n", 0, index) + 1

    def result(self) -> str:
        out = self.text
        for start, end, new in sorted(self.splices, key=lambda s: (s[0], s[1]), reverse=True):
            out = out[:start] + new + out[end:]
        return out


def parse(text: str, file: str) -> Text:
    """Compose every document; ``InputError`` with file and line on bad YAML."""
    bounded.check_yaml(text, file)
    yaml = YAML(typ="rt")
    try:
        docs = [d for d in yaml.compose_all(text) if d is not None]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError(
            f"invalid YAML: {exc.problem or exc.context}", file=file, line=line
        ) from None
    return Text(text=text, file=file, docs=docs)


def get(mapping: Node, key: str) -> tuple[ScalarNode, Node] | None:
    """The (key node, value node) of ``key`` in a mapping node, or None."""
    if not isinstance(mapping, MappingNode):
        return None
    for k, v in mapping.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return k, v
    return None


def scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def plain_ok(value: str) -> bool:
    """True when ``value`` written plain reads back as the same string."""
    return bool(_PLAIN_SAFE.match(value)) and not _NOT_STRINGS.match(value)


def render(value: str, style: str | None) -> str:
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or not plain_ok(value):
        return json.dumps(value, ensure_ascii=False)
    return value


def replace(t: Text, key_node: ScalarNode, node: Node, value: str, label: str) -> bool:
    """Replace the scalar ``node`` with ``value``; return False when it already holds it."""
    if not isinstance(node, ScalarNode):
        raise InputError(f"{label} is not a scalar", file=t.file, line=node.start_mark.line + 1)
    old = node.value if node.end_mark.index > node.start_mark.index else None
    if old == value:
        return False
    line = node.start_mark.line + 1
    if old is None:  # an empty value: write right after the colon
        colon = t.text.index(":", key_node.end_mark.index)
        t.splices.append((colon + 1, colon + 1, " " + render(value, None)))
    else:
        t.splices.append((node.start_mark.index, node.end_mark.index, render(value, node.style)))
    t.changes.append(Change(t.file, line, label, old, value))
    return True


def _line_end(t: Text, index: int) -> int:
    """The index just past the newline of the line holding ``index`` (or the text's end)."""
    if index > 0 and t.text[index - 1] == "\n":
        return index
    nl = t.text.find("\n", index)
    return len(t.text) if nl < 0 else nl + 1


def insert_keys(
    t: Text, mapping: MappingNode, items: Iterable[tuple[str, str]], label: str
) -> None:
    """Add ``key: value`` entries at the end of a mapping, in its style and indentation."""
    pairs = list(items)
    if not pairs:
        return
    last_key, last_val = mapping.value[-1]
    if mapping.flow_style:
        close = mapping.end_mark.index - 1
        text = "".join(f", {k}: {render(v, None)}" for k, v in pairs)
        t.splices.append((close, close, text))
    else:
        at = _line_end(t, last_val.end_mark.index)
        indent = " " * last_key.start_mark.column
        nl = t.newline
        prefix = nl if at == len(t.text) and not t.text.endswith("\n") else ""
        text = prefix + "".join(f"{indent}{k}: {render(v, None)}{nl}" for k, v in pairs)
        t.splices.append((at, at, text))
    line = t.line_of(last_val.end_mark.index) + 1
    for k, v in pairs:
        t.changes.append(Change(t.file, line, f"{label}.{k}", None, v))


def append_item(t: Text, seq: SequenceNode, items: list[tuple[str, str]], label: str) -> None:
    """Append a mapping item (``- k: v`` lines) to a block sequence."""
    if seq.flow_style or not seq.value:
        body = ", ".join(f"{k}: {render(v, None)}" for k, v in items)
        if seq.value:
            close = seq.end_mark.index - 1
            t.splices.append((close, close, f", {{{body}}}"))
        else:
            t.splices.append((seq.start_mark.index, seq.end_mark.index, f"[{{{body}}}]"))
    else:
        first = seq.value[0]
        dash_col = seq.start_mark.column
        key_col = first.start_mark.column
        at = _line_end(t, seq.value[-1].end_mark.index)
        nl = t.newline
        lines = []
        for i, (k, v) in enumerate(items):
            lead = (
                " " * dash_col + "-" + " " * (key_col - dash_col - 1) if i == 0 else " " * key_col
            )
            lines.append(f"{lead}{k}: {render(v, None)}{nl}")
        prefix = nl if at == len(t.text) and not t.text.endswith("\n") else ""
        t.splices.append((at, at, prefix + "".join(lines)))
    line = t.line_of(seq.end_mark.index)
    t.changes.append(Change(t.file, line, label, None, dict(items).get("name", "")))
