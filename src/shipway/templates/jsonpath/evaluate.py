"""Evaluating parsed kubectl JSONPath over JSON data, and printing results as kubectl does.

Pure. Data is Python as decoded from JSON: dict (Go's ``map[string]interface {}``,
visited in sorted key order), list, str, int (``int64``), float (``float64``),
bool and None (a JSON null). Missing keys print nothing (kubectl's
``--allow-missing-template-keys`` default); an index out of range, a filter
comparing a number with a string, ``end`` outside ``range`` are ``ExecError`` s
with kubectl's reasons. Results print as kubectl prints them: strings as they
are, numbers in Go's ``%v``, maps and lists as compact JSON (Go's
``json.Marshal``), several results of one action separated by a space.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from shipway.templates.gojson import go_json
from shipway.templates.gotemplate.gofmt import format_float, sprint_value
from shipway.templates.jsonpath import parser as p
from shipway.templates.kinds import Scalar, scalar_kind


class ExecError(ValueError):
    """Evaluation failed; the message is kubectl's reason."""


class Byte(int):
    """A byte of a string, as Go's indexing of a string yields it (``uint8``)."""


_MISSING = object()
_SCALAR_NAMES: dict[Scalar, str] = {
    "nil": "interface {}",
    "bool": "bool",
    "int": "int64",
    "float": "float64",
    "string": "string",
}


def type_name(v: Any) -> str:
    """The Go type of a decoded JSON value, as kubectl's errors name it."""
    if isinstance(v, Mapping):
        return "map[string]interface {}"
    if isinstance(v, list):
        return "[]interface {}"
    if isinstance(v, Byte):
        return "uint8"
    kind = scalar_kind(v)
    return "interface {}" if kind is None else _SCALAR_NAMES[kind]


def _children(v: Any) -> list[Any]:
    """What ``*`` and ``..`` visit: map values by key, list items, a string's bytes."""
    if isinstance(v, Mapping):
        return [v[k] for k in sorted(v)]
    if isinstance(v, list):
        return list(v)
    if isinstance(v, str):
        return [Byte(b) for b in v.encode("utf-8")]
    return []


class Evaluator:
    """One execution of a template (``range`` depth is its state)."""

    def __init__(self, root: p.ListNode) -> None:
        self.root = root
        self.depth = 0

    def find(self, data: Any) -> list[list[Any]]:
        """kubectl's ``FindResults``: one list of values per printed action."""
        out: list[list[Any]] = []
        self._run(0, data, out)
        return out

    def _run(self, start: int, data: Any, out: list[list[Any]]) -> int:
        """Run the top-level nodes from ``start`` on ``data``; the index after its ``end``."""
        nodes = self.root.nodes
        i = start
        while i < len(nodes):
            node = nodes[i]
            names = _identifiers(node)
            results = self.walk([data], node)
            if "end" in names:
                return i + 1
            if "range" in names:
                self.depth += 1
                after = len(nodes)
                # no results: the body still runs (to find its end), printing nothing
                into: list[list[Any]] = out if results else []
                for value in results or [None]:
                    after = self._run(i + 1, value, into)
                self.depth -= 1
                i = after
                continue
            out.append(results)
            i += 1
        return i

    # -- the nodes -----------------------------------------------------------------------

    def walk(self, values: list[Any], node: p.Node) -> list[Any]:
        if isinstance(node, p.ListNode):
            for child in node.nodes:
                values = self.walk(values, child)
            return values
        if isinstance(node, p.Text):
            return [node.text]
        if isinstance(node, p.Int | p.Float | p.Bool):
            return [node.value for _ in values]
        if isinstance(node, p.Field):
            return self._field(values, node.name)
        if isinstance(node, p.Array):
            return self._array(values, node.params)
        if isinstance(node, p.Filter):
            return self._filter(values, node)
        if isinstance(node, p.Wildcard):
            return [c for v in values if v is not None for c in _children(v)]
        if isinstance(node, p.Recursive):
            return list(_recursive(values))
        if isinstance(node, p.Union):
            return [r for alt in node.alternatives for r in self.walk(values, alt)]
        return self._identifier(values, node)

    def _identifier(self, values: list[Any], node: p.Identifier) -> list[Any]:
        if node.name == "range":
            return values
        if node.name == "end":
            if self.depth > 0:
                return []
            raise ExecError("not in range, nothing to end")
        raise ExecError(f"unrecognized identifier {node.name}")

    def _field(self, values: list[Any], name: str) -> list[Any]:
        found = []
        for v in values:
            if isinstance(v, Mapping) and (got := v.get(name, _MISSING)) is not _MISSING:
                found.append(got)
        return found

    def _array(self, values: list[Any], params: tuple[p.Param, p.Param, p.Param]) -> list[Any]:
        result: list[Any] = []
        for v in values:
            if v is None:
                continue
            if not isinstance(v, list):
                raise ExecError(f"{type_name(v)} is not array or slice")
            n = len(v)
            start = params[0].value if params[0].known else 0
            if start < 0:
                start += n
            end = params[1].value if params[1].known else n
            if end < 0 or (end == 0 and params[1].derived):
                end += n
            if end == start:  # zero elements asked for: kubectl stops here
                return result
            if start >= n or start < 0:
                raise ExecError(f"array index out of bounds: index {start}, length {n}")
            if end > n or end < 0:
                raise ExecError(f"array index out of bounds: index {end - 1}, length {n}")
            if start > end:
                raise ExecError(f"starting index {start} is greater than ending index {end}")
            step = 1
            if params[2].known:
                if params[2].value <= 0:
                    raise ExecError("step must be > 0")
                step = params[2].value
            result.extend(v[start:end:step])
        return result

    def _filter(self, values: list[Any], node: p.Filter) -> list[Any]:
        result: list[Any] = []
        for v in values:
            if not isinstance(v, list):
                shown = "<nil>" if v is None else sprint_value(v)
                raise ExecError(f"{shown} is not array or slice and cannot be filtered")
            for item in v:
                if node.op == "exists":
                    try:
                        found = bool(self.walk([item], node.left))
                    except ExecError:  # kubectl ignores it, and its partial result is there
                        found = True
                    if found:
                        result.append(item)
                    continue
                lefts = self.walk([item], node.left)
                if not lefts:
                    continue
                if len(lefts) > 1:
                    raise ExecError("can only compare one element at a time")
                rights = self.walk([item], node.right)
                if not rights:
                    continue
                if len(rights) > 1:
                    raise ExecError("can only compare one element at a time")
                if compare(node.op, lefts[0], rights[0]):
                    result.append(item)
        return result


