"""Bounded reading of untrusted text: size, encoding, nesting depth and YAML aliases.

Every reader of YAML or JSON in shipway (resources, workflows, action
metadata, rendered manifests, webhook bodies, and what comes from
repositories and servers: ApplicationSet git files, the updater's files,
notification values and annotations, Kargo http answers) goes through this
module before it builds any data, so a hostile document is refused cheaply:

- a file (or text) larger than ``Limits.max_bytes`` (default 10 MiB,
  ``SHIPWAY_MAX_FILE_BYTES``); webhook bodies have their own limit
  (default 25 MiB, GitHub's, ``SHIPWAY_MAX_BODY_BYTES``, enforced in
  ``shipway.server.bodylimit``);
- bytes that are not UTF-8 (the line and column of the first bad byte);
- collections nested deeper than ``Limits.max_depth`` (default 200);
- YAML aliases that refer to their own (still open) anchor, or that together
  expand to more than ``Limits.max_alias_nodes`` nodes in one document
  (default 100,000): a "billion laughs" document is refused after reading a
  few hundred events, long before anything is expanded.

YAML is checked on the parser's event stream (libyaml's, which is fast; the
pure-Python ruamel parser only when libyaml rejects text that ruamel may
accept), so the check costs a fraction of a load. Pure: no I/O beyond
reading the limit variables from the environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shipway.model.errors import InputError

MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 10 * MiB
DEFAULT_MAX_BODY_BYTES = 25 * MiB
DEFAULT_MAX_DEPTH = 200
DEFAULT_MAX_ALIAS_NODES = 100_000

_UNITS = {"": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": MiB, "mb": MiB, "mib": MiB,
          "g": 1024 * MiB, "gb": 1024 * MiB, "gib": 1024 * MiB}  # fmt: skip


def parse_size(text: str, name: str) -> int:
    """``10485760``, ``10MiB``, ``512k`` → bytes; a bad value is an ``InputError``."""
    raw = text.strip().lower().replace(" ", "")
    digits = raw.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = raw[len(digits) :]
    if not digits.isdigit() or unit not in _UNITS:
        raise InputError(f"not a size in bytes: {text!r} (e.g. 10485760 or 10MiB)", subject=name)
    return int(digits) * _UNITS[unit]


def _env_size(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return parse_size(raw, name) if raw.strip() else default


def max_file_bytes() -> int:
    """The size limit of a file read as YAML/JSON (``SHIPWAY_MAX_FILE_BYTES``, default 10 MiB)."""
    return _env_size("SHIPWAY_MAX_FILE_BYTES", DEFAULT_MAX_BYTES)


def max_body_bytes() -> int:
    """The size limit of a webhook body (``SHIPWAY_MAX_BODY_BYTES``, default 25 MiB)."""
    return _env_size("SHIPWAY_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)


@dataclass(frozen=True)
class Limits:
    """What one document may cost."""

    max_bytes: int = field(default_factory=max_file_bytes)
    max_depth: int = DEFAULT_MAX_DEPTH
    max_alias_nodes: int = DEFAULT_MAX_ALIAS_NODES
    what: str = "file"
    size_variable: str = "SHIPWAY_MAX_FILE_BYTES"


def body_limits() -> Limits:
    """The limits of a webhook body (``SHIPWAY_MAX_BODY_BYTES``)."""
    return Limits(max_bytes=max_body_bytes(), what="body", size_variable="SHIPWAY_MAX_BODY_BYTES")


def _human(n: int) -> str:
    return f"{n / MiB:g} MiB" if n >= MiB and n % (MiB // 16) == 0 else f"{n} bytes"


def check_size(data: str | bytes, file: str, limits: Limits | None = None) -> None:
    """Refuse ``data`` larger than the limit (a str is measured in UTF-8 bytes)."""
    lim = limits or Limits()
    size = len(data)
    if isinstance(data, str) and size * 4 > lim.max_bytes:  # only encode when it could matter
        size = len(data.encode("utf-8", "surrogatepass"))
    if size > lim.max_bytes:
        raise size_error(size, lim.max_bytes, file, lim.what, lim.size_variable)


def size_error(
    size: int, limit: int, file: str, what: str = "file", variable: str = "SHIPWAY_MAX_FILE_BYTES"
) -> InputError:
    """The refusal of ``size`` bytes over ``limit`` (naming the variable that sets the limit)."""
    return InputError(
        f"{what} is {_human(size)}, larger than the limit of {_human(limit)} ({variable})",
        file=file,
    )


def decode(data: bytes, file: str) -> str:
    """UTF-8 text of ``data`` (a leading BOM dropped); bad bytes name their line and column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise InputError(
            f"not UTF-8 text (byte 0x{bad} cannot be decoded)", file=file, line=line, column=column
        ) from None


def read_bytes_limited(data: bytes, file: str, limits: Limits | None = None) -> str:
    """Check the size of ``data``, then decode it as UTF-8."""
    check_size(data, file, limits)
    return decode(data, file)


# --- YAML ---------------------------------------------------------------------------------


