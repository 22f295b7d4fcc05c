"""GitLab CI's ``rules:if`` / ``only:variables`` expressions: parse, check, evaluate.

Pure. The language: ``$VAR`` / ``${VAR}``, ``"string"`` / ``'string'``, ``null``,
``/regex/flags``, ``==``, ``!=``, ``=~``, ``!~``, ``&&`` (binds tighter than)
``||``, and parentheses. A variable alone is true when it is set and non-empty;
an unset variable equals ``null``. ``=~`` takes a regex literal or a variable
holding one (``/.../`` text). ``parse`` raises ``ExprSyntax`` with the column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<var>\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*)
    | (?P<str>"[^"]*"|'[^']*')
    | (?P<re>/(?:\\.|[^/\\])*/[a-z]*)
    | (?P<op>==|!=|=~|!~|&&|\|\|)
    | (?P<paren>[()])
    | (?P<null>null\b)
    )""",
    re.X,
)


class ExprSyntax(Exception):
    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True)
class Node:
    kind: str  # var str re null cmp and or
    value: Any = None
    left: Node | None = None
    right: Node | None = None


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise ExprSyntax(f"invalid expression near {text[col - 1 : col + 9]!r}", col)
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.text = text

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise ExprSyntax("the expression ends too early", len(self.text) + 1)
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.or_()
        tok = self.peek()
        if tok is not None:
            raise ExprSyntax(f"unexpected {tok[1]!r}", tok[2])
        return node

    def or_(self) -> Node:
        node = self.and_()
        while (tok := self.peek()) and tok[1] == "||":
            self.take()
            node = Node("or", left=node, right=self.and_())
        return node

    def and_(self) -> Node:
        node = self.cmp()
        while (tok := self.peek()) and tok[1] == "&&":
            self.take()
            node = Node("and", left=node, right=self.cmp())
        return node

    def cmp(self) -> Node:
        left = self.operand()
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in ("==", "!=", "=~", "!~"):
            self.take()
            right = self.operand()
            if tok[1] in ("=~", "!~") and right.kind not in ("re", "var"):
                raise ExprSyntax(f"{tok[1]} needs a /regex/ or a variable on its right", tok[2])
            return Node("cmp", tok[1], left, right)
        return left

    def operand(self) -> Node:
        kind, text, col = self.take()
        if kind == "paren" and text == "(":
            node = self.or_()
            close = self.take()
            if close[1] != ")":
                raise ExprSyntax("expected ')'", close[2])
            return node
        if kind == "var":
            return Node("var", text.strip("${}"))
        if kind == "str":
            return Node("str", text[1:-1])
        if kind == "re":
            return Node("re", text)
        if kind == "null":
            return Node("null")
        raise ExprSyntax(f"unexpected {text!r}", col)


def parse(text: str) -> Node:
    return _Parser(text).parse()


def _regex(text: str) -> re.Pattern[str] | None:
    m = re.fullmatch(r"/(.*)/([a-z]*)", text, re.S)
    if m is None:
        return None
    flags = re.I if "i" in m.group(2) else 0
    flags |= re.M if "m" in m.group(2) else 0
    flags |= re.S if "s" in m.group(2) else 0
    try:
        return re.compile(m.group(1), flags)
    except re.error:
        return None


def _value(node: Node, env: Mapping[str, str]) -> str | None:
    if node.kind == "var":
        return env.get(str(node.value))
    if node.kind in ("str", "re"):
        return str(node.value)
    return None


def evaluate(node: Node, env: Mapping[str, str]) -> bool:
    if node.kind == "or":
        assert node.left and node.right
        return evaluate(node.left, env) or evaluate(node.right, env)
    if node.kind == "and":
        assert node.left and node.right
        return evaluate(node.left, env) and evaluate(node.right, env)
    if node.kind == "cmp":
        assert node.left and node.right
        left = _value(node.left, env)
        if node.value in ("==", "!="):
            right = _value(node.right, env)
            same = left == right
            return same if node.value == "==" else not same
        pattern = _regex(_value(node.right, env) or "")
        hit = pattern is not None and left is not None and pattern.search(left) is not None
        return hit if node.value == "=~" else not hit
    if node.kind == "var":
        return bool(env.get(str(node.value)))
    if node.kind == "str":
        return bool(node.value)
    return False


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand(text: str, env: Mapping[str, str]) -> str:
    """GitLab's variable expansion in keywords (``image``, ``environment``, ...):
    ``$VAR`` and ``${VAR}``; unset ones become empty; ``$$`` stays ``$``."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1) or m.group(2), "")

    return _VAR.sub(sub, text)
