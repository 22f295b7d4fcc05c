"""Execute a parsed Go template against Python data, as text/template's exec does.

Pure: writes to an in-memory buffer only. Data is JSON-shaped Python (dict,
list, str, int, float, bool, None) plus ``GoTime``/``GoDuration`` and
callables. Missing map keys follow the ``missingkey`` option: ``default``
(and ``invalid``) and ``zero`` print ``<no value>`` as Go does for
``map[string]interface{}``; ``error`` stops with ``map has no entry for key``.

Execution is bounded: output size, template call depth and evaluation steps
are limited (``Limits``) so a user's template cannot exhaust memory or time.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shipway.templates.errors import TemplateError
from shipway.templates.gotemplate import gofmt
from shipway.templates.gotemplate import nodes as n
from shipway.templates.gotemplate.parser import position
from shipway.templates.gotime import go_method


class _Missing:
    """Go's invalid reflect.Value: what a missing map key yields; prints ``<no value>``."""

    _inst: _Missing | None = None

    def __repr__(self) -> str:
        return "<no value>"


MISSING = _Missing()
_NO_FINAL = object()


class FuncError(Exception):
    """Raised by a template function: becomes ``error calling NAME: MESSAGE``."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on one execution."""

    max_output: int = 4 * 1024 * 1024
    max_depth: int = 64
    max_steps: int = 2_000_000


@dataclass(slots=True)
class Tree:
    """One named template: its body and the text it was parsed from."""

    name: str
    root: n.ListNode
    parse_name: str
    text: str


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Abort(Exception):
    def __init__(self, err: TemplateError) -> None:
        self.err = err


