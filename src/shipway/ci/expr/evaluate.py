"""Evaluate parsed expressions against contexts.

Pure: ``Scope`` holds the context values plus two callbacks the engine
supplies, ``status`` (for ``success()`` and friends) and ``hash_files`` (the
only function that reads files, done by the caller).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shipway.ci.expr.lexer import ExprError
from shipway.ci.expr.parser import NAMED_VALUES, Node, parse
from shipway.ci.expr.values import (
    Filtered,
    compare,
    from_json_value,
    loose_equal,
    to_json,
    to_num,
    to_str,
    truthy,
    upper,
)


def _no_hash(_patterns: list[str]) -> str:
    raise ExprError("hashFiles is not available here")


@dataclass
class Scope:
    """Context values by (lower-case) name, and the engine's callbacks."""

    contexts: Mapping[str, Any]
    status: Callable[[str], bool] = field(default=lambda name: name in ("success", "always"))
    hash_files: Callable[[list[str]], str] = _no_hash


def get_prop(obj: Any, name: str) -> Any:
    if isinstance(obj, Filtered):
        out = Filtered()
        for item in obj:
            if _has(item, name):
                out.append(get_prop(item, name))
        return out
    if isinstance(obj, dict):
        if name in obj:
            return obj[name]
        low = name.lower()
        for k, v in obj.items():
            if k.lower() == low:
                return v
    return None


def _has(obj: Any, name: str) -> bool:
    return isinstance(obj, dict) and any(k.lower() == name.lower() for k in obj)


def _int_index(idx: Any) -> int | None:
    n = to_num(idx)
    if math.isnan(n) or math.isinf(n) or n < 0:
        return None
    return int(n)


def get_index(obj: Any, idx: Any) -> Any:
    """``obj[idx]``: arrays take a number (floored), objects take a string (any case)."""
    if isinstance(obj, Filtered):
        out = Filtered()
        for item in obj:
            if isinstance(item, dict) and _prim(idx) and _has(item, to_str(idx)):
                out.append(get_prop(item, to_str(idx)))
            elif isinstance(item, list):
                i = _int_index(idx)
                if i is not None and i < len(item):
                    out.append(item[i])
        return out
    if isinstance(obj, list):
        i = _int_index(idx)
        return obj[i] if i is not None and i < len(obj) else None
    if isinstance(obj, dict) and _prim(idx):
        return get_prop(obj, to_str(idx))
    return None


def star(obj: Any) -> Filtered:
    out = Filtered()
    if isinstance(obj, Filtered):
        for item in obj:
            if isinstance(item, list):
                out.extend(item)
            elif isinstance(item, dict):
                out.extend(item.values())
    elif isinstance(obj, list):
        out.extend(obj)
    elif isinstance(obj, dict):
        out.extend(obj.values())
    return out


def fmt(template: str, args: list[Any]) -> str:
    """``format()``: ``{N}`` placeholders, ``{{`` and ``}}`` escapes, anything else an error."""
    out: list[str] = []
    i, n = 0, len(template)
    while i < n:
        lb, rb = template.find("{", i), template.find("}", i)
        if lb >= 0 and (rb < 0 or rb > lb):
            if template[lb + 1 : lb + 2] == "{":
                out.append(template[i : lb + 1])
                i = lb + 2
                continue
            digits = 0
            while lb + 1 + digits < n and template[lb + 1 + digits] in "0123456789":
                digits += 1
            if rb > lb + 1 and digits:
                index = int(template[lb + 1 : lb + 1 + digits])
                if index >= len(args):
                    raise ExprError(
                        "The following format string references more arguments than were "
                        f"supplied: {template}"
                    )
                out.append(template[i:lb])
                out.append(to_str(args[index]))
                i = rb + 1
                continue
            raise ExprError(f"The following format string is invalid: {template}")
        if rb >= 0:
            if template[rb + 1 : rb + 2] != "}":
                raise ExprError(f"The following format string is invalid: {template}")
            out.append(template[i : rb + 1])
            i = rb + 2
            continue
        out.append(template[i:])
        break
    return "".join(out)