def _identifiers(node: p.Node) -> set[str]:
    if isinstance(node, p.ListNode):
        return {n.name for n in node.nodes if isinstance(n, p.Identifier)}
    return set()


def _recursive(values: list[Any]) -> Iterator[Any]:
    """Each value that has children, then its descendants (depth first, as kubectl)."""
    for v in values:
        if v is None:
            continue
        kids = _children(v)
        if kids:
            yield v
            yield from _recursive(kids)


# -- comparisons (Go's text/template eq/lt, as client-go's fork has them) ----------------


def _kind(v: Any) -> str:
    if isinstance(v, Byte):
        return "uint"
    kind = scalar_kind(v)
    if kind is None or kind == "nil":
        raise ExecError("invalid type for comparison")
    return kind


def _equal(a: Any, b: Any) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka != kb and {ka, kb} != {"int", "uint"}:
        raise ExecError("incompatible types for comparison")
    return bool(a == b)


def _less(a: Any, b: Any) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka != kb and {ka, kb} != {"int", "uint"}:
        raise ExecError("incompatible types for comparison")
    if ka == "bool":
        raise ExecError("invalid type for comparison")
    return bool(a < b)


def compare(op: str, a: Any, b: Any) -> bool:
    """A filter's ``a OP b``; kubectl's errors for types it cannot compare."""
    if op == "==":
        return _equal(a, b)
    if op == "!=":
        return not _equal(a, b)
    if op == "<":
        return _less(a, b)
    if op == "<=":
        return _less(a, b) or _equal(a, b)
    if op == ">":
        return not (_less(a, b) or _equal(a, b))
    if op == ">=":
        return not _less(a, b)
    raise ExecError(f"unrecognized filter operator {op}")


# -- printing ----------------------------------------------------------------------------


def text(v: Any) -> str:
    """One result as kubectl's jsonpath printer writes it."""
    if isinstance(v, Mapping | list):
        return go_json(v)
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return format_float(v)
    return str(v)


def print_results(results: list[list[Any]], as_json: bool = False) -> str:
    """The results of ``find``, as ``-o jsonpath`` (or ``-o jsonpath-as-json``) prints them."""
    if as_json:
        return "".join(go_json(list(r), indent="    ") + "\n" for r in results)
    return "".join(" ".join(text(v) for v in r) for r in results)
