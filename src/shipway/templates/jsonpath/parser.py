"""kubectl's JSONPath templates parsed into nodes, with kubectl's rules and error texts.

Pure. The grammar is client-go's ``util/jsonpath``: text outside ``{...}`` is
printed as it is; inside an action, ``.field`` (``\\`` escapes a terminator),
``..`` (recursive descent), ``*``, ``[i]``, ``[a:b:c]``, ``[i,j]`` and
``['k','l']`` (unions), ``['key']`` (read as ``.key``, so ``['a.b']`` is two
fields), ``[?(@.x OP value)]`` and ``[?(@.x)]`` (filters), quoted text
(``"\\t"``), numbers, ``true``/``false``, ``range``/``end``; ``@``, ``$`` and
spaces are skipped. A ``ParseError`` carries kubectl's reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

EOF = ""


class ParseError(ValueError):
    """The template is not kubectl JSONPath; the message is kubectl's reason."""


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Wildcard:
    pass


@dataclass(frozen=True)
class Recursive:
    pass


@dataclass(frozen=True)
class Param:
    known: bool
    value: int
    derived: bool = False


@dataclass(frozen=True)
class Array:
    params: tuple[Param, Param, Param]


@dataclass(frozen=True)
class Int:
    value: int


@dataclass(frozen=True)
class Float:
    value: float


@dataclass(frozen=True)
class Bool:
    value: bool


@dataclass(frozen=True)
class Identifier:
    name: str


@dataclass
class ListNode:
    nodes: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class Filter:
    left: ListNode
    right: ListNode
    op: str  # "exists", "==", "!=", "<", ">", "<=", ">=" (or what the text had)


@dataclass(frozen=True)
class Union:
    alternatives: tuple[ListNode, ...]


Node = (
    Text | Field | Wildcard | Recursive | Array | Int | Float | Bool | Identifier | ListNode
    | Filter | Union
)  # fmt: skip

_DICT_KEY = re.compile(r"^'([^']*)'$")
_SLICE = re.compile(r"^(-?\d*)(:-?\d*)?(:-?\d*)?$")
_FILTER = re.compile(r"^([^!<>=]+)([!<>=]+)(.+?)$", re.DOTALL)
_TERMINATORS = frozenset(" \t\r\n.,[]$@{}")


def _is_terminator(r: str) -> bool:
    return r == EOF or r in _TERMINATORS


def _is_alnum(r: str) -> bool:
    return r == "_" or (r != EOF and (r.isalpha() or r.isdigit()))


def _rune_name(r: str) -> str:
    """Go's ``%#U``: ``U+002C ','`` (the character only when printable)."""
    code = f"U+{ord(r):04X}"
    return f"{code} '{r}'" if r.isprintable() else code


def parse(template: str) -> ListNode:
    """The nodes of ``template``: ``Text`` and action ``ListNode`` s, in order."""
    return _Parser(template).run()


def parse_action(text: str) -> ListNode:
    """``{text}`` parsed, its one action's node list (kubectl's ``parseAction``)."""
    root = _Parser("{" + text + "}").run()
    first = root.nodes[0] if root.nodes else ListNode()
    return first if isinstance(first, ListNode) else ListNode([first])


