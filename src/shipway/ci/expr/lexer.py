"""Tokens of the GitHub Actions expression language.

Pure: turns expression text into a list of ``Token``; raises ``ExprError`` on
characters or literals the language does not have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


class ExprError(Exception):
    """A syntax or evaluation error in an expression; ``pos`` is a 0-based offset."""

    def __init__(self, message: str, pos: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # num str ident op ( ) [ ] . , * eof
    value: Any
    pos: int


_OPS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NUM = re.compile(
    r"[+-]?(?:0[xX][0-9A-Fa-f]+|0[oO][0-7]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Infinity)"
)


def parse_number(text: str) -> float | None:
    """A number the way JavaScript's ``Number()`` reads an expression literal."""
    t = text.strip()
    sign = 1.0
    if t[:1] in "+-":
        sign = -1.0 if t[0] == "-" else 1.0
        body = t[1:]
    else:
        body = t
    try:
        if body[:2] in ("0x", "0X"):
            return sign * int(body[2:], 16) if t[0] not in "+-" else None
        if body[:2] in ("0o", "0O"):
            return sign * int(body[2:], 8) if t[0] not in "+-" else None
        if body == "Infinity":
            return sign * float("inf")
        if not body or body.lower() in ("inf", "nan", "infinity") or "_" in body:
            return None
        return sign * float(body)
    except ValueError:
        return None


def tokenize(text: str) -> list[Token]:
    toks: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == "'":
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise ExprError("unterminated string literal", i)
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        buf.append("'")
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            toks.append(Token("str", "".join(buf), i))
            i = j + 1
            continue
        prev = toks[-1].kind if toks else ""
        if c.isdigit() or (c in "+-." and prev not in ("num", "str", "ident", ")", "]")):
            m = _NUM.match(text, i)
            if m and m.end() > i and not (c == "." and not m.group().startswith(".")):
                end = m.end()
                if end < n and (text[end].isalnum() or text[end] in "_."):
                    raise ExprError(f"unexpected symbol {text[i : end + 1]!r}", i)
                val = parse_number(m.group())
                if val is None:
                    raise ExprError(f"invalid number {m.group()!r}", i)
                toks.append(Token("num", val, i))
                i = end
                continue
        if c.isalpha() or c == "_":
            m = _WORD.match(text, i)
            assert m is not None
            word = m.group()
            toks.append(Token("ident", word, i))
            i = m.end()
            continue
        for op in _OPS:
            if text.startswith(op, i):
                toks.append(Token("op", op, i))
                i += len(op)
                break
        else:
            if c in "()[].,*":
                toks.append(Token(c, c, i))
                i += 1
                continue
            raise ExprError(f"unexpected symbol {c!r}", i)
    toks.append(Token("eof", None, n))
    return toks
