"""Parse expr-lang text into a tree, with the operator precedences of its language definition.

Pure. ``parse(src)`` returns a ``Node``; a syntax error raises ``ExprError`` in
expr-lang's words (``unexpected token Operator(")") (1:5)``). The second
argument of the predicate builtins (``all``, ``filter``, ``map``, ...) is a
closure: ``{# > 1}`` or a bare ``# > 1``; ``.Field`` there means ``#.Field``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipway.templates.errors import ExprError
from shipway.templates.exprlang.lexer import Token, tokenize

MAX_DEPTH = 200

BINARY: dict[str, tuple[int, bool]] = {  # operator: (precedence, right-associative)
    "|": (0, False),
    "or": (10, False),
    "||": (10, False),
    "and": (15, False),
    "&&": (15, False),
    "==": (20, False),
    "!=": (20, False),
    "<": (20, False),
    ">": (20, False),
    ">=": (20, False),
    "<=": (20, False),
    "in": (20, False),
    "not in": (20, False),
    "matches": (20, False),
    "contains": (20, False),
    "startsWith": (20, False),
    "endsWith": (20, False),
    "..": (25, False),
    "+": (30, False),
    "-": (30, False),
    "*": (60, False),
    "/": (60, False),
    "%": (60, False),
    "**": (100, True),
    "^": (100, True),
    "??": (500, False),
}
UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
PREDICATES = frozenset(
    {"all", "any", "none", "one", "filter", "map", "count", "sum", "find", "findIndex"}
    | {"findLast", "findLastIndex", "groupBy", "sortBy", "reduce"}
)


@dataclass(slots=True)
class Node:
    kind: str  # lit ident pointer member slice call unary binary cond array map closure let
    pos: int
    value: Any = None
    args: list[Node] = field(default_factory=list)
    optional: bool = False


class Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.toks = tokenize(src)
        self.i = 0
        self.depth = 0
        self.closure = 0
        self.piped = False

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def error(self, msg: str, pos: int | None = None) -> ExprError:
        return ExprError(msg, source=self.src, pos=self.tok.pos if pos is None else pos)

    def unexpected(self) -> ExprError:
        return self.error(f"unexpected token {self.tok.describe()}")

    def is_op(self, *values: str) -> bool:
        return self.tok.kind == "operator" and self.tok.value in values

    def is_br(self, value: str) -> bool:
        return self.tok.kind == "bracket" and self.tok.value == value

    def expect(self, kind: str, value: str) -> Token:
        t = self.tok
        if t.kind != kind or t.value != value:
            raise self.unexpected()
        self.i += 1
        return t

    def parse(self) -> Node:
        node = self.expression(0)
        if self.tok.kind != "eof":
            raise self.unexpected()
        return node

    def expression(self, prec: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"expression nested deeper than {MAX_DEPTH}")
        try:
            return self._expression(prec)
        finally:
            self.depth -= 1

    def _expression(self, prec: int) -> Node:
        if prec == 0 and self.is_op("let"):
            return self.let()
        left = self.unary()
        while self.tok.kind == "operator":
            op, pos = self.tok.value, self.tok.pos
            negate = False
            if op == "not" and self.toks[self.i + 1].value in BINARY:
                nxt = self.toks[self.i + 1].value
                if nxt in ("matches", "contains", "startsWith", "endsWith", "in"):
                    negate, op = True, nxt
            if op not in BINARY:
                break
            p, right_assoc = BINARY[op]
            if p < prec:
                break
            self.i += 2 if negate else 1
            if op == "|":
                self.piped = True
                right = self.expression(p + 1)
                if right.kind != "call":
                    raise self.error("the right side of a pipe must be a function call", pos)
                right.args.insert(1, left)
                left = right
                continue
            right = self.expression(p if right_assoc else p + 1)
            left = Node("binary", pos, op, [left, right])
            if negate:
                left = Node("unary", pos, "not", [left])
        if prec == 0 and self.is_op("?"):
            pos = self.tok.pos
            self.i += 1
            yes = self.expression(0)
            self.expect("operator", ":")
            no = self.expression(0)
            left = Node("cond", pos, None, [left, yes, no])
        return left

    def let(self) -> Node:
        pos = self.tok.pos
        self.i += 1
        name = self.tok
        if name.kind != "ident":
            raise self.unexpected()
        self.i += 1
        self.expect("operator", "=")
        value = self.expression(0)
        self.expect("operator", ";")
        body = self.expression(0)
        return Node("let", pos, name.value, [value, body])

    def unary(self) -> Node:
        t = self.tok
        if t.kind == "operator" and t.value in UNARY:
            self.i += 1
            operand = self.expression(UNARY[t.value])
            return Node("unary", t.pos, t.value, [operand])
        return self.postfix(self.primary())

    def primary(self) -> Node:
        t = self.tok
        if t.kind in ("number", "string"):
            self.i += 1
            return Node("lit", t.pos, t.value)
        if t.kind == "ident":
            self.i += 1
            if t.value in ("true", "false"):
                return Node("lit", t.pos, t.value == "true")
            if t.value == "nil":
                return Node("lit", t.pos, None)
            if self.is_br("("):
                return self.call(Node("ident", t.pos, t.value), t.value)
            return Node("ident", t.pos, t.value)
        if t.kind == "operator" and t.value == "#":
            self.i += 1
            name = "#"
            if self.tok.kind == "ident" and self.tok.pos == t.pos + 1:
                name += self.tok.value
                self.i += 1
            if self.closure == 0:
                raise self.error("cannot use pointer accessor outside predicate", t.pos)
            return Node("pointer", t.pos, name)
        if t.kind == "operator" and t.value == "." and self.closure > 0:
            self.i += 1
            prop = self.tok
            if prop.kind != "ident":
                raise self.unexpected()
            self.i += 1
            base = Node("pointer", t.pos, "#")
            return Node("member", t.pos, None, [base, Node("lit", prop.pos, prop.value)])
        if t.kind == "bracket":
            if t.value == "(":
                self.i += 1
                node = self.expression(0)
                self.expect("bracket", ")")
                return node
            if t.value == "[":
                return self.array()
            if t.value == "{":
                return self.map_literal()
        raise self.unexpected()

    def array(self) -> Node:
        pos = self.tok.pos
        self.i += 1
        items = []
        while not self.is_br("]"):
            items.append(self.expression(0))
            if not self.is_op(","):
                break
            self.i += 1
        self.expect("bracket", "]")
        return Node("array", pos, None, items)

    def map_literal(self) -> Node:
        pos = self.tok.pos
        self.i += 1
        items: list[Node] = []
        while not self.is_br("}"):
            k = self.tok
            if k.kind in ("ident", "string", "number") or (
                k.kind == "operator" and k.value.isalpha()
            ):
                self.i += 1
                key = Node("lit", k.pos, k.value)
            elif self.is_br("("):
                self.i += 1
                key = self.expression(0)
                self.expect("bracket", ")")
            else:
                raise self.error(
                    "a map key must be a quoted string, a number, a identifier, or an expression "
                    f"enclosed in parentheses (unexpected token {k.describe()})"
                )
            self.expect("operator", ":")
            items += [key, self.expression(0)]
            if not self.is_op(","):
                break
            self.i += 1
        self.expect("bracket", "}")
        return Node("map", pos, None, items)

    def call(self, callee: Node, name: str | None) -> Node:
        pos = self.tok.pos
        pred_index = 0 if self.piped else 1
        self.piped = False
        self.expect("bracket", "(")
        args: list[Node] = []
        while not self.is_br(")"):
            if name in PREDICATES and len(args) == pred_index:
                args.append(self.closure_arg())
            else:
                args.append(self.expression(0))
            if not self.is_op(","):
                break
            self.i += 1
        self.expect("bracket", ")")
        return Node("call", callee.pos if callee.kind == "ident" else pos, None, [callee, *args])

    def closure_arg(self) -> Node:
        pos = self.tok.pos
        self.closure += 1
        try:
            if self.is_br("{"):
                self.i += 1
                body = self.expression(0)
                self.expect("bracket", "}")
            else:
                body = self.expression(0)
        finally:
            self.closure -= 1
        return Node("closure", pos, None, [body])

    def postfix(self, node: Node) -> Node:
        while True:
            t = self.tok
            if t.kind == "operator" and t.value in (".", "?."):
                optional = t.value == "?."
                self.i += 1
                if optional and self.is_br("["):
                    self.i += 1
                    key = self.expression(0)
                    self.expect("bracket", "]")
                    node = Node("member", t.pos, None, [node, key], optional)
                    continue
                prop = self.tok
                if prop.kind not in ("ident", "operator") or not str(prop.value).isidentifier():
                    raise self.unexpected()
                self.i += 1
                member = Node("member", prop.pos, None, [node, Node("lit", prop.pos, prop.value)])
                member.optional = optional
                node = self.call(member, None) if self.is_br("(") else member
            elif self.is_br("["):
                self.i += 1
                node = self.index_or_slice(node, t.pos)
            else:
                return node

    def index_or_slice(self, node: Node, pos: int) -> Node:
        lo = hi = None
        if self.is_op(":"):
            self.i += 1
            if not self.is_br("]"):
                hi = self.expression(0)
            self.expect("bracket", "]")
            return Node(
                "slice",
                pos,
                None,
                [node, lo or Node("lit", pos, None), hi or Node("lit", pos, None)],
            )
        key = self.expression(0)
        if self.is_op(":"):
            self.i += 1
            if not self.is_br("]"):
                hi = self.expression(0)
            self.expect("bracket", "]")
            return Node("slice", pos, None, [node, key, hi or Node("lit", pos, None)])
        self.expect("bracket", "]")
        return Node("member", pos, None, [node, key])


def parse(src: str) -> Node:
    """The tree of one expression."""
    if not src.strip():
        raise ExprError("unexpected token EOF", source=src, pos=len(src))
    return Parser(src).parse()
