"""Workflow commands in step output, secret masking, and the runner's key=value files.

Pure text processing: ``Masker`` (from ``shipway.ci.masking``) hides secrets; ``parse_command``
reads ``::name key=value::message``; ``parse_env_file`` reads ``GITHUB_ENV``
/ ``GITHUB_OUTPUT`` / ``GITHUB_STATE`` content (``NAME=value`` and
``NAME<<DELIMITER`` heredocs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shipway.ci.masking import MASK, Masker

__all__ = ["MASK", "Command", "Masker", "parse_command", "parse_env_file"]


@dataclass
class Command:
    name: str
    props: dict[str, str] = field(default_factory=dict)
    message: str = ""


_CMD = re.compile(r"^\s*::([A-Za-z][A-Za-z0-9_-]*)(?:\s+([^:]*))?::(.*)$")


def _unescape_data(s: str) -> str:
    return s.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_prop(s: str) -> str:
    return _unescape_data(s).replace("%3A", ":").replace("%2C", ",")


def parse_command(line: str) -> Command | None:
    if "::" not in line:
        return None
    m = _CMD.match(line)
    if not m:
        return None
    props: dict[str, str] = {}
    if m.group(2):
        for part in m.group(2).split(","):
            key, sep, value = part.partition("=")
            if sep:
                props[key.strip()] = _unescape_prop(value)
    return Command(m.group(1), props, _unescape_data(m.group(3)))


class FileFormatError(ValueError):
    pass


def parse_env_file(text: str) -> list[tuple[str, str]]:
    """Pairs from a ``GITHUB_ENV``-style file, in order; raise on a bad heredoc."""
    pairs: list[tuple[str, str]] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\r")
        i += 1
        if not line.strip():
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if heredoc >= 0 and (eq < 0 or heredoc < eq):
            name, delim = line[:heredoc], line[heredoc + 2 :]
            if not name or not delim:
                raise FileFormatError(f"invalid heredoc line {line!r}")
            body: list[str] = []
            while True:
                if i >= len(lines):
                    raise FileFormatError(f"heredoc for {name!r}: delimiter {delim!r} not found")
                cur = lines[i].rstrip("\r")
                i += 1
                if cur == delim:
                    break
                body.append(cur)
            pairs.append((name, "\n".join(body)))
        elif eq > 0:
            pairs.append((line[:eq], line[eq + 1 :]))
        else:
            raise FileFormatError(f"invalid line {line!r}: expected NAME=value or NAME<<DELIMITER")
    return pairs
