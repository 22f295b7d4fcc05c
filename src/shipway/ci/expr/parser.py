"""Parse expression text into a small AST (tuples of ``Node``).

Pure. Grammar, loosest first: ``||``, ``&&``, ``== !=``, ``< <= > >=``, ``!``,
then postfix ``.name``, ``[index]``, ``.*`` and ``[*]`` on literals, context
names, function calls and parenthesised expressions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipway.ci.expr.lexer import ExprError, Token, tokenize

FUNCTIONS: dict[str, tuple[int, int]] = {
    "contains": (2, 2),
    "startswith": (2, 2),
    "endswith": (2, 2),
    "format": (1, 255),
    "join": (1, 2),
    "tojson": (1, 1),
    "fromjson": (1, 1),
    "hashfiles": (1, 255),
    "success": (0, 0),
    "always": (0, 0),
    "cancelled": (0, 0),
    "failure": (0, 0),
    "case": (3, 10_000),
}
STATUS_FUNCTIONS = frozenset({"success", "always", "cancelled", "failure"})


@dataclass(frozen=True, slots=True)
class Node:
    """``kind`` is lit, ctx, prop, index, star, not, bin, and, or, call."""

    kind: str
    value: Any = None
    args: tuple[Node, ...] = ()
    pos: int = 0


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, kind: str) -> Token:
        tok = self.take()
        if tok.kind != kind:
            raise ExprError(f"expected {kind!r} but found {_show(tok)}", tok.pos)
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "eof":
            raise ExprError("empty expression", 0)
        node = self.or_()
        tok = self.peek()
        if tok.kind != "eof":
            raise ExprError(f"unexpected {_show(tok)}", tok.pos)
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.peek().value == "||" and self.peek().kind == "op":
            pos = self.take().pos
            node = Node("or", None, (node, self.and_()), pos)
        return node

    def and_(self) -> Node:
        node = self.eq()
        while self.peek().value == "&&" and self.peek().kind == "op":
            pos = self.take().pos
            node = Node("and", None, (node, self.eq()), pos)
        return node

    def eq(self) -> Node:
        node = self.cmp()
        while self.peek().kind == "op" and self.peek().value in ("==", "!="):
            tok = self.take()
            node = Node("bin", tok.value, (node, self.cmp()), tok.pos)
        return node

    def cmp(self) -> Node:
        node = self.unary()
        while self.peek().kind == "op" and self.peek().value in ("<", "<=", ">", ">="):
            tok = self.take()
            node = Node("bin", tok.value, (node, self.unary()), tok.pos)
        return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.value == "!":
            self.take()
            return Node("not", None, (self.unary(),), tok.pos)
        return self.postfix(self.primary())

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind in ("num", "str"):
            return Node("lit", tok.value, (), tok.pos)
        if tok.kind == "(":
            node = self.or_()
            self.expect(")")
            return node
        if tok.kind == "kw":
            return Node("lit", {"true": True, "false": False, "null": None}[tok.value], (), tok.pos)
        if tok.kind == "ident":
            if self.peek().kind == "(":
                return self.call(tok)
            return Node("ctx", tok.value.lower(), (), tok.pos)
        raise ExprError(f"unexpected {_show(tok)}", tok.pos)

    def call(self, name: Token) -> Node:
        low = name.value.lower()
        if low not in FUNCTIONS:
            raise ExprError(f"unknown function {name.value!r}", name.pos)
        self.expect("(")
        args: list[Node] = []
        if self.peek().kind != ")":
            args.append(self.or_())
            while self.peek().kind == ",":
                self.take()
                args.append(self.or_())
        self.expect(")")
        lo, hi = FUNCTIONS[low]
        if low == "case" and len(args) % 2 == 0:
            raise ExprError("function 'case' takes an odd number of arguments", name.pos)
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise ExprError(
                f"function {name.value!r} takes {want} arguments, got {len(args)}", name.pos
            )
        return Node("call", low, tuple(args), name.pos)

    def postfix(self, node: Node) -> Node:
        while True:
            tok = self.peek()
            if tok.kind == ".":
                self.take()
                nxt = self.take()
                if nxt.kind == "*":
                    node = Node("star", None, (node,), tok.pos)
                elif nxt.kind == "ident":
                    node = Node("prop", nxt.value, (node,), tok.pos)
                else:
                    raise ExprError(
                        f"expected a property name after '.', found {_show(nxt)}", nxt.pos
                    )
            elif tok.kind == "[":
                self.take()
                if self.peek().kind == "*":
                    self.take()
                    self.expect("]")
                    node = Node("star", None, (node,), tok.pos)
                else:
                    idx = self.or_()
                    self.expect("]")
                    node = Node("index", None, (node, idx), tok.pos)
            else:
                return node


def _show(tok: Token) -> str:
    if tok.kind == "eof":
        return "end of expression"
    return repr(tok.value)


def parse(text: str) -> Node:
    """Parse ``text`` (without ``${{ }}``); raise ``ExprError`` on bad syntax."""
    return _Parser(text).parse()


def contexts_used(node: Node) -> set[str]:
    """Names of the contexts an expression reads."""
    found: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n.kind == "ctx":
            found.add(n.value)
        stack.extend(n.args)
    return found


def functions_used(node: Node) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n.kind == "call":
            found.add(n.value)
        stack.extend(n.args)
    return found
