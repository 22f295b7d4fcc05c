"""sprig functions Argo CD's templates reach through sprig's ``TxtFuncMap`` that the other
``funcs_sprig*`` modules leave out: the ``must`` twins of list, regex and date functions
(shipway's plain ones already fail where sprig's ``must`` ones do), paths (``base``,
``dir``, ``clean``, ``ext``, ``isAbs`` and the ``os`` ones, as on Linux), ``seq``,
``chunk``, ``wrap``/``wrapWith``, ``abbrevboth``, ``biggest``, ``add1f``, ``typeIsLike``,
``uuidv4`` and the ``rand*`` strings, ``shuffle``.

Pure but for the random ones. ``EXTRA`` is merged into ``sprig_funcs()``; a name another
module defines is never replaced.
"""

from __future__ import annotations

import posixpath
import random
import secrets
import string
import textwrap
import uuid
from collections.abc import Callable
from typing import Any

from shipway.templates.gojson import to_float, to_int
from shipway.templates.gotemplate import gofmt
from shipway.templates.gotemplate.exec import FuncError
from shipway.templates.gotemplate.funcs_sprig_lists import LISTS
from shipway.templates.gotemplate.funcs_sprig_more import MORE
from shipway.templates.gotemplate.funcs_values import MAX_REPEAT, strval

_MUST = {  # sprig's must twin -> shipway's function (which already fails as the twin does)
    "mustChunk": "chunk", "mustCompact": "compact", "mustHas": "has", "mustInitial": "initial",
    "mustMergeOverwrite": "mergeOverwrite", "mustPrepend": "prepend", "mustPush": "push",
    "mustRest": "rest", "mustReverse": "reverse", "mustWithout": "without",
    "mustRegexFind": "regexFind", "mustRegexFindAll": "regexFindAll",
    "mustRegexReplaceAll": "regexReplaceAll",
    "mustRegexReplaceAllLiteral": "regexReplaceAllLiteral", "mustRegexSplit": "regexSplit",
    "mustDateModify": "dateModify",
}  # fmt: skip


def _base(p: Any) -> str:
    s = strval(p).rstrip("/")
    return posixpath.basename(s) or ("/" if strval(p).startswith("/") else ".")


def _dir(p: Any) -> str:
    return posixpath.dirname(strval(p).rstrip("/") or "/") or "."


def _clean(p: Any) -> str:
    return posixpath.normpath(strval(p)) if strval(p) else "."


def _ext(p: Any) -> str:
    return posixpath.splitext(_base(p))[1]


def _seq(*args: Any) -> str:
    """``seq 3`` → ``1 2 3``; ``seq 2 4``; ``seq 0 2 6`` (start, step, end), as GNU seq."""
    n = [to_int(a) for a in args]
    if len(n) == 1:
        start, step, end = 1, (1 if n[0] >= 1 else -1), n[0]
    elif len(n) == 2:
        start, step, end = n[0], (1 if n[1] >= n[0] else -1), n[1]
    elif len(n) == 3:
        start, step, end = n[0], n[1], n[2]
    else:
        return ""
    if step == 0 or (end - start) * step < 0:
        return ""
    count = (end - start) // step + 1
    if count > MAX_REPEAT:
        raise FuncError(f"seq of {count} numbers is over {MAX_REPEAT}")
    return " ".join(str(start + i * step) for i in range(count))


def _chunk(size: Any, v: Any) -> list[list[Any]]:
    if not isinstance(v, list | tuple):
        raise FuncError(f"Cannot chunk type {gofmt.type_name(v)}")
    n = to_int(size)
    if n <= 0:
        return []
    items = list(v)
    return [items[i : i + n] for i in range(0, len(items), n)]


def _wrap_with(width: Any, sep: Any, s: Any) -> str:
    lines = textwrap.wrap(strval(s), width=max(1, to_int(width)), break_long_words=False,
                          break_on_hyphens=False)  # fmt: skip
    return strval(sep).join(lines)


def _abbrevboth(left: Any, right: Any, s: Any) -> str:
    text, lo, width = strval(s), to_int(left), to_int(right)
    if width < 4 or len(text) <= width:
        return text
    if lo > 4:
        text = "..." + text[lo:]
    return text if len(text) <= width else text[: width - 3] + "..."


def _rand(alphabet: str) -> Callable[[Any], str]:
    return lambda n: "".join(secrets.choice(alphabet) for _ in range(max(0, to_int(n))))


def _shuffle(s: Any) -> str:
    chars = list(strval(s))
    random.shuffle(chars)
    return "".join(chars)


_NEW: dict[str, Callable[..., Any]] = {
    "base": _base, "osBase": _base, "dir": _dir, "osDir": _dir, "clean": _clean,
    "osClean": _clean, "ext": _ext, "osExt": _ext,
    "isAbs": lambda p: strval(p).startswith("/"), "osIsAbs": lambda p: strval(p).startswith("/"),
    "seq": _seq, "chunk": _chunk,
    "wrap": lambda w, s: _wrap_with(w, "\n", s), "wrapWith": _wrap_with,
    "abbrevboth": _abbrevboth,
    "biggest": lambda a, *v: max([to_int(a), *(to_int(x) for x in v)]),
    "add1f": lambda v: to_float(v) + 1.0,
    "typeIsLike": lambda t, v: gofmt.type_name(v) in (strval(t), strval(t).lstrip("*")),
    "uuidv4": lambda: str(uuid.uuid4()),
    "randAlphaNum": _rand(string.ascii_letters + string.digits),
    "randAlpha": _rand(string.ascii_letters), "randNumeric": _rand(string.digits),
    "randAscii": _rand("".join(chr(c) for c in range(32, 127))),
    "randInt": lambda lo, hi: secrets.randbelow(max(1, to_int(hi) - to_int(lo))) + to_int(lo),
    "shuffle": _shuffle,
}  # fmt: skip


def _extra() -> dict[str, Callable[..., Any]]:
    known = {**LISTS, **MORE, **_NEW}
    out = dict(_NEW)
    out.update({twin: known[plain] for twin, plain in _MUST.items() if plain in known})
    return out


EXTRA = _extra()
