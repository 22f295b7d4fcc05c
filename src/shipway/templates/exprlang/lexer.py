"""Tokens of expr-lang (github.com/expr-lang/expr), as its language definition gives them.

Pure. Kinds: ``number`` (value int or float), ``string``, ``ident``,
``operator``, ``bracket``, ``eof``. Comments ``/* */`` and ``//`` are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shipway.templates.errors import ExprError

_OPS = (
    "not in", "?.", "??", "...", "..", "**", "==", "!=", "<=", ">=", "&&", "||",
    "+", "-", "*", "/", "%", "^", "<", ">", "!", "?", ":", ",", ".", "|", "#", ";", "=",
)  # fmt: skip
_WORD_OPS = frozenset(
    ["and", "or", "not", "in", "matches", "contains", "startsWith", "endsWith", "let"]
)
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|"
    r"(?:[0-9][0-9_]*(?:\.(?!\.)[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?"
)
_DIGITS = frozenset("0123456789")
_ESC = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: Any
    pos: int

    def describe(self) -> str:
        if self.kind == "eof":
            return "EOF"
        name = {"number": "Number", "string": "String", "ident": "Identifier"}.get(self.kind)
        name = name or ("Bracket" if self.kind == "bracket" else "Operator")
        return f'{name}("{self.value}")'


def _unescape(body: str, src: str, pos: int) -> str:
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1] if i + 1 < len(body) else ""
        i += 2
        if e in _ESC:
            out.append(_ESC[e])
        elif e in "\\'\"`":
            out.append(e)
        elif e in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i : i + size]
            if not re.fullmatch("[0-9a-fA-F]{" + str(size) + "}", digits):
                raise ExprError("invalid char escape", source=src, pos=pos)
            out.append(chr(int(digits, 16)))
            i += size
        elif e in "01234567":
            digits = body[i - 1 : i + 2]
            if not re.fullmatch(r"[0-7]{3}", digits):
                raise ExprError("invalid char escape", source=src, pos=pos)
            out.append(chr(int(digits, 8)))
            i += 2
        else:
            raise ExprError("invalid char escape", source=src, pos=pos)
    return "".join(out)


def tokenize(src: str) -> list[Token]:
    """All tokens of ``src``, ending with ``eof``; ``ExprError`` on a bad character."""
    out: list[Token] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c.isspace():
            i += 1
            continue
        if src.startswith("/*", i):
            end = src.find("*/", i + 2)
            if end < 0:
                raise ExprError("unclosed comment", source=src, pos=i)
            i = end + 2
            continue
        if src.startswith("//", i):
            end = src.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if c in _DIGITS or (c == "." and i + 1 < n and src[i + 1] in _DIGITS):
            m = _NUMBER.match(src, i)
            assert m is not None
            text = m.group(0)
            if text.endswith(".") and not text.endswith(".."):
                text = text[:-1]
            i += len(text)
            out.append(Token("number", _number(text, src, m.start()), m.start()))
            continue
        if c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                if src[j] == "\\":
                    j += 1
                elif src[j] == "\n":
                    break
                j += 1
            if j >= n or src[j] != c:
                raise ExprError("literal not terminated", source=src, pos=i)
            out.append(Token("string", _unescape(src[i + 1 : j], src, i), i))
            i = j + 1
            continue
        if c == "`":
            j = src.find("`", i + 1)
            if j < 0:
                raise ExprError("literal not terminated", source=src, pos=i)
            out.append(Token("string", src[i + 1 : j], i))
            i = j + 1
            continue
        if c.isalpha() or c in "_$":
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] == "_"):
                j += 1
            word = src[i:j]
            if word == "not":
                m = re.compile(r"\s+in\b").match(src, j)
                if m:
                    out.append(Token("operator", "not in", i))
                    i = m.end()
                    continue
            kind = "operator" if word in _WORD_OPS else "ident"
            out.append(Token(kind, word, i))
            i = j
            continue
        if c in "()[]{}":
            out.append(Token("bracket", c, i))
            i += 1
            continue
        for op in _OPS:
            if src.startswith(op, i):
                out.append(Token("operator", op, i))
                i += len(op)
                break
        else:
            raise ExprError(f"unrecognized character: U+{ord(c):04X} '{c}'", source=src, pos=i)
    out.append(Token("eof", "", n))
    return out


def _number(text: str, src: str, pos: int) -> int | float:
    clean = text.replace("_", "")
    try:
        if clean[:2].lower() in ("0x", "0o", "0b"):
            return int(clean, 0)
        if any(ch in clean for ch in ".eE"):
            return float(clean)
        return int(clean, 10)
    except ValueError:
        raise ExprError(f"invalid number: {text}", source=src, pos=pos) from None