@functools.lru_cache(maxsize=4096)
def arity(fn: Callable[..., Any]) -> tuple[int, int | None]:
    """(minimum, maximum or None for variadic) positional arguments of a function."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return 0, None
    lo, hi = 0, 0
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return lo, None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            hi += 1
            if p.default is p.empty:
                lo += 1
    return lo, hi


def unmissing(v: Any) -> Any:
    """What a function parameter receives for a value: nil for a missing one."""
    return None if v is MISSING else v


class State:
    """The state of one execution: output, variables, current node, budgets."""

    def __init__(
        self,
        trees: Mapping[str, Tree],
        funcs: Mapping[str, Callable[..., Any]],
        missingkey: str,
        limits: Limits,
    ) -> None:
        self.trees = trees
        self.funcs = funcs
        self.missingkey = missingkey
        self.limits = limits
        self.out: list[str] = []
        self.size = 0
        self.steps = 0
        self.depth = 0
        self.tree: Tree | None = None
        self.node: n.Node | None = None
        self.vars: list[list[Any]] = []

    # -- errors and output
    def fail(self, msg: str) -> _Abort:
        tree = self.tree
        assert tree is not None
        if self.node is None:
            return _Abort(TemplateError(f"template: {tree.name}: {msg}", template=tree.name,
                                        line=0, column=0, phase="exec"))  # fmt: skip
        line, col = position(tree.text, self.node.pos)
        text = (
            f"template: {tree.parse_name}:{line}:{col}: executing "
            f"{gofmt.go_quote(tree.name)} at <{self.node}>: {msg}"
        )
        err = TemplateError(text, template=tree.name, line=line, column=col, phase="exec")
        return _Abort(err)

    def write(self, s: str) -> None:
        self.size += len(s)
        if self.size > self.limits.max_output:
            raise self.fail(f"output exceeds {self.limits.max_output} characters")
        self.out.append(s)

    def tick(self) -> None:
        self.steps += 1
        if self.steps > self.limits.max_steps:
            raise self.fail(f"exceeded {self.limits.max_steps} evaluation steps")

    # -- variables
    def var_value(self, name: str) -> Any:
        for v in reversed(self.vars):
            if v[0] == name:
                return v[1]
        raise self.fail(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        for v in reversed(self.vars):
            if v[0] == name:
                v[1] = value
                return
        raise self.fail(f"undefined variable: {name}")

    # -- walking
    def run(self, tree: Tree, dot: Any) -> str:
        self.tree = tree
        self.vars = [["$", dot]]
        try:
            self.walk(dot, tree.root)
        except _Abort as a:
            raise a.err from None
        except RecursionError:
            err = self.fail(f"exceeded maximum template depth ({self.limits.max_depth})").err
            raise err from None
        return "".join(self.out)

    def walk(self, dot: Any, node: n.Node) -> None:
        self.tick()
        self.node = node
        if isinstance(node, n.TextNode):
            self.write(node.text)
        elif isinstance(node, n.ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, n.ActionNode):
            assert node.pipe is not None
            val = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.node = node
                self.write(self.print_value(val))
        elif isinstance(node, n.BranchNode):
            if node.kind == "range":
                self.walk_range(dot, node)
            else:
                self.walk_if_with(dot, node)
        elif isinstance(node, n.TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, n.BreakNode):
            raise _Break
        elif isinstance(node, n.ContinueNode):
            raise _Continue

    def print_value(self, v: Any) -> str:
        if v is MISSING or v is None:
            return "<no value>"
        if callable(v) and not isinstance(v, type):
            raise self.fail(f"can't print {self.node} of type {gofmt.type_name(v)}")
        return gofmt.sprint_value(v)

    def walk_if_with(self, dot: Any, node: n.BranchNode) -> None:
        mark = len(self.vars)
        assert node.pipe is not None and node.list is not None
        val = self.eval_pipeline(dot, node.pipe)
        try:
            if val is not MISSING and gofmt.is_true(val):
                self.walk(val if node.kind == "with" else dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: Any, node: n.BranchNode) -> None:
        mark = len(self.vars)
        assert node.pipe is not None and node.list is not None
        self.node = node
        val = self.eval_pipeline(dot, node.pipe)
        body_mark = len(self.vars)
        pipe = node.pipe

        def one(index: Any, elem: Any) -> None:
            if pipe.decl:
                if pipe.is_assign:
                    names = [d.ident[0] for d in pipe.decl]
                    if len(names) > 1:
                        self.set_var(names[0], index)
                    self.set_var(names[-1], elem)
                else:
                    self.vars[body_mark - 1][1] = elem
                    if len(pipe.decl) > 1:
                        self.vars[body_mark - 2][1] = index
            try:
                self.walk(elem, node.list)  # type: ignore[arg-type]
            except _Continue:
                pass
            finally:
                del self.vars[body_mark:]

        items: list[tuple[Any, Any]] | None = None
        if isinstance(val, list | tuple):
            items = list(enumerate(val))
        elif isinstance(val, Mapping):
            items = [(k, val[k]) for k in gofmt.sorted_keys(val)]
        elif isinstance(val, int) and not isinstance(val, bool):
            if len(pipe.decl) > 1:
                raise self.fail(f"can't use {val} to iterate over more than one variable")
            items = [(i, i) for i in range(min(val, self.limits.max_steps + 1))]
        elif val is None or val is MISSING:
            items = []
        if items is None:
            raise self.fail(f"range can't iterate over {gofmt.sprint_value(val)}")
        try:
            if items:
                try:
                    for index, elem in items:
                        one(index, elem)
                except _Break:
                    pass
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_template(self, dot: Any, node: n.TemplateNode) -> None:
        tree = self.trees.get(node.name)
        if tree is None:
            raise self.fail(f"template {gofmt.go_quote(node.name)} not defined")
        if self.depth >= self.limits.max_depth:
            raise self.fail(f"exceeded maximum template depth ({self.limits.max_depth})")
        new_dot = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else MISSING
        saved = (self.tree, self.vars)
        self.depth += 1
        self.tree, self.vars = tree, [["$", new_dot]]
        try:
            self.walk(new_dot, tree.root)
        finally:
            self.depth -= 1
            self.tree, self.vars = saved

    # -- evaluation
    def eval_pipeline(self, dot: Any, pipe: n.PipeNode) -> Any:
        self.node = pipe
        value: Any = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for d in pipe.decl:
            if pipe.is_assign:
                self.set_var(d.ident[0], value)
            else:
                self.vars.append([d.ident[0], value])
        return value

    def not_a_function(self, args: list[n.Node], final: Any) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            raise self.fail(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: n.CommandNode, final: Any) -> Any:
        self.tick()
        first = cmd.args[0]
        if isinstance(first, n.FieldNode):
            self.node = first
            return self.eval_chain(dot, dot, first, first.ident, cmd.args, final)
        if isinstance(first, n.ChainNode):
            self.node = first
            if isinstance(first.node, n.NilNode):
                raise self.fail(f"indirection through explicit nil in {first}")
            assert first.node is not None
            recv = self.eval_arg(dot, first.node)
            return self.eval_chain(dot, recv, first, first.fields, cmd.args, final)
        if isinstance(first, n.IdentifierNode):
            self.node = first
            fn = self.funcs.get(first.name)
            if fn is None:
                raise self.fail(f'"{first.name}" is not a defined function')
            return self.eval_call(dot, fn, cmd, first.name, cmd.args[1:], final)
        if isinstance(first, n.PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, n.VariableNode):
            self.node = first
            value = self.var_value(first.ident[0])
            if len(first.ident) == 1:
                self.not_a_function(cmd.args, final)
                return value
            return self.eval_chain(dot, value, first, first.ident[1:], cmd.args, final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if isinstance(first, n.NilNode):
            raise self.fail("nil is not a command")
        return self.constant(dot, first)

    def constant(self, dot: Any, node: n.Node) -> Any:
        if isinstance(node, n.BoolNode):
            return node.value
        if isinstance(node, n.DotNode):
            return dot
        if isinstance(node, n.NumberNode):
            return node.value
        if isinstance(node, n.StringNode):
            return node.value
        if isinstance(node, n.NilNode):
            return None
        raise self.fail(f"can't handle {node}")

    def eval_chain(
        self, dot: Any, recv: Any, node: n.Node, ident: list[str], args: list[n.Node], final: Any
    ) -> Any:
        for name in ident[:-1]:
            recv = self.eval_field(dot, name, node, [], _NO_FINAL, recv)
        return self.eval_field(dot, ident[-1], node, args, final, recv)

    def eval_field(
        self, dot: Any, name: str, node: n.Node, args: list[n.Node], final: Any, recv: Any
    ) -> Any:
        self.node = node
        if recv is MISSING:
            if self.missingkey == "error":
                raise self.fail(f"nil data; no entry for key {gofmt.go_quote(name)}")
            return MISSING
        method = go_method(recv, name)
        if method is not None:
            return self.eval_call(dot, method, node, name, args[1:], final)
        has_args = len(args) > 1 or final is not _NO_FINAL
        if isinstance(recv, Mapping):
            if has_args:
                raise self.fail(f"{name} is not a method but has arguments")
            if name in recv:
                return recv[name]
            if self.missingkey == "error":
                raise self.fail(f"map has no entry for key {gofmt.go_quote(name)}")
            return MISSING
        if recv is None:
            raise self.fail(f"nil pointer evaluating interface {{}}.{name}")
        raise self.fail(f"can't evaluate field {name} in type {gofmt.type_name(recv)}")

    def eval_arg(self, dot: Any, node: n.Node) -> Any:
        self.node = node
        if isinstance(node, n.FieldNode):
            return unmissing(self.eval_chain(dot, dot, node, node.ident, [node], _NO_FINAL))
        if isinstance(node, n.VariableNode):
            value = self.var_value(node.ident[0])
            if len(node.ident) > 1:
                value = self.eval_chain(dot, value, node, node.ident[1:], [node], _NO_FINAL)
            return unmissing(value)
        if isinstance(node, n.PipeNode):
            return unmissing(self.eval_pipeline(dot, node))
        if isinstance(node, n.ChainNode):
            assert node.node is not None
            if isinstance(node.node, n.NilNode):
                raise self.fail(f"indirection through explicit nil in {node}")
            recv = self.eval_arg(dot, node.node)
            return unmissing(self.eval_chain(dot, recv, node, node.fields, [node], _NO_FINAL))
        if isinstance(node, n.IdentifierNode):
            fn = self.funcs.get(node.name)
            if fn is None:
                raise self.fail(f'"{node.name}" is not a defined function')
            return unmissing(self.eval_call(dot, fn, node, node.name, [], _NO_FINAL))
        return unmissing(self.constant(dot, node))

    def eval_call(
        self,
        dot: Any,
        fn: Callable[..., Any],
        node: n.Node,
        name: str,
        args: list[n.Node],
        final: Any,
    ) -> Any:
        lazy = getattr(fn, "lazy_args", False)
        if lazy:  # and / or: evaluate arguments one at a time, stop at the answer
            thunks: list[Callable[[], Any]] = [
                functools.partial(self.eval_arg, dot, a) for a in args
            ]
            if final is not _NO_FINAL:
                thunks.append(lambda: unmissing(final))
            if not thunks:
                raise self.fail(f"wrong number of args for {name}: want at least 1 got 0")
            self.node = node
            return fn(*thunks)
        argv = [self.eval_arg(dot, a) for a in args]
        if final is not _NO_FINAL:
            argv.append(unmissing(final))
        lo, hi = arity(fn)
        self.node = node
        if hi is None and len(argv) < lo:
            raise self.fail(f"wrong number of args for {name}: want at least {lo} got {len(argv)}")
        if hi is not None and not lo <= len(argv) <= hi:
            raise self.fail(f"wrong number of args for {name}: want {hi} got {len(argv)}")
        try:
            return fn(*argv)
        except (_Abort, _Break, _Continue):
            raise
        except TemplateError as e:
            raise self.fail(f"error calling {name}: {e}") from None
        except RecursionError:
            raise
        except Exception as e:  # a function's own failure, reported as Go does
            raise self.fail(f"error calling {name}: {_reason(e)}") from None


def _reason(e: Exception) -> str:
    if isinstance(e, KeyError):
        return f"no entry for key {e.args[0]!r}" if e.args else "missing key"
    return str(e) or type(e).__name__
