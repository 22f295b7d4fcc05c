"""Parse a Go template into trees, as text/template/parse does.

Pure. ``parse(name, text, funcs)`` returns ``{template name: ListNode}`` for the
template itself and every ``define``/``block`` in it; a syntax error raises
``TemplateError`` in Go's words (``template: name:1:7: unexpected "}" in
operand``). Function names are checked at parse time, as in Go.
"""

from __future__ import annotations

import re
from collections.abc import Container

from shipway.templates.errors import TemplateError
from shipway.templates.gotemplate import nodes as n
from shipway.templates.gotemplate.gofmt import go_quote
from shipway.templates.gotemplate.lexer import SPACE, Item, lex

MAX_NESTING = 100


def position(text: str, pos: int) -> tuple[int, int]:
    """Line (1-based) and byte column in that line (0-based), as Go's ErrorContext."""
    before = text[:pos]
    line = before.count("\n") + 1
    start = before.rfind("\n") + 1
    return line, len(text[start:pos].encode())


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def go_unquote(q: str) -> str:
    """strconv.Unquote for "...", '...' and `...`; ValueError("invalid syntax") if bad."""
    if q[0] == "`":
        return q[1:-1].replace("\r", "")
    quote, body, out, i = q[0], q[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == quote:
            raise ValueError("invalid syntax")
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(body):
            raise ValueError("invalid syntax")
        e = body[i + 1]
        i += 2
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
        elif e == quote:
            out.append(e)
        elif e in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[e]
            hexd = body[i : i + size]
            if len(hexd) != size or not re.fullmatch(r"[0-9a-fA-F]+", hexd):
                raise ValueError("invalid syntax")
            v = int(hexd, 16)
            if e != "x" and (v > 0x10FFFF or 0xD800 <= v < 0xE000):
                raise ValueError("invalid syntax")
            out.append(chr(v))
            i += size
        elif e in "01234567":
            octd = body[i - 1 : i + 2]
            if not re.fullmatch(r"[0-7]{3}", octd) or int(octd, 8) > 255:
                raise ValueError("invalid syntax")
            out.append(chr(int(octd, 8)))
            i += 2
        else:
            raise ValueError("invalid syntax")
    s = "".join(out)
    if quote == "'" and len(s) != 1:
        raise ValueError("invalid syntax")
    return s


_INT = re.compile(
    r"[+-]?(?:0[xX]_?[0-9a-fA-F]+(?:_[0-9a-fA-F]+)*|0[oO]_?[0-7]+(?:_[0-7]+)*"
    r"|0[bB]_?[01]+(?:_[01]+)*|0_?[0-7]+(?:_[0-7]+)*|[1-9][0-9]*(?:_[0-9]+)*|0)"
)


def go_number(text: str) -> int | float:
    """A Go numeric literal's value: int where Go's idealConstant gives int, else float."""
    if text[:1] == "'":
        return ord(go_unquote(text))
    if _INT.fullmatch(text):
        body = text.lstrip("+-").replace("_", "")
        sign = -1 if text.startswith("-") else 1
        if len(body) > 1 and body[0] == "0" and body[1] in "0123456789":
            value = int(body, 8)
        else:
            value = int(body, 0)
        if value >= 2**64 or (sign < 0 and value > 2**63):
            raise ValueError(f'integer overflow: "{text}"')
        return sign * value
    try:
        if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F_.]*[pP][+-]?[0-9_]+", text):
            f = float.fromhex(text.replace("_", ""))
        elif re.fullmatch(r"[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?", text):
            f = float(text)
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f'illegal number syntax: "{text}"') from None
    if not any(c in text for c in ".eEpP"):
        raise ValueError(f'integer overflow: "{text}"')
    return f


