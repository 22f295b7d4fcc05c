"""Evaluate an expr-lang tree against an environment, as expr-lang's VM does.

Pure. Values are JSON-shaped Python plus ``GoTime``/``GoDuration`` and
callables. Names resolve to ``let`` bindings, then the environment, then
caller-supplied functions, then the builtins (``shipway.templates.exprlang.
builtins``). A runtime error raises ``ExprError`` with the position of the
node that failed. Evaluation steps and list sizes are bounded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from shipway.templates import gotypes
from shipway.templates.errors import ExprError
from shipway.templates.exprlang.parser import Node
from shipway.templates.gotime import GoDuration, GoTime, go_method

MAX_STEPS = 1_000_000
MAX_RANGE = 1_000_000


class _Short:
    """The value of an optional chain cut short by ``?.`` on nil."""


SHORT = _Short()


class Fail(Exception):
    """Raised by builtins and caller functions for a clean runtime error."""


def type_name(v: Any) -> str:
    """The Go type expr-lang names in its messages (a callable is ``func``)."""
    return gotypes.type_name(v, func="func")


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def equal(a: Any, b: Any) -> bool:
    if is_number(a) and is_number(b):
        return bool(a == b)
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if type(a) is not type(b) and not (a is None or b is None):
        return False
    return bool(a == b)


class Evaluator:
    def __init__(
        self,
        src: str,
        env: Mapping[str, Any],
        funcs: Mapping[str, Callable[..., Any]],
        builtins: Mapping[str, Callable[..., Any]],
        strict: bool,
    ) -> None:
        self.src = src
        self.env = env
        self.funcs = funcs
        self.builtins = builtins
        self.strict = strict
        self.steps = 0
        self.scopes: list[dict[str, Any]] = []

    def fail(self, msg: str, node: Node) -> ExprError:
        return ExprError(msg, source=self.src, pos=node.pos)

    def ev(self, node: Node) -> Any:
        v = self._ev(node)
        return None if v is SHORT else v

    def _ev(self, node: Node) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise self.fail(f"evaluation exceeded {MAX_STEPS} steps", node)
        k = node.kind
        if k == "lit":
            return node.value
        if k == "ident":
            return self.name(node)
        if k == "pointer":
            for scope in reversed(self.scopes):
                if node.value in scope:
                    return scope[node.value]
            raise self.fail(f"unknown pointer {node.value}", node)
        if k == "member":
            return self.member(node)
        if k == "slice":
            return self.slice(node)
        if k == "call":
            return self.call(node)
        if k == "unary":
            return self.unary(node)
        if k == "binary":
            return self.binary(node)
        if k == "cond":
            c = self.ev(node.args[0])
            if not isinstance(c, bool):
                raise self.fail(
                    f"non-bool expression (type {type_name(c)}) used as condition", node
                )
            return self.ev(node.args[1] if c else node.args[2])
        if k == "array":
            return [self.ev(a) for a in node.args]
        if k == "map":
            out: dict[Any, Any] = {}
            for i in range(0, len(node.args), 2):
                out[self.ev(node.args[i])] = self.ev(node.args[i + 1])
            return out
        if k == "let":
            self.scopes.append({node.value: self.ev(node.args[0])})
            try:
                return self.ev(node.args[1])
            finally:
                self.scopes.pop()
        raise self.fail(f"cannot evaluate {k}", node)

    def name(self, node: Node) -> Any:
        name = node.value
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name == "$env":
            return self.env
        if name in self.env:
            return self.env[name]
        if name in self.funcs:
            return self.funcs[name]
        if name in self.builtins:
            return self.builtins[name]
        if self.strict:
            raise self.fail(f"unknown name {name}", node)
        return None

    def fetch(self, obj: Any, key: Any, node: Node) -> Any:
        if isinstance(obj, Mapping):
            if key not in obj and isinstance(key, str):  # a mapping with Go methods
                m = go_method(obj, key)
                if m is not None:
                    return m
            return obj.get(key)
        if isinstance(obj, list | tuple | str):
            if not is_number(key) or (isinstance(key, float) and not key.is_integer()):
                raise self.fail(f"cannot fetch {key} from {type_name(obj)}", node)
            i = int(key)
            j = i + len(obj) if i < 0 else i
            if not 0 <= j < len(obj):
                raise self.fail(f"index out of range: {i} (array length is {len(obj)})", node)
            return obj[j]
        if isinstance(key, str):
            m = go_method(obj, key)
            if m is not None:
                return m
        raise self.fail(f"cannot fetch {key} from {type_name(obj)}", node)

    def member(self, node: Node) -> Any:
        obj = self._ev(node.args[0])
        if obj is SHORT:
            return SHORT
        if obj is None and node.optional:
            return SHORT
        key = self.ev(node.args[1])
        return self.fetch(obj, key, node)

    def slice(self, node: Node) -> Any:
        obj = self._ev(node.args[0])
        if obj is SHORT:
            return SHORT
        lo, hi = self.ev(node.args[1]), self.ev(node.args[2])
        if not isinstance(obj, list | tuple | str):
            raise self.fail(f"cannot slice {type_name(obj)}", node)
        n = len(obj)
        a = 0 if lo is None else int(lo)
        b = n if hi is None else int(hi)
        a, b = (a + n if a < 0 else a), (b + n if b < 0 else b)
        a, b = max(0, min(a, n)), max(0, min(b, n))
        out = obj[a:b] if a <= b else obj[0:0]
        return list(out) if isinstance(out, tuple) else out

    def call(self, node: Node) -> Any:
        callee = node.args[0]
        if callee.kind == "ident":
            name = callee.value
            fn = self.lookup_func(name, callee)
        else:
            fn = self._ev(callee)
            if fn is SHORT:
                return SHORT
            name = str(callee.args[1].value) if callee.kind == "member" else "function"
            if not callable(fn):
                raise self.fail(f"{name} is not callable", node)
        if getattr(fn, "takes_closures", False):
            return self.invoke(fn, name, [self.closure_or_value(a) for a in node.args[1:]], node)
        return self.invoke(fn, name, [self.ev(a) for a in node.args[1:]], node)

    def lookup_func(self, name: str, node: Node) -> Callable[..., Any]:
        for scope in reversed(self.scopes):
            if name in scope and callable(scope[name]):
                return scope[name]  # type: ignore[no-any-return]
        fn = self.funcs.get(name)
        if fn is None and callable(self.env.get(name)):
            fn = self.env[name]
        if fn is None:
            fn = self.builtins.get(name)
        if fn is None:
            raise self.fail(f"unknown func {name}", node)
        return fn

    def closure_or_value(self, node: Node) -> Any:
        if node.kind != "closure":
            return self.ev(node)
        body = node.args[0]

        def run(elem: Any, index: int = 0, acc: Any = None) -> Any:
            self.scopes.append({"#": elem, "#index": index, "#acc": acc})
            try:
                return self.ev(body)
            finally:
                self.scopes.pop()

        return run

    def invoke(self, fn: Callable[..., Any], name: str, args: list[Any], node: Node) -> Any:
        try:
            return fn(*args)
        except ExprError:
            raise
        except Fail as e:
            raise self.fail(str(e), node) from None
        except TypeError as e:
            msg = str(e)
            if "positional argument" in msg or "required" in msg:
                raise self.fail(f"invalid number of arguments to {name}", node) from None
            raise self.fail(msg, node) from None
        except RecursionError:
            raise self.fail("expression too deeply nested", node) from None
        except Exception as e:  # a caller function's own failure, reported with its position
            raise self.fail(str(e) or type(e).__name__, node) from None

    def unary(self, node: Node) -> Any:
        v = self.ev(node.args[0])
        op = node.value
        if op in ("not", "!"):
            if not isinstance(v, bool):
                raise self.fail(f"invalid operation: {op} {type_name(v)}", node)
            return not v
        if not is_number(v) and not isinstance(v, GoDuration):
            raise self.fail(f"invalid operation: {op}{type_name(v)}", node)
        if isinstance(v, GoDuration):
            return GoDuration(-v.ns if op == "-" else v.ns)
        return -v if op == "-" else v

    def mismatch(self, op: str, a: Any, b: Any, node: Node) -> ExprError:
        return self.fail(
            f"invalid operation: {op} (mismatched types {type_name(a)} and {type_name(b)})", node
        )

    def binary(self, node: Node) -> Any:
        op = node.value
        if op in ("and", "&&", "or", "||"):
            left = self.ev(node.args[0])
            if not isinstance(left, bool):
                raise self.mismatch(op, left, True, node)
            if (op in ("and", "&&")) != left:
                return left
            right = self.ev(node.args[1])
            if not isinstance(right, bool):
                raise self.mismatch(op, left, right, node)
            return right
        if op == "??":
            left = self.ev(node.args[0])
            return self.ev(node.args[1]) if left is None else left
        a, b = self.ev(node.args[0]), self.ev(node.args[1])
        return binary_op(op, a, b, lambda: self.mismatch(op, a, b, node), node, self)


def wrap_int(v: int) -> int:
    """Go's int64 overflow: wrap around."""
    return (v + 2**63) % 2**64 - 2**63


