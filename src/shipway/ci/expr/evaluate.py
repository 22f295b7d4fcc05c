"""Evaluate parsed expressions against contexts.

Pure: ``Scope`` holds the context values plus two callbacks the engine
supplies, ``status`` (for ``success()`` and friends) and ``hash_files`` (the
only function that reads files, done by the caller).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shipway.ci.expr.lexer import ExprError
from shipway.ci.expr.parser import Node, parse
from shipway.ci.expr.values import (
    Filtered,
    compare,
    from_json_value,
    loose_equal,
    to_json,
    to_num,
    to_str,
    truthy,
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


def get_index(obj: Any, idx: Any) -> Any:
    if isinstance(obj, Filtered):
        out = Filtered()
        for item in obj:
            v = get_index(item, idx)
            if v is not None:
                out.append(v)
        return out
    if isinstance(obj, list):
        if isinstance(idx, str) or idx is None or isinstance(idx, list | dict):
            return None
        n = to_num(idx)
        if math.isnan(n) or math.isinf(n):
            return None
        i = int(n)
        return obj[i] if 0 <= i < len(obj) else None
    if isinstance(obj, dict):
        if isinstance(idx, list | dict):
            return None
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


_FORMAT = re.compile(r"\{\{|\}\}|\{(\d+)\}|\{|\}")


def fmt(template: str, args: list[Any]) -> str:
    def repl(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "{{":
            return "{"
        if tok == "}}":
            return "}"
        if m.group(1) is None:
            raise ExprError(f"format: invalid format string {template!r}")
        i = int(m.group(1))
        if i >= len(args):
            raise ExprError(
                f"format: the format string references argument {i} but only {len(args)} were given"
            )
        return to_str(args[i])

    return _FORMAT.sub(repl, template)


def _contains(search: Any, item: Any) -> bool:
    if isinstance(search, list):
        return any(loose_equal(x, item) for x in search)
    return to_str(item).upper() in to_str(search).upper()


def _call(name: str, args: list[Any], scope: Scope) -> Any:
    if name == "contains":
        return _contains(args[0], args[1])
    if name == "startswith":
        a, b = args
        if _prim(a) and _prim(b):
            return to_str(a).upper().startswith(to_str(b).upper())
        return False
    if name == "endswith":
        a, b = args
        if _prim(a) and _prim(b):
            return to_str(a).upper().endswith(to_str(b).upper())
        return False
    if name == "format":
        return fmt(to_str(args[0]), args[1:])
    if name == "join":
        sep = to_str(args[1]) if len(args) > 1 else ","
        if isinstance(args[0], list):
            return sep.join(to_str(x) for x in args[0])
        return to_str(args[0])
    if name == "tojson":
        return to_json(args[0])
    if name == "fromjson":
        text = to_str(args[0])
        try:
            return from_json_value(json.loads(text))
        except ValueError as exc:
            raise ExprError(f"fromJSON: invalid JSON {text[:60]!r}: {exc}") from None
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


_CACHE: dict[str, Node] = {}


def compile_expr(text: str) -> Node:
    node = _CACHE.get(text)
    if node is None:
        node = parse(text)
        if len(_CACHE) < 4096:
            _CACHE[text] = node
    return node


def eval_text(text: str, scope: Scope) -> Any:
    """Parse (cached) and evaluate one expression."""
    return evaluate(compile_expr(text), scope)