class _Parser:
    def __init__(self, text: str) -> None:
        self.input = text
        self.pos = 0
        self.start = 0
        self.root = ListNode()

    # -- scanning (Go's next/peek/backup/consumeText) --------------------------------

    def next(self) -> str:
        if self.pos >= len(self.input):
            self.pos = len(self.input) + 1  # past the end: backup() returns to it
            return EOF
        r = self.input[self.pos]
        self.pos += 1
        return r

    def peek(self) -> str:
        return self.input[self.pos] if self.pos < len(self.input) else EOF

    def backup(self) -> None:
        self.pos -= 1

    def consume(self) -> str:
        end = min(self.pos, len(self.input))
        value = self.input[self.start : end]
        self.start = self.pos = end
        return value

    def rest(self) -> str:
        return self.input[self.pos :]

    # -- the grammar -------------------------------------------------------------------

    def run(self) -> ListNode:
        self._text()
        return self.root

    def _text(self) -> None:
        """Text up to the next ``{``, then the action; until the end of the input."""
        while True:
            while not self.rest().startswith("{"):
                if self.next() == EOF:
                    self.pos = len(self.input)
                    if self.pos > self.start:
                        self.root.nodes.append(Text(self.consume()))
                    return
            if self.pos > self.start:
                self.root.nodes.append(Text(self.consume()))
            self.pos += 1
            self.consume()
            action = ListNode()
            self.root.nodes.append(action)
            self._inside(action)

    def _inside(self, cur: ListNode) -> None:
        """The nodes of one action, up to its ``}``."""
        while True:
            rest = self.rest()
            if rest.startswith("}"):
                self.pos += 1
                self.consume()
                return
            if rest.startswith("[?("):
                self._filter(cur)
                continue
            if rest.startswith(".."):
                self._recursive(cur)
                continue
            r = self.next()
            if r == EOF or r in "\r\n":
                raise ParseError("unclosed action")
            if r in " @$":
                self.consume()
            elif r == "[":
                self._array(cur)
            elif r in "\"'":
                self._quote(cur, r)
            elif r == ".":
                self._field(cur)
            elif r in "+-" or r.isdigit():
                self.backup()
                self._number(cur)
            elif _is_alnum(r):
                self.backup()
                self._identifier(cur)
            else:
                raise ParseError(f"unrecognized character in action: {_rune_name(r)}")

    def _identifier(self, cur: ListNode) -> None:
        while not _is_terminator(self.next()):
            pass
        self.backup()
        value = self.consume()
        cur.nodes.append(Bool(value == "true") if value in ("true", "false") else Identifier(value))

    def _recursive(self, cur: ListNode) -> None:
        if cur.nodes and isinstance(cur.nodes[-1], Recursive):
            raise ParseError("invalid multiple recursive descent")
        self.pos += 2
        self.consume()
        cur.nodes.append(Recursive())
        if _is_alnum(self.peek()):
            self._field(cur)

    def _number(self, cur: ListNode) -> None:
        if self.peek() in ("+", "-"):
            self.next()
        while True:
            r = self.next()
            if r != "." and not r.isdigit():
                self.backup()
                break
        value = self.consume()
        if re.fullmatch(r"[+-]?\d+", value) and -(2**63) <= int(value) < 2**63:
            cur.nodes.append(Int(int(value)))
            return
        if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)", value):
            cur.nodes.append(Float(float(value)))
            return
        raise ParseError(f"cannot parse number {value}")

    def _array(self, cur: ListNode) -> None:
        while True:
            r = self.next()
            if r == EOF or r == "\n":
                raise ParseError("unterminated array")
            if r == "]":
                break
        text = self.consume()[1:-1]
        if text == "*":
            text = ":"
        parts = text.split(",")
        if len(parts) > 1:
            alternatives = tuple(parse_action(f"[{p.strip(' ')}]") for p in parts)
            cur.nodes.append(Union(alternatives))
            return
        if key := _DICT_KEY.match(text):
            cur.nodes.extend(parse_action(f".{key[1]}").nodes)
            return
        m = _SLICE.match(text)
        if m is None:
            raise ParseError(f"invalid array index {text}")
        cur.nodes.append(Array(_slice_params(m.groups())))

    def _filter(self, cur: ListNode) -> None:
        self.pos += 3
        self.consume()
        begin = end = False
        pair = ""
        while True:
            r = self.next()
            if r == EOF or r == "\n":
                raise ParseError("unterminated filter")
            if r in "\"'":
                if not begin:
                    begin, pair = True, r
                    continue
                if self.input[self.pos - 2] != "\\" and r == pair:
                    end = True
            elif r == ")" and begin == end:
                break
        if self.next() != "]":
            raise ParseError("unclosed array expect ]")
        text = self.consume()[:-2]
        m = _FILTER.match(text)
        if m is None:
            cur.nodes.append(Filter(parse_action(text), ListNode(), "exists"))
        else:
            cur.nodes.append(Filter(parse_action(m[1]), parse_action(m[3]), m[2]))

    def _quote(self, cur: ListNode, quote: str) -> None:
        while True:
            r = self.next()
            if r == EOF or r == "\n":
                raise ParseError("unterminated quoted string")
            if r == "\\":
                if self.next() not in (EOF, "\n"):
                    continue
                break
            if r == quote:
                break
        value = self.consume()
        cur.nodes.append(Text(unquote(value)))

    def _field(self, cur: ListNode) -> None:
        self.consume()
        while True:
            r = self.next()
            if r == "\\":
                self.next()
            elif _is_terminator(r):
                self.backup()
                break
        value = self.consume()
        cur.nodes.append(Wildcard() if value == "*" else Field(value.replace("\\", "")))


def _slice_params(groups: tuple[str | None, ...]) -> tuple[Param, Param, Param]:
    """kubectl's three slice parameters; ``[i]`` is ``[i:i+1]`` (its end *derived*)."""
    params: list[Param] = []
    for i, raw in enumerate(groups):
        text = raw or ""
        if text:
            if i > 0:
                text = text[1:]
            if i > 0 and not text:
                params.append(Param(False, 0))
            elif not re.fullmatch(r"-?\d+", text):
                raise ParseError(f"array index {text} is not a number")
            else:
                params.append(Param(True, int(text)))
        elif i == 1:
            params.append(Param(True, params[0].value + 1, derived=True))
        else:
            params.append(Param(False, 0))
    return params[0], params[1], params[2]


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def unquote(s: str) -> str:
    """client-go's ``UnquoteExtend``: Go's ``strconv.Unquote``, single quotes allowed."""
    bad = ParseError(f"unquote string {s} error invalid syntax")
    if len(s) < 2 or s[0] != s[-1] or s[0] not in "\"'":
        raise bad
    quote, body = s[0], s[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == quote:
            raise bad
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(body):
            raise bad
        e = body[i + 1]
        i += 2
        if e in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[e])
        elif e == "\\":
            out.append("\\")
        elif e in "'\"":
            if e != quote:
                raise bad
            out.append(e)
        elif e in "xuU":
            n = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i : i + n]
            if len(digits) != n or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise bad
            code = int(digits, 16)
            if e != "x" and (code > 0x10FFFF or 0xD800 <= code < 0xE000):
                raise bad
            out.append(chr(code))
            i += n
        elif e in "01234567":
            digits = body[i - 1 : i + 2]
            if len(digits) != 3 or not re.fullmatch(r"[0-7]{3}", digits) or int(digits, 8) > 255:
                raise bad
            out.append(chr(int(digits, 8)))
            i += 2
        else:
            raise bad
    return "".join(out)
