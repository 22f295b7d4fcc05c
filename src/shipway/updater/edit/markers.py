"""Flux setter markers in any YAML: ``# {"$imagepolicy": "NAMESPACE:NAME[:tag|:name|:digest]"}``.

A marker sits in the comment after a scalar and names the ImagePolicy whose
pick replaces that scalar: the whole reference (``name:tag``, or
``name:tag@digest`` when the policy pins digests), or only its tag, name or
digest. A marker that is not valid JSON, names no policy, or follows no
scalar is an ``InputError`` with the file and line. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shipway.model.errors import InputError
from shipway.updater.edit import yamltext
from shipway.updater.edit.yamltext import Change

_COMMENT = re.compile(r"#\s*(\{.*\$imagepolicy.*\})\s*$")
_TARGET = re.compile(r"^([^:\s]+):([^:\s]+)(?::(tag|name|digest))?$")


@dataclass(frozen=True)
class Marker:
    line: int
    policy: str  # "namespace:name"
    field: str  # "image", "tag", "name" or "digest"


@dataclass(frozen=True)
class Pick:
    """What a policy chose: ``image`` is the name (no tag), ``digest`` may be empty."""

    image: str
    tag: str
    digest: str = ""
    pin_digest: bool = False

    def value(self, field: str) -> str:
        if field == "tag":
            return self.tag
        if field == "name":
            return self.image
        if field == "digest":
            return self.digest
        ref = f"{self.image}:{self.tag}"
        return f"{ref}@{self.digest}" if self.pin_digest and self.digest else ref


def _parse_marker(comment: str, file: str, line: int) -> Marker:
    try:
        data = json.loads(comment)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"malformed $imagepolicy marker: {exc.msg}", file=file, line=line
        ) from None
    target = data.get("$imagepolicy") if isinstance(data, dict) else None
    m = _TARGET.match(target) if isinstance(target, str) else None
    if m is None:
        raise InputError(
            f'malformed $imagepolicy marker: expected "NAMESPACE:NAME[:tag|:name|:digest]", '
            f"got {target!r}",
            file=file,
            line=line,
        )
    return Marker(line=line, policy=f"{m[1]}:{m[2]}", field=m[3] or "image")


def find(text: str, file: str) -> list[Marker]:
    """Every marker in the text, in order (no check that a scalar precedes it)."""
    out = []
    for i, raw in enumerate(text.splitlines(), start=1):
        if "$imagepolicy" not in raw:
            continue
        m = _COMMENT.search(raw)
        if m is None:
            raise InputError("malformed $imagepolicy marker: not a JSON comment", file=file, line=i)
        out.append(_parse_marker(m[1], file, i))
    return out


def _scalars(
    node: Node, key: ScalarNode | None = None
) -> Iterator[tuple[ScalarNode | None, ScalarNode]]:
    if isinstance(node, ScalarNode):
        yield key, node
    elif isinstance(node, MappingNode):
        for k, v in node.value:
            yield from _scalars(v, k if isinstance(k, ScalarNode) else None)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _scalars(item, None)


def apply(text: str, file: str, picks: Mapping[str, Pick]) -> tuple[str, list[Change]]:
    """Rewrite the scalars whose markers name a policy in ``picks``; others stay."""
    markers = find(text, file)
    if not markers:
        return text, []
    t = yamltext.parse(text, file)
    by_line: dict[int, tuple[ScalarNode | None, ScalarNode]] = {}
    for doc in t.docs:
        for key, node in _scalars(doc):
            by_line.setdefault(node.end_mark.line + 1, (key, node))
    for mk in markers:
        if mk.policy not in picks:
            continue
        found = by_line.get(mk.line)
        if found is None:
            raise InputError(
                f"$imagepolicy marker for {mk.policy} follows no value on its line",
                file=file,
                line=mk.line,
            )
        key, node = found
        label = key.value if key is not None else f"line {mk.line}"
        new = picks[mk.policy].value(mk.field)
        if not new:
            raise InputError(
                f"policy {mk.policy} has no {mk.field} to write", file=file, line=mk.line
            )
        if key is not None:
            yamltext.replace(t, key, node, new, label)
        elif node.value != new:  # a sequence item: no key to anchor an empty value
            span = (node.start_mark.index, node.end_mark.index)
            t.splices.append((*span, yamltext.render(new, node.style)))
            t.changes.append(Change(file, mk.line, label, node.value, new))
    return t.result(), t.changes
