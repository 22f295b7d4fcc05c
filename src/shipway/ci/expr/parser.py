"""Parse expression text into a small AST (tuples of ``Node``).

Pure. GitHub's grammar (as its ``@actions/expressions`` parser has it), loosest
first: ``||``, ``&&``, ``== !=``, ``< <= > >=``, ``!``, then postfix ``.name``,
``[index]``, ``.*`` and ``[*]`` on context names, function calls and
parenthesised expressions (not on literals). Nesting deeper than 50 is refused,
an empty expression is null, unknown named-values and functions and wrong
argument counts are found here, every error in GitHub's words.
"""

from __future__ import annotations

from collections.abc import Callable
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


MAX_DEPTH = 50
# every context a workflow expression may name (where each may be used: ci.syntax.github)
NAMED_VALUES = frozenset(
    [
        "github",
        "env",
        "vars",
        "secrets",
        "inputs",
        "matrix",
        "strategy",
        "steps",
        "job",
        "jobs",
        "needs",
        "runner",
    ]
)
_CMP = ("<", "<=", ">", ">=")


class _Parser:
    """GitHub's grammar, depth limit and error messages (``Unexpected symbol: 'x'`` ...)."""

    def __init__(self, text: str, named: frozenset[str]) -> None:
        self.toks = tokenize(text)
        self.i = 0
        self.depth = 0
        self.named = named

    def error(self, what: str, tok: Token) -> ExprError:
        return ExprError(f"{what}: '{tok.shown()}'", tok.pos, "parsing")

    def peek(self) -> Token:
        return self.toks[self.i]

    def previous(self) -> Token:
        return self.toks[self.i - 1]

    def at_end(self) -> bool:
        return self.toks[self.i].kind == "eof"

    def check(self, kind: str, *values: str) -> bool:
        tok = self.toks[self.i]
        return tok.kind == kind and (not values or tok.value in values)

    def match(self, kind: str, *values: str) -> bool:
        if self.check(kind, *values):
            self.i += 1
            return True
        return False

    def consume(self, kind: str) -> None:
        if not self.match(kind):
            raise self.error("Unexpected symbol", self.peek())

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"Exceeded max expression depth {MAX_DEPTH}", self.peek())

    def parse(self) -> Node:
        if self.at_end():
            return Node("lit", None)  # an empty expression is null
        node = self.expression()
        if not self.at_end():
            raise self.error("Unexpected symbol", self.peek())
        return node

    def expression(self) -> Node:
        self.deeper()
        node = self.or_()
        self.depth -= 1
        return node

    def or_(self) -> Node:
        return self._logical("or", "||", self.and_)

    def and_(self) -> Node:
        return self._logical("and", "&&", self.eq)

    def _logical(self, kind: str, op: str, operand: Callable[[], Node]) -> Node:
        node = operand()
        if self.check("op", op):
            self.deeper()
            while self.check("op", op):
                pos = self.peek().pos
                self.i += 1
                node = Node(kind, None, (node, operand()), pos)
            self.depth -= 1
        return node

    def eq(self) -> Node:
        node = self.cmp()
        while self.match("op", "==", "!="):
            tok = self.previous()
            node = Node("bin", tok.value, (node, self.cmp()), tok.pos)
        return node

    def cmp(self) -> Node:
        node = self.unary()
        while self.match("op", *_CMP):
            tok = self.previous()
            node = Node("bin", tok.value, (node, self.unary()), tok.pos)
        return node

    def unary(self) -> Node:
        if self.match("op", "!"):
            tok = self.previous()
            self.deeper()
            operand = self.unary()
            self.depth -= 1
            return Node("not", None, (operand,), tok.pos)
        return self.postfix()

    def postfix(self) -> Node:
        node, accessible = self.call()
        if not accessible:  # literals take no index or property, as in GitHub's parser
            return node
        added = 0
        while True:
            if self.match("["):
                pos = self.previous().pos
                if self.match("*"):
                    self.consume("]")
                    node = Node("star", None, (node,), pos)
                else:
                    idx = self.expression()
                    self.consume("]")
                    node = Node("index", None, (node, idx), pos)
                self.deeper()
                added += 1
            elif self.match("."):
                pos = self.previous().pos
                self.deeper()
                added += 1
                if self.match("ident"):
                    node = Node("prop", self.previous().value, (node,), pos)
                elif self.match("*"):
                    node = Node("star", None, (node,), pos)
                else:
                    raise self.error("Unexpected symbol", self.peek())
            else:
                break
        self.depth -= added
        return node

    def call(self) -> tuple[Node, bool]:
        if not self.check("ident"):
            return self.primary()
        name = self.peek()
        self.i += 1
        if not self.match("("):
            if name.value.lower() not in self.named:
                raise self.error("Unrecognized named-value", name)
            return Node("ctx", name.value.lower(), (), name.pos), True
        args: list[Node] = []
        while not self.match(")"):
            args.append(self.expression())
            if not self.check(")"):
                self.consume(",")
        low = name.value.lower()
        if low not in FUNCTIONS:
            raise self.error("Unrecognized function", name)
        lo, hi = FUNCTIONS[low]
        if len(args) < lo:
            raise self.error("Too few parameters supplied", name)
        if len(args) > hi:
            raise self.error("Too many parameters supplied", name)
        if low == "case" and len(args) % 2 == 0:
            raise self.error("Even number of parameters supplied, requires an odd number of "
                             "parameters", name)  # fmt: skip
        return Node("call", low, tuple(args), name.pos), True

    def primary(self) -> tuple[Node, bool]:
        tok = self.peek()
        if tok.kind in ("num", "str", "kw"):
            self.i += 1
            value = {"true": True, "false": False, "null": None}[tok.value] if tok.kind == "kw" \
                else tok.value  # fmt: skip
            return Node("lit", value, (), tok.pos), False
        if self.match("("):
            node = self.expression()
            if self.at_end():
                raise self.error("Unexpected end of expression", self.previous())
            self.consume(")")
            return node, True
        if self.at_end():
            raise self.error("Unexpected end of expression", self.previous())
        raise self.error("Unexpected symbol", tok)


def parse(text: str, named: frozenset[str] = NAMED_VALUES) -> Node:
    """Parse ``text`` (without ``${{ }}``); raise ``ExprError`` on bad syntax, or a named
    value (context) that is not in ``named``."""
    return _Parser(text, named).parse()


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
