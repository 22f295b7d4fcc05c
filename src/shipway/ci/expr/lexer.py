"""Tokens of the GitHub Actions expression language.

Pure: turns expression text into a list of ``Token``; raises ``ExprError`` on
characters or literals the language does not have. Numbers are read the way
GitHub's evaluator reads them: a run of characters up to a boundary, then
JavaScript's ``Number()`` (so ``0x1F``, ``1e3``, ``.5``, ``-0b1`` rules apply).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any


class ExprError(Exception):
    """An error in an expression, in GitHub's words; ``pos`` is a 0-based offset, ``stage``
    where it was found: ``lexing``, ``parsing`` or ``evaluation``."""

    def __init__(self, message: str, pos: int = 0, stage: str = "evaluation") -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.stage = stage


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # num str ident kw op ( ) [ ] . , * eof
    value: Any
    pos: int
    lexeme: str = ""

    def shown(self) -> str:
        """The token as GitHub's messages show it (``EOF``, a string's value, else as written)."""
        if self.kind == "eof":
            return "EOF"
        return str(self.value) if self.kind == "str" else self.lexeme


_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")
_RADIX = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}
_JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"  # noqa: E501
_BOUNDARY = frozenset("([)],.!><=&|")


def js_to_number(text: str) -> float:
    """JavaScript's ``Number(string)``: NaN when the text is not a number."""
    t = text.strip(_JS_SPACE)
    if t == "":
        return 0.0
    if t in ("Infinity", "+Infinity"):
        return math.inf
    if t == "-Infinity":
        return -math.inf
    base = _RADIX.get(t[:2])
    if base is not None:
        try:
            return float(int(t[2:], base)) if t[2:].isalnum() and "_" not in t else math.nan
        except ValueError:
            return math.nan
    if _DECIMAL.fullmatch(t):
        return float(t)
    return math.nan


def _is_boundary(c: str) -> bool:
    return c in _BOUNDARY or c in _JS_SPACE


def _legal_identifier(word: str) -> bool:
    if not word or not (word[0].isascii() and (word[0].isalpha() or word[0] == "_")):
        return False
    return all(c.isascii() and (c.isalnum() or c in "_-") for c in word[1:])


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.toks: list[Token] = []

    def prev(self) -> str:
        return self.toks[-1].kind if self.toks else "eof"

    def add(self, kind: str, value: Any, pos: int) -> None:
        self.toks.append(Token(kind, value, pos, self.text[pos : self.i]))

    def unexpected(self, symbol: str, start: int) -> ExprError:
        return ExprError(f"Unexpected symbol: '{symbol}'. Located at position {start + 1} "
                         f"within expression: {self.text}", start, "lexing")  # fmt: skip

    def run(self) -> list[Token]:
        text, n = self.text, len(self.text)
        while self.i < n:
            start = self.i
            c = text[self.i]
            self.i += 1
            if c in "()[],*":
                self.add(c, c, start)
            elif c == ".":
                if self.prev() in ("ident", "]", ")", "*"):
                    self.add(".", ".", start)
                else:
                    self.number(start)
            elif c in "+-" or (c.isdigit() and c.isascii()):
                self.number(start)
            elif c in "!<>":
                two = self.i < n and text[self.i] == "="
                self.i += two
                self.add("op", c + ("=" if two else ""), start)
            elif c in "=&|":
                if self.i < n and text[self.i] == c:
                    self.i += 1
                    self.add("op", c * 2, start)
                else:
                    self.identifier(start)
            elif c in " \r\t\n":
                continue
            elif c == "'":
                self.string(start)
            else:
                self.identifier(start)
        self.add("eof", None, n)
        return self.toks

    def number(self, start: int) -> None:
        text, n = self.text, len(self.text)
        while self.i < n and (not _is_boundary(text[self.i]) or text[self.i] == "."):
            self.i += 1
        lexeme = text[start : self.i]
        value = js_to_number(lexeme)
        if math.isnan(value):
            raise self.unexpected(lexeme, start)
        self.add("num", value, start)

    def string(self, start: int) -> None:
        text, n = self.text, len(self.text)
        while self.i < n and (text[self.i] != "'" or text[self.i + 1 : self.i + 2] == "'"):
            self.i += 2 if text[self.i] == "'" else 1
        if self.i >= n:
            raise self.unexpected(text[start:], start)
        self.i += 1
        self.add("str", text[start + 1 : self.i - 1].replace("''", "'"), start)

    def identifier(self, start: int) -> None:
        text, n = self.text, len(self.text)
        while self.i < n and not _is_boundary(text[self.i]):
            self.i += 1
        word = text[start : self.i]
        if self.prev() != ".":
            if word in ("NaN", "Infinity"):
                self.add("num", math.nan if word == "NaN" else math.inf, start)
                return
            if word in ("true", "false", "null"):
                self.add("kw", word, start)
                return
        if not _legal_identifier(word):
            raise self.unexpected(word, start)
        self.add("ident", word, start)


MAX_LENGTH = 21000


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise ExprError(f"Exceeded max expression length {MAX_LENGTH}", 0, "lexing")
    return _Lexer(text).run()
