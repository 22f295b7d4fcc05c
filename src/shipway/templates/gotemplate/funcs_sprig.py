"""The sprig function library (github.com/Masterminds/sprig v3), the subset Argo CD uses.

Pure. Argument orders are sprig's (the subject last, so pipelines read
``{{ .name | trimPrefix "v" | upper }}``). Functions sprig documents as never
failing return its fallback (``""``, ``0``, nil); the ``must*`` forms and the
rest raise ``FuncError``. Lists and dicts are in ``funcs_sprig_lists``; dates,
regexes, semver, hashes, URLs and YAML in ``funcs_sprig_more``. ``env``/``expandenv``
are left out, as Argo CD does.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from typing import Any

from shipway.templates.gojson import JSONError, go_json, to_float, to_int
from shipway.templates.gotemplate import gofmt
from shipway.templates.gotemplate.exec import FuncError
from shipway.templates.gotemplate.funcs_sprig_lists import LISTS
from shipway.templates.gotemplate.funcs_sprig_more import MORE
from shipway.templates.gotemplate.funcs_values import MAX_REPEAT, bounded, empty, strslice, strval


def _default(d: Any, *given: Any) -> Any:
    if not given or empty(given[0]):
        return d
    return given[0]


def _coalesce(*v: Any) -> Any:
    for e in v:
        if not empty(e):
            return e
    return None


def _ternary(vt: Any, vf: Any, cond: Any) -> Any:
    if not isinstance(cond, bool):
        raise FuncError(f"wrong type for value; expected bool; got {gofmt.type_name(cond)}")
    return vt if cond else vf


def _to_json(v: Any, must: bool = False, **kw: Any) -> str:
    try:
        return go_json(v, **kw)
    except JSONError as e:
        if must:
            raise FuncError(str(e)) from None
        return ""


def _from_json(s: str, must: bool = False) -> Any:
    try:
        return json.loads(strval(s))
    except ValueError as e:
        if must:
            raise FuncError(str(e)) from None
        return None


def _b64dec(s: str) -> str:
    try:
        return base64.b64decode(strval(s), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError) as e:
        return f"illegal base64 data: {e}"


def _b32dec(s: str) -> str:
    try:
        return base64.b32decode(strval(s)).decode("utf-8", "replace")
    except (binascii.Error, ValueError) as e:
        return f"illegal base32 data: {e}"


def _title(s: str) -> str:
    out, prev = [], " "
    for c in strval(s):
        out.append(c.upper() if not (prev.isalnum() or prev in "_'") else c)
        prev = c
    return "".join(out)


def _untitle(s: str) -> str:
    out, prev = [], " "
    for c in strval(s):
        out.append(c.lower() if not (prev.isalnum() or prev in "_'") else c)
        prev = c
    return "".join(out)


def _trunc(c: int, s: str) -> str:
    s = strval(s)
    if c < 0 and len(s) + c > 0:
        return s[len(s) + c :]
    if c >= 0 and len(s) > c:
        return s[:c]
    return s


def _quote(*args: Any) -> str:
    return " ".join(gofmt.go_quote(strval(a)) for a in args if a is not None)


def _squote(*args: Any) -> str:
    return " ".join(f"'{strval(a)}'" for a in args if a is not None)


def _cat(*args: Any) -> str:
    return " ".join(gofmt.sprint_value(a) for a in args if a is not None)


def _indent(spaces: int, s: str) -> str:
    pad = " " * bounded(spaces)
    return pad + strval(s).replace("\n", "\n" + pad)


def _repeat(count: int, s: str) -> str:
    s = strval(s)
    k = to_int(count)
    if k < 0:
        raise FuncError("strings: negative Repeat count")
    if k * max(len(s), 1) > MAX_REPEAT:
        raise FuncError(f"repeat result over the limit of {MAX_REPEAT} characters")
    return s * k


def _substr(start: int, end: int, s: str) -> str:
    s, start, end = strval(s), to_int(start), to_int(end)
    if start < 0:
        return s[:end]
    if end < 0 or end > len(s):
        return s[start:]
    return s[start:end] if start <= end else ""


def _split(sep: str, s: str) -> dict[str, str]:
    return {f"_{i}": p for i, p in enumerate(_go_split(strval(s), sep))}


def _go_split(s: str, sep: str, n: int = -1) -> list[str]:
    if n == 0:
        return []
    if sep == "":
        chars = list(s)
        if n > 0 and len(chars) > n:
            return [*chars[: n - 1], "".join(chars[n - 1 :])]
        return chars
    return s.split(sep, n - 1) if n > 0 else s.split(sep)


def _div(a: Any, b: Any) -> int:
    x, y = to_int(a), to_int(b)
    if y == 0:
        raise FuncError("runtime error: integer divide by zero")
    q = abs(x) // abs(y)
    return q if (x >= 0) == (y >= 0) else -q


def _mod(a: Any, b: Any) -> int:
    x, y = to_int(a), to_int(b)
    if y == 0:
        raise FuncError("runtime error: integer divide by zero")
    return x - _div(x, y) * y


def _round(a: Any, p: Any, r_opt: Any = 0.5) -> float:
    x, places = to_float(a), to_int(p)
    r = to_float(r_opt)
    pow_ = 10.0**places
    digit = pow_ * x
    _, frac = math.modf(digit)
    rounded = math.ceil(digit) if frac >= r else math.floor(digit)
    return rounded / pow_


def _atoi(s: Any) -> int:
    try:
        return int(strval(s), 10)
    except ValueError:
        return 0


def _plural(one: str, many: str, count: Any) -> str:
    return one if to_int(count) == 1 else many


def _fail(msg: str) -> Any:
    raise FuncError(strval(msg))


def _kind_of(v: Any) -> str:
    if v is None:
        return "invalid"
    t = gofmt.type_name(v)
    return {"[]interface {}": "slice", "map[string]interface {}": "map"}.get(
        t, "struct" if t.startswith("time.") else t
    )


def _camelcase(s: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in strval(s).replace("-", "_").split("_"))


def _words(s: str) -> list[str]:
    import re

    return re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+", strval(s))


SPRIG: dict[str, Callable[..., Any]] = {
    # flow and defaults
    "default": _default,
    "empty": empty,
    "coalesce": _coalesce,
    "all": lambda *v: all(not empty(e) for e in v),
    "any": lambda *v: any(not empty(e) for e in v),
    "ternary": _ternary,
    "fail": _fail,
    # encoding
    "toJson": lambda v: _to_json(v),
    "mustToJson": lambda v: _to_json(v, True),
    "toPrettyJson": lambda v: _to_json(v, indent="  "),
    "mustToPrettyJson": lambda v: _to_json(v, True, indent="  "),
    "toRawJson": lambda v: _to_json(v, escape_html=False),
    "mustToRawJson": lambda v: _to_json(v, True, escape_html=False),
    "fromJson": lambda s: _from_json(s),
    "mustFromJson": lambda s: _from_json(s, True),
    "b64enc": lambda s: base64.b64encode(strval(s).encode()).decode(),
    "b64dec": _b64dec,
    "b32enc": lambda s: base64.b32encode(strval(s).encode()).decode(),
    "b32dec": _b32dec,
    # strings
    "upper": lambda s: strval(s).upper(),
    "lower": lambda s: strval(s).lower(),
    "title": _title,
    "untitle": _untitle,
    "trim": lambda s: strval(s).strip(" \t\n\r\v\f\x85\xa0"),
    "trimAll": lambda cut, s: strval(s).strip(strval(cut)),
    "trimPrefix": lambda p, s: strval(s).removeprefix(strval(p)),
    "trimSuffix": lambda p, s: strval(s).removesuffix(strval(p)),
    "trunc": _trunc,
    "replace": lambda old, new, s: strval(s).replace(strval(old), strval(new)),
    "contains": lambda sub, s: strval(sub) in strval(s),
    "hasPrefix": lambda p, s: strval(s).startswith(strval(p)),
    "hasSuffix": lambda p, s: strval(s).endswith(strval(p)),
    "quote": _quote,
    "squote": _squote,
    "cat": _cat,
    "indent": _indent,
    "nindent": lambda n, s: "\n" + _indent(n, s),
    "repeat": _repeat,
    "substr": _substr,
    "nospace": lambda s: "".join(strval(s).split()),
    "abbrev": lambda w, s: (
        strval(s) if len(strval(s)) <= to_int(w) else strval(s)[: max(to_int(w) - 3, 0)] + "..."
    ),
    "initials": lambda s: "".join(w[0] for w in strval(s).split()),
    "plural": _plural,
    "snakecase": lambda s: "_".join(w.lower() for w in _words(s)),
    "kebabcase": lambda s: "-".join(w.lower() for w in _words(s)),
    "camelcase": _camelcase,
    "swapcase": lambda s: strval(s).swapcase(),
    "splitList": lambda sep, s: _go_split(strval(s), strval(sep)),
    "split": _split,
    "splitn": lambda sep, n, s: {
        f"_{i}": p for i, p in enumerate(_go_split(strval(s), strval(sep), to_int(n)))
    },
    "join": lambda sep, v: strval(sep).join(strslice(v)),
    "toString": strval,
    "toStrings": strslice,
    # conversion and math
    "int": to_int,
    "int64": to_int,
    "float64": to_float,
    "atoi": _atoi,
    "add": lambda *v: sum(to_int(x) for x in v),
    "add1": lambda v: to_int(v) + 1,
    "sub": lambda a, b: to_int(a) - to_int(b),
    "mul": lambda a, *v: math.prod([to_int(a), *(to_int(x) for x in v)]),
    "div": _div,
    "mod": _mod,
    "max": lambda a, *v: max([to_int(a), *(to_int(x) for x in v)]),
    "min": lambda a, *v: min([to_int(a), *(to_int(x) for x in v)]),
    "addf": lambda *v: math.fsum(to_float(x) for x in v),
    "subf": lambda a, *v: to_float(a) - math.fsum(to_float(x) for x in v),
    "mulf": lambda a, *v: math.prod([to_float(a), *(to_float(x) for x in v)]),
    "maxf": lambda a, *v: max([to_float(a), *(to_float(x) for x in v)]),
    "minf": lambda a, *v: min([to_float(a), *(to_float(x) for x in v)]),
    "floor": lambda v: float(math.floor(to_float(v))),
    "ceil": lambda v: float(math.ceil(to_float(v))),
    "round": _round,
    # reflection
    "typeOf": gofmt.type_name,
    "kindOf": _kind_of,
    "typeIs": lambda t, v: gofmt.type_name(v) == t,
    "kindIs": lambda k, v: _kind_of(v) == k,
    "deepEqual": lambda a, b: a == b,
}


def _divf(a: Any, *v: Any) -> float:
    out = to_float(a)
    for x in v:
        d = to_float(x)
        out = out / d if d else (math.copysign(math.inf, out) if out else math.nan)
    return out


def _oct(v: Any) -> int:
    try:
        return int(strval(v), 8)
    except ValueError:
        return 0


SPRIG["divf"] = _divf
SPRIG["toDecimal"] = _oct

SPRIG.update(LISTS)
SPRIG.update(MORE)
