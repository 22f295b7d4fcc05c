"""Dockerfile parsing: lines, continuations, directives, flags, JSON forms, variables.

Pure: text in, instructions out. Each ``Instruction`` keeps its 1-based line so
every error names ``file:line``. ``expand`` substitutes ``$VAR``, ``${VAR}``,
``${VAR:-default}``, ``${VAR:+alt}`` and ``${VAR:?message}`` (and their forms
without the colon, which only test for unset) the way Docker does; a
``${VAR:?message}`` with VAR unset raises ``UnsetVariableError``, which the
evaluator reports at the instruction's ``file:line``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from shipway.model.errors import InputError

KNOWN = {
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
}
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_FLAG = re.compile(r"^--([a-zA-Z][a-zA-Z0-9-]*)(?:=(.*))?$")


@dataclass(frozen=True)
class Instruction:
    cmd: str
    rest: str
    line: int
    flags: dict[str, str] = field(default_factory=dict)
    json_args: list[str] | None = None
    heredocs: tuple[tuple[str, str], ...] = ()  # (name, body) of each <<NAME

    @property
    def original(self) -> str:
        flags = " ".join(
            f"--{k}={one}" for k, v in sorted(self.flags.items()) for one in v.split("\n")
        )
        return f"{self.cmd} {flags + ' ' if flags else ''}{self.rest}".strip()


@dataclass
class Stage:
    index: int
    base: str
    name: str | None
    line: int
    platform: str | None = None
    instructions: list[Instruction] = field(default_factory=list)


@dataclass
class Dockerfile:
    file: str
    global_args: list[Instruction]
    stages: list[Stage]
    escape: str = "\\"

    def stage(self, target: str | None) -> Stage:
        if target is None:
            return self.stages[-1]
        for st in self.stages:
            if st.name == target.lower() or str(st.index) == target:
                return st
        raise InputError(f"no build stage named {target!r}", subject=self.file)


def parse(text: str, file: str = "Dockerfile") -> Dockerfile:
    escape = "\\"
    lines = text.splitlines()
    body_start = 0
    for i, raw in enumerate(lines):
        m = _DIRECTIVE.match(raw)
        if not m:
            break
        if m.group(1).lower() == "escape":
            escape = m.group(2)
            if escape not in ("\\", "`"):
                raise InputError("escape must be \\ or `", file=file, line=i + 1)
        body_start = i + 1
    instructions = list(_logical_lines(lines, body_start, escape, file))
    return _stages(instructions, file, escape)


_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")


def _logical_lines(lines: list[str], start: int, escape: str, file: str) -> list[Instruction]:
    out: list[Instruction] = []
    buf: list[str] = []
    first = 0
    idx = start
    while idx < len(lines):
        raw = lines[idx]
        idx += 1
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue  # comment lines inside a continuation are dropped
        if not buf:
            first = idx
            raw = raw.lstrip()
        elif not stripped:
            continue  # an empty line inside a continuation is skipped
        # As Docker's parser: the escape and what follows it are cut, the next line is
        # appended as it is (its leading whitespace kept, no space added).
        if raw.rstrip().endswith(escape):
            buf.append(raw.rstrip(" \t\r\n")[:-1])
            continue
        buf.append(raw)
        ins = parse_instruction("".join(buf).strip(), first, file)
        buf = []
        if ins.cmd in ("RUN", "COPY", "ADD") and ins.json_args is None:
            docs: list[tuple[str, str]] = []
            for m in _HEREDOC.finditer(ins.rest):
                body, idx = _heredoc(lines, idx, m.group(3), bool(m.group(1)), file, first)
                docs.append((m.group(3), body))
            if docs:
                ins = replace(ins, heredocs=tuple(docs))
        out.append(ins)
    if buf:
        out.append(parse_instruction("".join(buf).strip(), first, file))
    return out


def _heredoc(
    lines: list[str], idx: int, name: str, strip_tabs: bool, file: str, line: int
) -> tuple[str, int]:
    body: list[str] = []
    while idx < len(lines):
        raw = lines[idx]
        idx += 1
        text = raw.lstrip("\t") if strip_tabs else raw
        if text.rstrip() == name:
            return "".join(f"{b}\n" for b in body), idx
        body.append(text)
    raise InputError(f"heredoc <<{name} is not terminated", file=file, line=line)


def parse_instruction(text: str, line: int, file: str) -> Instruction:
    cmd, _, rest = text.partition(" ")
    upper = cmd.upper()
    if upper not in KNOWN:
        raise InputError(f"unknown instruction {cmd}", file=file, line=line)
    rest = rest.strip()
    flags: dict[str, str] = {}
    if upper in ("COPY", "ADD", "FROM", "RUN", "HEALTHCHECK"):
        while rest.startswith("--"):
            token, _, tail = rest.partition(" ")
            m = _FLAG.match(token)
            if not m:
                raise InputError(f"bad flag {token}", file=file, line=line)
            value = m.group(2) if m.group(2) is not None else "true"
            name = m.group(1)
            flags[name] = f"{flags[name]}\n{value}" if name in flags else value  # repeatable
            rest = tail.strip()
    json_args = None
    if upper in ("RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME") and rest.startswith(
        "["
    ):
        try:
            parsed = json.loads(rest)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
            json_args = parsed
    if upper == "SHELL" and not json_args:
        raise InputError("SHELL needs a JSON array of strings", file=file, line=line)
    if not rest and upper not in ("RUN", "CMD", "ENTRYPOINT"):
        raise InputError(f"{upper} needs arguments", file=file, line=line)
    return Instruction(upper, rest, line, flags, json_args)


def _stages(instructions: list[Instruction], file: str, escape: str) -> Dockerfile:
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    for ins in instructions:
        if ins.cmd == "FROM":
            words = ins.rest.split()
            name = None
            if len(words) == 3 and words[1].lower() == "as":
                name = words[2].lower()
            elif len(words) != 1:
                raise InputError("FROM takes IMAGE [AS NAME]", file=file, line=ins.line)
            stages.append(
                Stage(len(stages), words[0], name, ins.line, platform=ins.flags.get("platform"))
            )
        elif not stages:
            if ins.cmd != "ARG":
                raise InputError(f"{ins.cmd} before the first FROM", file=file, line=ins.line)
            global_args.append(ins)
        else:
            stages[-1].instructions.append(ins)
    if not stages:
        raise InputError("no FROM instruction", file=file, line=1)
    return Dockerfile(file, global_args, stages, escape)


_VAR = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)


class UnsetVariableError(InputError):
    """``${VAR:?message}`` (or ``${VAR?message}``) with VAR unset; the caller adds file:line."""


def expand(text: str, env: dict[str, str]) -> str:
    """Substitute variables; ``\\$`` stays a literal dollar."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        if ch == "$":
            m = _VAR.match(text, i)
            if m:
                out.append(_subst(m, env))
                i = m.end()
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _subst(m: re.Match[str], env: dict[str, str]) -> str:
    name = m.group(1) or m.group(4)
    op, word = m.group(2), m.group(3) or ""
    value = env.get(name)
    if op is None:
        return value or ""
    # ``:-``/``:+``/``:?`` treat an empty value as unset; ``-``/``+``/``?`` only an unset one
    present = bool(value) if op.startswith(":") else value is not None
    if op.endswith("-"):
        return (value or "") if present else expand(word, env)
    if op.endswith("+"):
        return expand(word, env) if present else ""
    if not present:
        empty = "is not allowed to be empty" if op == ":?" and value is not None else ""
        reason = expand(word, env) or empty or "is not allowed to be unset"
        raise UnsetVariableError(f"{name}: {reason}")
    return value or ""


def split_words(text: str) -> list[str]:
    """Split on whitespace, honouring double and single quotes (for COPY, EXPOSE, VOLUME)."""
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    has = False
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
            else:
                cur.append(ch)
        elif ch in "\"'":
            quote, has = ch, True
        elif ch.isspace():
            if cur or has:
                words.append("".join(cur))
            cur, has = [], False
        else:
            cur.append(ch)
    if cur or has:
        words.append("".join(cur))
    return words


def key_values(text: str, cmd: str, file: str, line: int) -> list[tuple[str, str]]:
    """``K=V K2="v 2"`` pairs, or the legacy ``K V`` form of ENV and LABEL."""
    words = split_words(text)
    if words and "=" not in words[0]:
        if cmd == "ARG":
            return [(words[0], "")]
        key, _, value = text.strip().partition(" ")
        return [(key, value.strip())]
    pairs = []
    for w in words:
        if "=" not in w:
            raise InputError(f"{cmd} expects KEY=VALUE, got {w!r}", file=file, line=line)
        k, _, v = w.partition("=")
        pairs.append((k, v))
    return pairs
