"""Read YAML as GitHub, Kubernetes and Argo CD do (YAML 1.2), keeping positions.

Pure: takes text and a display name, returns plain Python data plus a
``Locator`` that maps a path of keys to ``file:line:column``. Errors are
``InputError`` with the file, line and column of the problem. The text is
first checked by ``shipway.model.bounded`` (size, nesting depth, aliases).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from shipway.model import bounded
from shipway.model.errors import InputError

PathKey = str | int


@dataclass(frozen=True)
class Located:
    """One YAML document as plain data, with the node tree kept for positions."""

    data: Any
    file: str
    line: int  # 1-based line of the document's first key
    node: Any

    def locate(self, path: Sequence[PathKey]) -> tuple[int, int]:
        """Return the 1-based (line, column) of ``path`` or of its nearest existing parent."""
        node = self.node
        line, col = self.line, 1
        for key in path:
            if isinstance(node, CommentedMap) and key in node:
                kl, kc = node.lc.key(key)
                line, col = kl + 1, kc + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
                il, ic = node.lc.item(key)
                line, col = il + 1, ic + 1
                node = node[key]
            else:
                break
        return line, col

    def where(self, path: Sequence[PathKey]) -> str:
        line, col = self.locate(path)
        return f"{self.file}:{line}:{col}"


def _plain(node: Any) -> Any:
    """Convert ruamel's commented containers to plain dicts and lists."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    yaml.allow_duplicate_keys = False
    return yaml


def load_documents(text: str, file: str) -> Iterator[Located]:
    """Yield every non-empty document in ``text``; raise ``InputError`` on bad YAML."""
    bounded.check_yaml(text, file)
    try:
        docs = list(_yaml().load_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        reason = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"invalid YAML: {reason}", file=file, line=line, column=col) from None
    except RecursionError:
        raise InputError("invalid YAML: nested too deeply", file=file) from None
    except Exception as exc:  # ruamel raises a few unmarked errors (duplicate keys, etc.)
        raise InputError(f"invalid YAML: {exc}", file=file) from None
    for doc in docs:
        if doc is None:
            continue
        line = 1
        if isinstance(doc, CommentedMap | CommentedSeq) and doc.lc.line is not None:
            line = doc.lc.line + 1
        yield Located(data=_plain(doc), file=file, line=line, node=doc)


def load_one(text: str, file: str) -> Located:
    """Load a file that must hold exactly one document."""
    docs = list(load_documents(text, file))
    if len(docs) != 1:
        raise InputError(f"expected one YAML document, found {len(docs)}", file=file)
    return docs[0]