def binary_op(op: str, a: Any, b: Any, mismatch: Callable[[], ExprError], node: Node,
              ev: Evaluator) -> Any:  # fmt: skip
    if op == "==":
        return equal(a, b)
    if op == "!=":
        return not equal(a, b)
    if op in ("in", "not in"):
        if isinstance(b, Mapping):
            found = a in b
        elif isinstance(b, list | tuple):
            found = any(equal(a, x) for x in b)
        elif b is None:
            found = False
        else:
            raise ev.fail(f"operator in not defined on {type_name(b)}", node)
        return found if op == "in" else not found
    if op in ("matches", "contains", "startsWith", "endsWith"):
        if not isinstance(a, str) or not isinstance(b, str):
            raise mismatch()
        if op == "matches":
            try:
                return re.search(b, a) is not None
            except re.error as e:
                raise ev.fail(f"error parsing regexp: {e}", node) from None
        return {"contains": b in a, "startsWith": a.startswith(b), "endsWith": a.endswith(b)}[op]
    if op == "..":
        if not (isinstance(a, int) and isinstance(b, int)) or isinstance(a, bool):
            raise mismatch()
        if b - a > MAX_RANGE:
            raise ev.fail(f"range over {MAX_RANGE} elements", node)
        return list(range(a, b + 1))
    if op in ("<", ">", "<=", ">="):
        ok = (is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str))
        ok = ok or (type(a) is type(b) and isinstance(a, GoTime | GoDuration))
        if not ok:
            raise mismatch()
        x, y = (a.unix_ns, b.unix_ns) if isinstance(a, GoTime) else (a, b)
        if isinstance(a, GoDuration):
            x, y = a.ns, b.ns
        return {"<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]
    return arith(op, a, b, mismatch, node, ev)


def arith(op: str, a: Any, b: Any, mismatch: Callable[[], ExprError], node: Node,
          ev: Evaluator) -> Any:  # fmt: skip
    if isinstance(a, GoTime | GoDuration) or isinstance(b, GoDuration):
        if op == "-" and isinstance(a, GoTime) and isinstance(b, GoTime):
            return a.Sub(b)
        if op in "+-" and isinstance(a, GoTime) and isinstance(b, GoDuration):
            return a.Add(GoDuration(b.ns if op == "+" else -b.ns))
        if op in "+-" and isinstance(a, GoDuration) and isinstance(b, GoDuration):
            return GoDuration(a.ns + b.ns if op == "+" else a.ns - b.ns)
        if op == "+" and isinstance(a, GoDuration) and isinstance(b, GoTime):
            return b.Add(a)
        if op == "*" and isinstance(a, GoDuration) and is_number(b):
            return GoDuration(int(a.ns * b))
        if op == "*" and is_number(a) and isinstance(b, GoDuration):  # ``1 * time.Minute``
            return GoDuration(int(a * b.ns))
        raise mismatch()
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if op == "+" and isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return [*a, *b]
    if not (is_number(a) and is_number(b)):
        raise mismatch()
    if op in "+-*":
        r = a + b if op == "+" else (a - b if op == "-" else a * b)
        return wrap_int(r) if isinstance(r, int) else r
    if op == "/":
        if b == 0:
            return math.nan if a == 0 else math.copysign(math.inf, a)
        return a / b
    if op == "%":
        if not (isinstance(a, int) and isinstance(b, int)):
            raise mismatch()
        if b == 0:
            raise ev.fail("integer divide by zero", node)
        return int(math.fmod(a, b))
    if op in ("**", "^"):
        try:
            return float(math.pow(a, b))
        except (OverflowError, ValueError):
            return math.inf if a > 0 else math.nan
    raise mismatch()
