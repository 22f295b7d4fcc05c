"""kubectl's printers, pure: output formats, custom columns, ``--sort-by``, fitting tables.

Data in, text out; no I/O but reading a ``-file=`` template (``read_template``).

- ``parse_format("custom-columns=NAME:.metadata.name")`` → ``Format(kind, template)``;
  an unknown format is kubectl's ``unable to match a printer suitable for the
  output format ...`` (an ``InputError``: shipway exits 2 on bad input).
- ``custom_columns(spec)`` → ``[(header, JSONPath)]`` (kubectl's
  ``NAME:.path,...``; each path relaxed, ``a.b`` means ``{.a.b}``);
  ``column_value`` prints a cell as kubectl does: values joined by ``,``,
  ``<none>`` when the path finds nothing, Go's ``%v`` of each value.
- ``sort_order(objects, expr)``: the order ``--sort-by`` gives (kubectl's
  ``RuntimeSort``: the first value of the path; numbers by value, strings
  byte-wise, as kubectl 1.32 sorts them (``web-10`` before ``web-9``), objects
  without the field first; stable).
- ``fit(widths, headers, limit)``: column widths shortened, least important
  first (from the right, status columns last, never NAME or NAMESPACE), and
  left out when shortening is not enough, so a table fits ``limit``.
- ``colour(header, cell)``: the ANSI colour of a status cell, or ``None``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from shipway.model.errors import InputError

if TYPE_CHECKING:  # JSONPath (and Go's fmt) load only when a template or --sort-by is used
    from shipway.templates.jsonpath import JSONPath

TEMPLATE_FORMATS = ("jsonpath", "jsonpath-file", "jsonpath-as-json", "custom-columns",
                    "custom-columns-file")  # fmt: skip
PLAIN_FORMATS = ("table", "json", "yaml", "wide", "name")
ALLOWED = sorted(
    {"json", "yaml", "wide", "name", "jsonpath", "jsonpath-file", "jsonpath-as-json",
     "custom-columns", "custom-columns-file"}
)  # fmt: skip
"""What kubectl's error message lists as allowed (``table`` is the default, not named)."""

NONE = "<none>"
"""A custom column whose path finds nothing (kubectl's)."""

PINNED = frozenset({"NAME", "NAMESPACE", "ID", "OBJECT", "APP"})
"""Columns never shortened to fit the terminal: names (an event's OBJECT, a release's APP)."""


class Format(NamedTuple):
    """``-o``, parsed: ``kind`` (``json``, ``custom-columns``...) and its ``template``."""

    kind: str
    template: str = ""


def _unknown(value: str, allowed: Sequence[str] = ALLOWED) -> InputError:
    return InputError(
        f'unable to match a printer suitable for the output format "{value}", '
        f"allowed formats are: {','.join(allowed)}"
    )


def without_names(value: str) -> InputError:
    """kubectl's message for ``-o name`` where a command's output is not named objects."""
    return _unknown(value, [f for f in ALLOWED if f != "name"])


def parse_format(value: str) -> Format:
    """``-o VALUE`` as kubectl reads it; an ``InputError`` with kubectl's text otherwise."""
    if value in PLAIN_FORMATS:
        return Format(value)
    kind, eq, template = value.partition("=")
    if kind in TEMPLATE_FORMATS:
        if not eq or not template:
            if kind.startswith("custom-columns"):
                raise InputError("custom-columns format specified but no custom columns given")
            raise InputError(f"template format specified but no template given ({kind})")
        return Format(kind, template)
    raise _unknown(value)


def read_template(fmt: Format) -> Format:
    """A ``-file`` format with its file's text in place of the path."""
    if not fmt.kind.endswith("-file"):
        return fmt
    from pathlib import Path

    try:
        text = Path(fmt.template).expanduser().read_text()
    except OSError as exc:
        raise InputError(f"error reading template {fmt.template}, {exc.strerror}") from None
    return Format(fmt.kind.removesuffix("-file"), text)


# -- custom columns ------------------------------------------------------------------------


Columns = list[tuple[str, "JSONPath"]]


def _path(expression: str) -> JSONPath:
    from shipway.templates import jsonpath

    return jsonpath.compile(jsonpath.relaxed(expression))


def custom_columns(spec: str) -> Columns:
    """``NAME:.metadata.name,STATUS:.status.sync.status`` → headers with compiled paths."""
    if not spec:
        raise InputError("custom-columns format specified but no custom columns given")
    columns: Columns = []
    for part in spec.split(","):
        header, colon, path = part.partition(":")
        if not colon:
            raise InputError(
                f"unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"
            )
        columns.append((header, _path(path)))
    return columns


def custom_columns_file(text: str) -> Columns:
    """kubectl's ``custom-columns-file``: a line of headers, a line of paths."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) != 2:
        raise InputError(f"unexpected template: {text!r}: expected two lines (headers, paths)")
    headers, paths = lines[0].split(), lines[1].split()
    if len(headers) != len(paths):
        raise InputError(
            f"expected {len(headers)} json path expressions, found {len(paths)}: {lines[1]}"
        )
    return [(h, _path(p)) for h, p in zip(headers, paths, strict=True)]


def column_value(path: JSONPath, obj: Any) -> str:
    """One custom-columns cell: every value found, Go's ``%v``, joined by commas."""
    from shipway.templates.gotemplate.gofmt import sprint_value

    found = [v for values in path.find(obj) for v in values]
    if not found:
        return NONE
    return ",".join(sprint_value(v) for v in found)


# -- --sort-by ------------------------------------------------------------------------------


