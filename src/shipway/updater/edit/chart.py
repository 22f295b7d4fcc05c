"""Set dependency versions in a Helm ``Chart.yaml``, keeping comments and layout.

``set_dependency_versions`` finds each ``dependencies[]`` entry by its exact
``repository`` and ``name`` (and ``alias`` when one is given: the same chart
listed twice) and replaces its ``version`` scalar in place. An entry that is
not there, or that has no ``version`` key, is an error naming the file and
line, every such problem at once. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shipway.model.errors import InputError
from shipway.updater.edit import yamltext
from shipway.updater.edit.yamltext import Change


@dataclass(frozen=True)
class Dependency:
    """One update: the entry (``repository``, ``name``, optional ``alias``) and its version."""

    repository: str
    name: str
    version: str
    alias: str | None = None


def _deps(t: yamltext.Text) -> SequenceNode:
    if not t.docs or not isinstance(t.docs[0], MappingNode):
        raise InputError("Chart.yaml must be a mapping", file=t.file, line=1)
    found = yamltext.get(t.docs[0], "dependencies")
    if found is None or not isinstance(found[1], SequenceNode):
        raise InputError("Chart.yaml has no 'dependencies' list", file=t.file, line=1)
    return found[1]


def _matches(item: Node, dep: Dependency) -> bool:
    def val(key: str) -> str | None:
        got = yamltext.get(item, key)
        return yamltext.scalar(got[1]) if got else None

    if val("repository") != dep.repository or val("name") != dep.name:
        return False
    return dep.alias is None or val("alias") == dep.alias


def set_dependency_versions(
    text: str, file: str, deps: Sequence[Dependency]
) -> tuple[str, list[Change]]:
    """Each dependency's ``version`` set; ``InputError`` naming every entry not found."""
    t = yamltext.parse(text, file)
    seq = _deps(t)
    missing: list[str] = []
    for dep in deps:
        label = f"{dep.repository} {dep.name}" + (f" (alias {dep.alias})" if dep.alias else "")
        items = [i for i in seq.value if isinstance(i, MappingNode) and _matches(i, dep)]
        if not items:
            missing.append(f"no dependency {label}")
            continue
        for item in items:
            got = yamltext.get(item, "version")
            if got is None:
                missing.append(f"dependency {label} (line {item.start_mark.line + 1}) "
                               "has no 'version'")  # fmt: skip
                continue
            key_node, node = got
            assert isinstance(key_node, ScalarNode)
            yamltext.replace(t, key_node, node, dep.version, f"dependencies[{dep.name}].version")
    if missing:
        raise InputError("; ".join(missing), file=file, line=seq.start_mark.line + 1)
    return t.result(), t.changes