def _contains(search: Any, item: Any) -> bool:
    if _prim(search):
        return _prim(item) and to_str(item).lower() in to_str(search).lower()
    if isinstance(search, list):
        return any(loose_equal(item, x) for x in search)
    return False


def _affix(name: str, a: Any, b: Any) -> bool:
    if not (_prim(a) and _prim(b)):
        return False
    x, y = upper(to_str(a)), upper(to_str(b))
    return x.startswith(y) if name == "startswith" else x.endswith(y)


def _case(args: list[Any]) -> Any:
    for i in range(0, len(args) - 1, 2):
        if not isinstance(args[i], bool):
            raise ExprError("case predicate must evaluate to a boolean value")
        if args[i]:
            return args[i + 1]
    return args[-1]


def _from_json(text: str) -> Any:
    if text.strip() == "":
        raise ExprError("empty input")
    try:
        return from_json_value(json.loads(text, parse_constant=_no_constant))
    except ValueError:
        raise ExprError("Error parsing JSON when evaluating fromJson") from None


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _call(name: str, args: list[Any], scope: Scope) -> Any:
    if name == "contains":
        return _contains(args[0], args[1])
    if name in ("startswith", "endswith"):
        return _affix(name, args[0], args[1])
    if name == "format":
        return fmt(to_str(args[0]), args[1:])
    if name == "join":
        if _prim(args[0]):
            return to_str(args[0])
        if isinstance(args[0], list):
            sep = to_str(args[1]) if len(args) > 1 and _prim(args[1]) else ","
            return sep.join(to_str(x) for x in args[0])
        return ""
    if name == "tojson":
        return to_json(args[0])
    if name == "fromjson":
        return _from_json(to_str(args[0]))
    if name == "case":
        return _case(args)
    if name == "hashfiles":
        return scope.hash_files([to_str(a) for a in args])
    return scope.status(name)


def _prim(v: Any) -> bool:
    return not isinstance(v, list | dict)


def evaluate(node: Node, scope: Scope) -> Any:
    k = node.kind
    if k == "lit":
        return node.value
    if k == "ctx":
        if node.value not in scope.contexts:
            raise ExprError(f"unrecognized named-value: {node.value!r}", node.pos)
        return scope.contexts[node.value]
    if k == "prop":
        return get_prop(evaluate(node.args[0], scope), node.value)
    if k == "index":
        return get_index(evaluate(node.args[0], scope), evaluate(node.args[1], scope))
    if k == "star":
        return star(evaluate(node.args[0], scope))
    if k == "not":
        return not truthy(evaluate(node.args[0], scope))
    if k == "and":
        left = evaluate(node.args[0], scope)
        return evaluate(node.args[1], scope) if truthy(left) else left
    if k == "or":
        left = evaluate(node.args[0], scope)
        return left if truthy(left) else evaluate(node.args[1], scope)
    if k == "bin":
        a, b = evaluate(node.args[0], scope), evaluate(node.args[1], scope)
        if node.value == "==":
            return loose_equal(a, b)
        if node.value == "!=":
            return not loose_equal(a, b)
        return compare(node.value, a, b)
    if k == "call":
        return _call(node.value, [evaluate(a, scope) for a in node.args], scope)
    raise ExprError(f"unknown node {k}", node.pos)


_CACHE: dict[tuple[str, frozenset[str]], Node] = {}


def compile_expr(text: str, named: frozenset[str] = NAMED_VALUES) -> Node:
    """The parsed expression (cached); ``named``: the named-values (contexts) it may use."""
    key = (text, named)
    node = _CACHE.get(key)
    if node is None:
        node = parse(text, named)
        if len(_CACHE) < 4096:
            _CACHE[key] = node
    return node


def names(scope: Scope) -> frozenset[str]:
    """The named-values an expression evaluated in ``scope`` may use: its contexts."""
    return frozenset(scope.contexts)


def eval_text(text: str, scope: Scope) -> Any:
    """Parse (cached) and evaluate one expression."""
    return evaluate(compile_expr(text, names(scope)), scope)