def _less(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return (not a) and bool(b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a < b
    if isinstance(a, str) and isinstance(b, str):
        return a < b  # byte order of UTF-8 is code point order: Go's string comparison
    if isinstance(a, list) and isinstance(b, list):
        for x, y in zip(a, b, strict=False):
            if _less(x, y):
                return True
            if _less(y, x):
                return False
        return len(a) < len(b)
    raise InputError(f"field is an unsortable type: {type(a).__name__}")


_ABSENT = object()


def sort_order(objects: Sequence[Any], expression: str) -> list[int]:
    """The indices of ``objects`` in ``--sort-by EXPRESSION`` order (stable)."""
    path = _path(expression)
    keys: list[Any] = []
    for obj in objects:
        found = path.find(obj)
        keys.append(found[0][0] if found and found[0] else _ABSENT)
    if objects and all(k is _ABSENT for k in keys):
        raise InputError(f"couldn't find any field with path {expression!r} in the list of objects")

    def cmp(i: int, j: int) -> int:
        a, b = keys[i], keys[j]
        if a is _ABSENT or b is _ABSENT:
            return (a is not _ABSENT) - (b is not _ABSENT)
        return -1 if _less(a, b) else (1 if _less(b, a) else 0)

    return sorted(range(len(objects)), key=functools.cmp_to_key(cmp))


# -- tables ---------------------------------------------------------------------------------


MIN_WIDTH = 6
"""kubectl's tabwriter: a cell with its padding is at least this wide."""
PADDING = 3


def widths(lines: Sequence[Sequence[str]]) -> list[int]:
    """Each column's text width (the last column's too, though it is not padded)."""
    if not lines:
        return []
    return [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]


def fit(wanted: Sequence[int], headers: Sequence[str], limit: int | None) -> list[int | None]:
    """Widths that fit ``limit``: the least important columns (the rightmost; never NAME
    or NAMESPACE) are shortened down to their header's width, then left out (``None``),
    then status columns are shortened; a status column is never left out."""
    out: list[int | None] = list(wanted)
    if limit is None or not out:
        return out

    def total() -> int:
        kept = [w for w in out if w is not None]
        return sum(max(w + PADDING, MIN_WIDTH) for w in kept[:-1]) + (kept[-1] if kept else 0)

    movable = [i for i in reversed(range(len(out))) if i and headers[i].upper() not in PINNED]
    plain = [i for i in movable if headers[i].upper() not in STATUS_HEADERS]

    def shrink(columns: list[int]) -> None:
        for i in columns:
            width, excess = out[i], total() - limit
            if excess > 0 and width is not None:
                out[i] = max(min(len(headers[i]), width), 4, width - excess)

    shrink(plain)
    for i in plain:  # then leave out plain columns; status columns never
        if total() <= limit:
            break
        out[i] = None
    shrink([i for i in movable if i not in plain])
    return out


def shorten(cell: str, width: int, ellipsis: str = "…") -> str:
    """``cell`` cut to ``width`` characters, ending in ``ellipsis`` when cut."""
    if len(cell) <= width:
        return cell
    return cell[: max(width - len(ellipsis), 0)] + ellipsis


def render(lines: Sequence[Sequence[str]], cols: Sequence[int]) -> list[str]:
    """Rows padded to ``cols`` (kubectl's tabwriter), the last cell unpadded, no trailing space."""
    out = []
    for line in lines:
        pairs = zip(line[:-1], cols, strict=False)
        cells = [c.ljust(max(w + PADDING, MIN_WIDTH) - PADDING) for c, w in pairs]
        out.append("   ".join([*cells, *line[-1:]]).rstrip())
    return out


STATUS_HEADERS = frozenset(
    {"STATUS", "HEALTH", "SYNC", "CONCLUSION", "PHASE", "READY", "RESULT", "TYPE", "SYNC STATUS",
     "HEALTH STATUS"}
)  # fmt: skip
_GREEN = frozenset({"synced", "healthy", "succeeded", "success", "true", "ready", "active",
                    "running", "normal", "completed", "verified", "passed"})  # fmt: skip
_YELLOW = frozenset({"outofsync", "progressing", "pending", "suspended", "unknown", "queued",
                     "in_progress", "waiting", "skipped", "cancelled", "paused"})  # fmt: skip
_RED = frozenset({"degraded", "failed", "failure", "missing", "error", "false", "warning",
                  "errored", "timed_out", "aborted", "rejected"})  # fmt: skip
ANSI = {"green": "\x1b[32m", "yellow": "\x1b[33m", "red": "\x1b[31m"}
RESET = "\x1b[0m"


def colour(header: str, cell: str) -> str | None:
    """The colour of a status cell (``Synced`` green, ``OutOfSync`` yellow...), else None."""
    if header.upper() not in STATUS_HEADERS:
        return None
    word = cell.strip().lower()
    for name, words in (("green", _GREEN), ("yellow", _YELLOW), ("red", _RED)):
        if word in words:
            return name
    return None


def coloured(lines: list[str], header_cells: Sequence[str], rows: Sequence[Sequence[str]],
             cols: Sequence[int], skip_first: bool) -> list[str]:  # fmt: skip
    """``render``'s lines with status cells wrapped in ANSI colours (widths unchanged)."""
    out = list(lines)
    for n, row in enumerate(rows):
        at = n + (1 if skip_first else 0)
        parts: list[str] = []
        for i, cell in enumerate(row):
            last = i == len(row) - 1
            pad = "" if last else " " * (max(cols[i] + PADDING, MIN_WIDTH) - len(cell))
            c = colour(header_cells[i], cell) if i < len(header_cells) else None
            parts.append(f"{ANSI[c]}{cell}{RESET}{pad}" if c else cell + pad)
        out[at] = "".join(parts).rstrip()
    return out


def data_of(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """kubectl's ``List`` of ``items`` (what ``-o json`` and a list's jsonpath see)."""
    return {"apiVersion": "v1", "kind": "List", "items": list(items)}