class Parser:
    """One parse of one text; fills ``trees`` with the templates it defines."""

    def __init__(self, name: str, text: str, funcs: Container[str], left: str, right: str) -> None:
        self.name = name
        self.text = text
        self.funcs = funcs
        self.items = lex(text, left, right)
        self.i = 0
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.depth = 0
        self.trees: dict[str, n.ListNode] = {}

    # -- tokens
    def error(self, msg: str, pos: int | None = None) -> TemplateError:
        if pos is None:
            pos = self.items[max(self.i - 1, 0)].pos
        line, col = position(self.text, pos)
        return TemplateError(
            f"template: {self.name}:{line}:{col}: {msg}",
            template=self.name,
            line=line,
            column=col,
            phase="parse",
        )

    def next(self) -> Item:
        it = self.items[self.i]
        if it.kind == "error":
            self.i += 1
            raise self.error(it.val, it.pos)
        if it.kind != "eof":
            self.i += 1
        else:
            self.i += 1
            self.items.append(it)
        return it

    def backup(self, k: int = 1) -> None:
        self.i -= k

    def peek(self) -> Item:
        return self.items[self.i]

    def next_non_space(self) -> Item:
        it = self.next()
        while it.kind == "space":
            it = self.next()
        return it

    def peek_non_space(self) -> Item:
        it = self.next_non_space()
        self.backup()
        return it

    def unexpected(self, it: Item, context: str) -> TemplateError:
        return self.error(f"unexpected {it} in {context}", it.pos)

    def expect(self, kind: str, context: str) -> Item:
        it = self.next_non_space()
        if it.kind != kind:
            raise self.unexpected(it, context)
        return it

    # -- structure
    def parse(self) -> dict[str, n.ListNode]:
        root = n.ListNode(0)
        while self.peek().kind != "eof":
            if self.peek().kind == "ldelim":
                delim = self.next()
                if self.next_non_space().kind == "define":
                    self.parse_definition(delim.pos)
                    continue
                self.i = self.items.index(delim)
            node = self.text_or_action()
            if isinstance(node, n.EndNode | n.ElseNode):
                raise self.error(f"unexpected {node}", node.pos)
            root.nodes.append(node)
        self.add(self.name, root)
        return self.trees

    def add(self, name: str, tree: n.ListNode) -> None:
        old = self.trees.get(name)
        if old is None or not is_empty(tree):
            self.trees[name] = tree

    def parse_definition(self, pos: int) -> None:
        context = "define clause"
        name = self.template_name(self.next_non_space(), context)
        self.expect("rdelim", context)
        self.define(name, context)

    def define(self, name: str, context: str) -> None:
        """The body of ``define`` or ``block`` up to its ``end``, in a scope of its own (only
        ``$``, outside any ``range``), added as template ``name``."""
        saved_vars, saved_range = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        body, end = self.item_list()
        if not isinstance(end, n.EndNode):
            raise self.error(f"unexpected {end} in {context}", end.pos)
        self.vars, self.range_depth = saved_vars, saved_range
        self.add(name, body)

    def item_list(self) -> tuple[n.ListNode, n.Node]:
        lst = n.ListNode(self.peek().pos)
        while self.peek_non_space().kind != "eof":
            node = self.text_or_action()
            if isinstance(node, n.EndNode | n.ElseNode):
                return lst, node
            lst.nodes.append(node)
        raise self.error("unexpected EOF", self.peek().pos)

    def text_or_action(self) -> n.Node:
        it = self.next_non_space()
        if it.kind == "text":
            return n.TextNode(it.pos, it.val)
        if it.kind == "ldelim":
            return self.action()
        if it.kind == "comment":
            return n.CommentNode(it.pos, it.val)
        raise self.unexpected(it, "input")

    def action(self) -> n.Node:
        it = self.next_non_space()
        k = it.kind
        if k == "block":
            return self.block_control(it)
        if k in ("break", "continue"):
            nxt = self.next_non_space()
            if nxt.kind != "rdelim":
                raise self.unexpected(nxt, "{{" + k + "}}")
            if self.range_depth == 0:
                raise self.error(f"{{{{{k}}}}} outside {{{{range}}}}", it.pos)
            return n.BreakNode(it.pos) if k == "break" else n.ContinueNode(it.pos)
        if k == "else":
            peek = self.peek_non_space()
            if peek.kind in ("if", "with"):
                return n.ElseNode(peek.pos)
            self.expect("rdelim", "else")
            return n.ElseNode(it.pos)
        if k == "end":
            self.expect("rdelim", "end")
            return n.EndNode(it.pos)
        if k in ("if", "range", "with"):
            return self.control(k, it.pos)
        if k == "template":
            return self.template_control(it)
        self.backup()
        pos = self.peek().pos
        return n.ActionNode(pos, self.pipeline("command", "rdelim"))

    def control(self, kind: str, pos: int) -> n.BranchNode:
        mark = len(self.vars)
        self.nest(pos)
        pipe = self.pipeline(kind, "rdelim")
        if kind == "range":
            self.range_depth += 1
        body, nxt = self.item_list()
        if kind == "range":
            self.range_depth -= 1
        else_list = None
        if isinstance(nxt, n.ElseNode):
            if kind in ("if", "with") and self.peek_non_space().kind == kind:
                sub = self.next_non_space()
                else_list = n.ListNode(nxt.pos, [self.control(kind, sub.pos)])
            else:
                else_list, end = self.item_list()
                if not isinstance(end, n.EndNode):
                    raise self.error(f"expected end; found {end}", end.pos)
        del self.vars[mark:]
        self.depth -= 1
        return n.BranchNode(pos, kind, pipe, body, else_list)

    def nest(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"max nesting depth ({MAX_NESTING}) exceeded", pos)

    def template_name(self, it: Item, context: str) -> str:
        if it.kind not in ("string", "rawstring"):
            raise self.unexpected(it, context)
        return self.unquote(it)

    def template_control(self, it: Item) -> n.TemplateNode:
        context = "template clause"
        name = self.template_name(self.next_non_space(), context)
        pipe = None
        if self.next_non_space().kind != "rdelim":
            self.backup()
            pipe = self.pipeline(context, "rdelim")
        return n.TemplateNode(it.pos, name, pipe)

    def block_control(self, it: Item) -> n.TemplateNode:
        context = "block clause"
        name = self.template_name(self.next_non_space(), context)
        pipe = self.pipeline(context, "rdelim")
        self.define(name, context)
        return n.TemplateNode(it.pos, name, pipe)

    # -- pipelines
    def pipeline(self, context: str, end: str) -> n.PipeNode:
        pipe = n.PipeNode(self.peek_non_space().pos)
        while True:
            v = self.peek_non_space()
            if v.kind != "var":
                break
            self.next_non_space()
            after = self.peek()
            nxt = self.peek_non_space()
            if nxt.kind in ("assign", "declare"):
                pipe.is_assign = nxt.kind == "assign"
                self.next_non_space()
                pipe.decl.append(n.VariableNode(v.pos, [v.val]))
                self.vars.append(v.val)
                break
            if nxt.kind == "char" and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(n.VariableNode(v.pos, [v.val]))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().kind in ("var", "rdelim", "rparen"):
                        continue
                    raise self.error("range can only initialize variables", v.pos)
                raise self.error(f"too many declarations in {context}", v.pos)
            if after.kind == "space":
                self.backup(2)
            else:
                self.backup()
            break
        while True:
            it = self.next_non_space()
            if it.kind == end:
                self.check_pipeline(pipe, context, it)
                return pipe
            if it.kind in _OPERAND_START:
                self.backup()
                pipe.cmds.append(self.command())
            else:
                raise self.unexpected(it, context)

    def check_pipeline(self, pipe: n.PipeNode, context: str, it: Item) -> None:
        if not pipe.cmds:
            raise self.error(f"missing value for {context}", it.pos)
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(
                c.args[0], n.BoolNode | n.DotNode | n.NilNode | n.NumberNode | n.StringNode
            ):
                raise self.error(f"non executable command in pipeline stage {i + 2}", c.pos)

    def command(self) -> n.CommandNode:
        cmd = n.CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            op = self.operand()
            if op is not None:
                cmd.args.append(op)
            it = self.next()
            if it.kind == "space":
                continue
            if it.kind in ("rdelim", "rparen"):
                self.backup()
            elif it.kind != "pipe":
                raise self.unexpected(it, "operand")
            break
        if not cmd.args:
            raise self.error("empty command", cmd.pos)
        return cmd

    def operand(self) -> n.Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().kind == "field":
            fields = []
            while self.peek().kind == "field":
                fields.append(self.next().val[1:])
            if isinstance(node, n.FieldNode):
                return n.FieldNode(node.pos, node.ident + fields)
            if isinstance(node, n.VariableNode):
                return n.VariableNode(node.pos, node.ident + fields)
            if isinstance(node, n.BoolNode | n.StringNode | n.NumberNode | n.NilNode | n.DotNode):
                raise self.error(f"unexpected . after term {go_quote(str(node))}", node.pos)
            return n.ChainNode(node.pos, node, fields)
        return node

    def term(self) -> n.Node | None:
        it = self.next_non_space()
        k = it.kind
        if k == "ident":
            if it.val not in self.funcs:
                raise self.error(f'function "{it.val}" not defined', it.pos)
            return n.IdentifierNode(it.pos, it.val)
        if k == "dot":
            return n.DotNode(it.pos)
        if k == "nil":
            return n.NilNode(it.pos)
        if k == "var":
            if it.val not in self.vars:
                raise self.error(f'undefined variable "{it.val}"', it.pos)
            return n.VariableNode(it.pos, [it.val])
        if k == "field":
            return n.FieldNode(it.pos, [it.val[1:]])
        if k == "bool":
            return n.BoolNode(it.pos, it.val == "true")
        if k in ("number", "charconst"):
            try:
                return n.NumberNode(it.pos, go_number(it.val), it.val)
            except ValueError as e:
                raise self.error(str(e), it.pos) from None
        if k == "lparen":
            self.nest(it.pos)
            pipe = self.pipeline("parenthesized pipeline", "rparen")
            self.depth -= 1
            return pipe
        if k in ("string", "rawstring"):
            return n.StringNode(it.pos, self.unquote(it), it.val)
        self.backup()
        return None

    def unquote(self, it: Item) -> str:
        try:
            return go_unquote(it.val)
        except ValueError as e:
            raise self.error(str(e), it.pos) from None


_OPERAND_START = frozenset(
    {"bool", "charconst", "dot", "field", "ident", "number", "nil", "rawstring", "string"}
    | {"var", "lparen"}
)


def is_empty(tree: n.ListNode) -> bool:
    """Go's IsEmptyTree: only whitespace text and comments (a redefinition may replace it)."""
    for node in tree.nodes:
        if isinstance(node, n.TextNode):
            if node.text.strip(SPACE):
                return False
        elif not isinstance(node, n.CommentNode):
            return False
    return True


def parse(
    name: str, text: str, funcs: Container[str], left: str = "{{", right: str = "}}"
) -> dict[str, n.ListNode]:
    """Parse ``text`` as template ``name``: every template it defines, by name."""
    return Parser(name, text, funcs, left, right).parse()
