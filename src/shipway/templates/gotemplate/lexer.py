"""Tokens of Go's text/template: text, actions, trim markers and comments.

Pure. ``lex(text)`` returns the whole token list; a lexical error becomes an
``error`` token at the place it happened, so the parser reports errors in
the order Go does (a parse error earlier in the text wins).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

SPACE = " \t\r\n"
KEYWORDS = frozenset(
    [
        "block",
        "break",
        "continue",
        "define",
        "else",
        "end",
        "if",
        "range",
        "nil",
        "template",
        "with",
    ]
)
_TERMINATORS = frozenset(".,|:)(")


@dataclass(slots=True)
class Item:
    """One token: ``kind`` is text, comment, ldelim, rdelim, space, ident, field, var,
    dot, bool, number, char, charconst, string, rawstring, lparen, rparen, pipe,
    assign, declare, eof, error, or a keyword itself (``if``, ``range`` ...)."""

    kind: str
    val: str
    pos: int

    def __str__(self) -> str:
        if self.kind == "eof":
            return "EOF"
        if self.kind == "error":
            return self.val
        if self.kind in KEYWORDS:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return _goq(self.val[:10]) + "..."
        return _goq(self.val)


def _goq(s: str) -> str:
    from shipway.templates.gotemplate.gofmt import go_quote

    return go_quote(s)


def is_alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or unicodedata.category(c) == "Nd"


def _rune(c: str) -> str:
    return f"U+{ord(c):04X} '{c}'" if c.isprintable() else f"U+{ord(c):04X}"


class _Lexer:
    def __init__(self, text: str, left: str, right: str) -> None:
        self.text = text
        self.left = left
        self.right = right
        self.items: list[Item] = []
        self.n = len(text)

    def emit(self, kind: str, val: str, pos: int) -> None:
        self.items.append(Item(kind, val, pos))

    def at_right_trim(self, p: int) -> bool:
        t = self.text
        return (
            p + 1 < self.n and t[p] in SPACE and t[p + 1] == "-" and t.startswith(self.right, p + 2)
        )

    def run(self) -> list[Item]:
        t, pos = self.text, 0
        while True:
            i = t.find(self.left, pos)
            if i < 0:
                if pos < self.n:
                    self.emit("text", t[pos:], pos)
                self.emit("eof", "", self.n)
                return self.items
            j = i + len(self.left)
            trim = j + 1 < self.n and t[j] == "-" and t[j + 1] in SPACE
            seg = t[pos:i].rstrip(SPACE) if trim else t[pos:i]
            if seg:
                self.emit("text", seg, pos)
            if trim:
                j += 2
            if t.startswith("/*", j):
                end = t.find("*/", j + 2)
                if end < 0:
                    return self.fail("unclosed comment", i)
                end += 2
                if self.at_right_trim(end):
                    self.emit("comment", t[j:end], i)
                    pos = self.skip_space(end + 2 + len(self.right))
                elif t.startswith(self.right, end):
                    self.emit("comment", t[j:end], i)
                    pos = end + len(self.right)
                else:
                    return self.fail("comment ends before closing delimiter", i)
                continue
            self.emit("ldelim", self.left, i)
            res = self.inside(j)
            if res < 0:
                return self.items
            pos = res

    def skip_space(self, p: int) -> int:
        while p < self.n and self.text[p] in SPACE:
            p += 1
        return p

    def fail(self, msg: str, pos: int) -> list[Item]:
        self.emit("error", msg, pos)
        return self.items

    def word_end(self, p: int) -> int:
        """Where the word (letters, digits, ``_``) from ``p`` ends; -1 (and the error) when
        what follows it cannot end an operand."""
        q = p
        while q < self.n and is_alnum(self.text[q]):
            q += 1
        if not self.at_terminator(q):
            self.fail(f"bad character {_rune(self.text[q])}", q)
            return -1
        return q

    def at_terminator(self, p: int) -> bool:
        if p >= self.n:
            return True
        c = self.text[p]
        return c in SPACE or c in _TERMINATORS or self.text.startswith(self.right, p)

    def inside(self, p: int) -> int:
        """Lex one action from ``p``; the position after its right delimiter, or -1."""
        t, depth = self.text, 0
        while True:
            if self.at_right_trim(p) or t.startswith(self.right, p):
                if depth:
                    self.fail("unclosed left paren", p)
                    return -1
                if t.startswith(self.right, p):
                    self.emit("rdelim", self.right, p)
                    return p + len(self.right)
                self.emit("rdelim", self.right, p)
                return self.skip_space(p + 2 + len(self.right))
            if p >= self.n:
                self.fail("unclosed action", p)
                return -1
            c = t[p]
            start = p
            if c in SPACE:
                q = p
                while q < self.n and t[q] in SPACE:
                    q += 1
                if self.at_right_trim(q - 1):
                    q -= 1
                if q > p:
                    self.emit("space", t[p:q], p)
                p = q
                continue
            p += 1
            if c == "=":
                self.emit("assign", "=", start)
            elif c == ":":
                if p >= self.n or t[p] != "=":
                    self.fail("expected :=", start)
                    return -1
                p += 1
                self.emit("declare", ":=", start)
            elif c == "|":
                self.emit("pipe", "|", start)
            elif c == '"' or c == "'":
                q = p
                while True:
                    if q >= self.n or t[q] == "\n":
                        what = "quoted string" if c == '"' else "character constant"
                        self.fail(f"unterminated {what}", start)
                        return -1
                    if t[q] == "\\":
                        q += 2
                        continue
                    if t[q] == c:
                        break
                    q += 1
                p = q + 1
                self.emit("string" if c == '"' else "charconst", t[start:p], start)
            elif c == "`":
                q = t.find("`", p)
                if q < 0:
                    self.fail("unterminated raw quoted string", start)
                    return -1
                p = q + 1
                self.emit("rawstring", t[start:p], start)
            elif c == "$" or (c == "." and not (p < self.n and t[p] in "0123456789")):
                if self.at_terminator(p):
                    self.emit("var" if c == "$" else "dot", c, start)
                    continue
                q = self.word_end(p)
                if q < 0:
                    return -1
                p = q
                self.emit("var" if c == "$" else "field", t[start:p], start)
            elif c in "+-." or c in "0123456789":
                q = self.scan_number(start)
                if q < 0:
                    return -1
                p = q
                self.emit("number", t[start:p], start)
            elif is_alnum(c):
                q = self.word_end(p)
                if q < 0:
                    return -1
                word = t[start:q]
                p = q
                if word in KEYWORDS:
                    self.emit("nil" if word == "nil" else word, word, start)
                elif word in ("true", "false"):
                    self.emit("bool", word, start)
                else:
                    self.emit("ident", word, start)
            elif c == "(":
                depth += 1
                self.emit("lparen", c, start)
            elif c == ")":
                depth -= 1
                if depth < 0:
                    self.fail("unexpected right paren", start)
                    return -1
                self.emit("rparen", c, start)
            elif c.isascii() and c.isprintable():
                self.emit("char", c, start)
            else:
                self.fail(f"unrecognized character in action: {_rune(c)}", start)
                return -1

    def scan_number(self, p: int) -> int:
        t = self.text

        def run(q: int, chars: str) -> int:
            while q < self.n and t[q] in chars:
                q += 1
            return q

        start = p
        if t[p] in "+-":
            p += 1
        digits = "0123456789_"
        if t.startswith("0", p) and p + 1 < self.n and t[p + 1] in "xXoObB":
            kind = t[p + 1].lower()
            p += 2
            digits = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}[kind]
        p = run(p, digits)
        if p < self.n and t[p] == ".":
            p = run(p + 1, digits)
        if len(digits) == 11 and p < self.n and t[p] in "eE":
            p += 1
            if p < self.n and t[p] in "+-":
                p += 1
            p = run(p, "0123456789_")
        if len(digits) == 23 and p < self.n and t[p] in "pP":
            p += 1
            if p < self.n and t[p] in "+-":
                p += 1
            p = run(p, "0123456789_")
        if p < self.n and t[p] == "i":
            p += 1
        if p < self.n and is_alnum(t[p]):
            self.fail(f"bad number syntax: {_goq(t[start : p + 1])}", start)
            return -1
        return p


def lex(text: str, left: str = "{{", right: str = "}}") -> list[Item]:
    """All tokens of a template, ending with ``eof`` or an ``error`` token."""
    return _Lexer(text, left or "{{", right or "}}").run()