def _loader() -> Any:
    """libyaml's safe loader (PyYAML's own when libyaml is missing); YAML loads on first use."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _refuse(message: str, file: str, event: Any) -> InputError:
    mark = getattr(event, "start_mark", None)
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return InputError(message, file=file, line=line, column=column)


def check_events(events: Iterable[Any], file: str, limits: Limits | None = None) -> None:
    """Walk a YAML event stream (PyYAML's or ruamel's) and refuse what would blow up.

    Raises ``InputError`` at the event that crosses a limit: nesting deeper than
    ``max_depth``, an alias to an anchor whose node is still open (a
    self-reference), or aliases expanding to more than ``max_alias_nodes``
    nodes in one document. Undefined aliases are left to the parser.
    """
    lim = limits or Limits()
    stack: list[list[Any]] = []  # [expanded size, anchor, generation] per open collection
    sizes: dict[str, int | None] = {}  # anchor -> expanded size; None while its node is open
    generation: dict[str, int] = {}
    expanded = 0
    for ev in events:
        kind = type(ev).__name__
        if kind in ("MappingStartEvent", "SequenceStartEvent"):
            anchor = ev.anchor
            gen = 0
            if anchor is not None:
                gen = generation[anchor] = generation.get(anchor, 0) + 1
                sizes[anchor] = None
            stack.append([1, anchor, gen])
            if len(stack) > lim.max_depth:
                raise _refuse(f"nested deeper than {lim.max_depth} levels", file, ev)
        elif kind in ("MappingEndEvent", "SequenceEndEvent"):
            size, anchor, gen = stack.pop()
            if anchor is not None and generation.get(anchor) == gen:
                sizes[anchor] = size
            if stack:
                stack[-1][0] += size
        elif kind == "ScalarEvent":
            if ev.anchor is not None:
                generation[ev.anchor] = generation.get(ev.anchor, 0) + 1
                sizes[ev.anchor] = 1
            if stack:
                stack[-1][0] += 1
        elif kind == "AliasEvent":
            name = ev.anchor
            if name not in sizes:
                continue  # undefined: the parser reports it with its own words
            size = sizes[name]
            if size is None:
                raise _refuse(f"alias *{name} refers to its own anchor (a cycle)", file, ev)
            expanded += size
            if expanded > lim.max_alias_nodes:
                raise _refuse(
                    f"aliases expand to more than {lim.max_alias_nodes} nodes "
                    f"(a billion-laughs document?); *{name} alone is {size}",
                    file,
                    ev,
                )
            if stack:
                stack[-1][0] += size
        elif kind == "DocumentStartEvent":
            stack.clear()
            sizes.clear()
            generation.clear()
            expanded = 0


def yaml_error(exc: Exception, file: str) -> InputError:
    """An ``InputError`` at the mark of a PyYAML or ruamel error (its problem as the reason)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    reason = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    return InputError(f"invalid YAML: {reason}", file=file, line=line, column=column)


def check_yaml(text: str, file: str, limits: Limits | None = None) -> None:
    """Check ``text`` against the limits before a loader builds anything from it.

    libyaml's parser reads the events; when it refuses the text, ruamel's parser
    reads them instead (YAML 1.2 allows a little more), and a syntax error is
    left for the caller's own loader to report.
    """
    import yaml

    check_size(text, file, limits)
    try:
        check_events(yaml.parse(text, Loader=_loader()), file, limits)
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(getattr(exc, "problem", "")):
            err = yaml_error(exc, file)  # libyaml's own bound (1000), past ours
            raise InputError(f"nested deeper than {(limits or Limits()).max_depth} levels",
                             file=file, line=err.line, column=err.column) from None  # fmt: skip
        _check_ruamel(text, file, limits)


def _check_ruamel(text: str, file: str, limits: Limits | None) -> None:
    """The same walk over ruamel's events (text libyaml refuses but YAML 1.2 may allow)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError as RuamelError

    try:
        check_events(YAML(typ="rt").parse(text), file, limits)
    except RuamelError:
        return  # the loader reports the syntax error with its own position
    except RecursionError:
        raise InputError(f"nested deeper than {(limits or Limits()).max_depth} levels",
                         file=file) from None  # fmt: skip


def load_yaml_all(text: str, file: str, limits: Limits | None = None) -> list[Any]:
    """Every document of ``text`` loaded with libyaml (YAML 1.1, as PyYAML), after the checks."""
    import yaml

    check_size(text, file, limits)
    loader = _loader()
    try:
        check_events(yaml.parse(text, Loader=loader), file, limits)
        return list(yaml.load_all(text, Loader=loader))
    except yaml.YAMLError as exc:
        raise yaml_error(exc, file) from None
    except RecursionError:
        raise InputError("nested too deeply", file=file) from None


# --- JSON ---------------------------------------------------------------------------------


def _json_depth_ok(value: Any, max_depth: int) -> bool:
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                return False
            children = item.values() if isinstance(item, Mapping) else item
            todo += [(c, depth + 1) for c in children if isinstance(c, dict | list)]
    return True


def load_json(data: str | bytes, file: str, limits: Limits | None = None) -> Any:
    """Parse JSON after the size, encoding and depth checks; errors name line and column."""
    lim = limits or Limits()
    check_size(data, file, lim)
    text = decode(data, file) if isinstance(data, bytes) else data
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON: {exc.msg}", file=file, line=exc.lineno, column=exc.colno
        ) from None
    except RecursionError:
        raise InputError(f"JSON nested deeper than {lim.max_depth} levels", file=file) from None
    opens = text.count("[") + text.count("{")
    if opens > lim.max_depth and not _json_depth_ok(value, lim.max_depth):
        raise InputError(f"JSON nested deeper than {lim.max_depth} levels", file=file)
    return value
