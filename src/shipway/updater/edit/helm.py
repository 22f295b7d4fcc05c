"""Set dotted keys (``image.tag``) in a Helm values file, keeping everything else.

A key that is not in the file is an error naming the file and the line of
the deepest parent that exists: values files are reviewed by people, and a
renamed key must not silently grow a second, unused copy. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from shipway.model.errors import InputError
from shipway.updater.edit import yamltext
from shipway.updater.edit.yamltext import Change


def _lookup(t: yamltext.Text, root: Node, dotted: str) -> tuple[Node, Node]:
    node: Node = root
    line = root.start_mark.line + 1
    key_node: Node = root
    for part in dotted.split("."):
        found = yamltext.get(node, part)
        if found is None:
            raise InputError(f"key {dotted!r} not found (no {part!r} here)", file=t.file, line=line)
        key_node, node = found
        line = key_node.start_mark.line + 1
    return key_node, node


def set_values(text: str, file: str, values: Mapping[str, str]) -> tuple[str, list[Change]]:
    """Set each dotted key to its value; ``InputError`` (file, line) for a missing key."""
    t = yamltext.parse(text, file)
    if not t.docs or not isinstance(t.docs[0], MappingNode):
        raise InputError("a values file must be a mapping", file=file, line=1)
    for dotted, value in values.items():
        key_node, node = _lookup(t, t.docs[0], dotted)
        assert isinstance(key_node, ScalarNode)
        yamltext.replace(t, key_node, node, value, dotted)
    return t.result(), t.changes
