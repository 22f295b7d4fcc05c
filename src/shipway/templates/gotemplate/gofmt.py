"""Go's ``fmt`` for template values: ``%v`` printing, ``Sprint``, ``Sprintln``, ``Sprintf``.

Pure. Values are Python data as decoded from JSON/YAML: None is Go's nil,
int is ``int``, float is ``float64``, str, list (``[]interface {}``), dict
(``map[string]interface {}``, printed in sorted key order as Go does),
``GoTime``/``GoDuration``, and callables (``func``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from shipway.templates import gotypes
from shipway.templates.gotime import GoDuration, GoTime

MAX_WIDTH = 100_000


class FmtError(ValueError):
    """A format request fmt would honour but that exceeds shipway's bounds."""


type_name = gotypes.type_name


def _digits(f: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of abs(f) and the decimal point's place."""
    _sign, digits, exp = Decimal(repr(abs(f))).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0")
    assert isinstance(exp, int)
    if not ds:
        return "0", 1
    # value = 0.ds * 10**dp
    dp = len(digits) + exp
    lead = len("".join(map(str, digits))) - len("".join(map(str, digits)).lstrip("0"))
    return ds[lead:] if lead else ds, dp - lead


def format_float(f: float, verb: str = "g", prec: int = -1) -> str:
    """strconv.FormatFloat(f, verb, prec, 64) for verbs e, f, g (and E, G)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    upper = verb in "EG"
    v = verb.lower()
    if prec >= 0:
        if v == "g":
            digits, dp = _digits(float(f"{f:.{max(prec, 1) - 1}e}")) if f else ("0", 1)
            eprec = prec or 1
            if eprec > len(digits) and len(digits) >= dp:
                eprec = len(digits)
            exp = dp - 1
            if exp < -4 or exp >= eprec:
                out = f"{f:.{max(len(digits) - 1, 0)}e}"
            else:
                out = f"{f:.{max(len(digits) - dp, 0)}f}"
        else:
            out = f"{f:.{prec}{v}}"
        return out.upper() if upper else out
    neg = "-" if math.copysign(1.0, f) < 0 else ""
    digits, dp = _digits(f)
    if f == 0:
        digits, dp = "0", 1
    exp = dp - 1
    if v == "e" or (v == "g" and (exp < -4 or exp >= 6)):
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        out = f"{neg}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    elif dp <= 0:
        out = f"{neg}0.{'0' * -dp}{digits}"
    elif dp >= len(digits):
        out = neg + digits + "0" * (dp - len(digits))
    else:
        out = f"{neg}{digits[:dp]}.{digits[dp:]}"
    return out.upper() if upper else out


def go_quote(s: str, ascii_only: bool = False) -> str:
    """strconv.Quote: a double-quoted Go string literal."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch in _ESC:
            out.append(_ESC[ch])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif (ascii_only and o >= 0x80) or not ch.isprintable():
            out.append(f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_ESC = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _sort_key(k: Any) -> tuple[int, Any]:
    if isinstance(k, bool):
        return (0, k)
    if isinstance(k, int | float):
        return (1, k)
    if isinstance(k, str):
        return (2, k.encode("utf-8", "surrogatepass"))
    return (3, str(k))


def sorted_keys(m: Mapping[Any, Any]) -> list[Any]:
    """Map keys in the order Go's fmt and text/template's range visit them."""
    return sorted(m.keys(), key=_sort_key)


def sprint_value(v: Any, verb: str = "v", plus: bool = False) -> str:
    """fmt's ``%v`` (and element-wise ``%s``/``%d``) of one value."""
    if v is None:
        return "<nil>" if verb == "v" else f"%!{verb}(<nil>)"
    if isinstance(v, str):
        return v if verb in "vs" else _bad(verb, v)
    if isinstance(v, bool):
        return ("true" if v else "false") if verb in "vt" else _bad(verb, v)
    if isinstance(v, int):
        return str(v) if verb in "vd" else _bad(verb, v)
    if isinstance(v, float):
        return format_float(v) if verb == "v" else _bad(verb, v)
    if isinstance(v, Mapping):
        parts = [
            f"{sprint_value(k, verb, plus)}:{sprint_value(v[k], verb, plus)}"
            for k in sorted_keys(v)
        ]
        return "map[" + " ".join(parts) + "]"
    if isinstance(v, bytes | bytearray):
        return v.decode("utf-8", "replace") if verb == "s" else "[" + " ".join(map(str, v)) + "]"
    if isinstance(v, list | tuple):
        return "[" + " ".join(sprint_value(e, verb, plus) for e in v) + "]"
    if isinstance(v, GoTime | GoDuration):
        return v.String() if verb in "vs" else _bad(verb, v)
    if callable(v):
        return "0x1" if verb in "vp" else _bad(verb, v)
    return str(v)


def _bad(verb: str, v: Any) -> str:
    return f"%!{verb}({type_name(v)}={sprint_value(v)})"


def sprint(*args: Any) -> str:
    """fmt.Sprint: spaces between operands when neither side is a string."""
    out: list[str] = []
    for i, a in enumerate(args):
        if i > 0 and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(sprint_value(a))
    return "".join(out)


def sprintln(*args: Any) -> str:
    """fmt.Sprintln: always spaces, then a newline."""
    return " ".join(sprint_value(a) for a in args) + "\n"


def _pad(s: str, width: int | None, minus: bool, zero: bool) -> str:
    if width is None or len(s) >= width:
        return s
    if minus:
        return s + " " * (width - len(s))
    if zero:
        sign = s[0] if s[:1] in "+-" else ""
        return sign + "0" * (width - len(s)) + s[len(sign) :]
    return " " * (width - len(s)) + s


def _fmt_int(n: int, verb: str, flags: str, prec: int | None) -> str:
    base = {"d": 10, "x": 16, "X": 16, "o": 8, "O": 8, "b": 2}[verb]
    a = abs(n)
    digits = {10: str(a), 16: f"{a:x}", 8: f"{a:o}", 2: f"{a:b}"}[base]
    if verb == "X":
        digits = digits.upper()
    if prec is not None:
        digits = "" if prec == 0 and n == 0 else digits.rjust(prec, "0")
    prefix = ""
    if "#" in flags:
        prefix = {16: "0x" if verb == "x" else "0X", 8: "0", 2: "0b", 10: ""}[base]
    if verb == "O":
        prefix = "0o"
    sign = "-" if n < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
    return sign + prefix + digits


def _fmt_one(verb: str, flags: str, width: int | None, prec: int | None, a: Any) -> str:
    minus, zero = "-" in flags, "0" in flags and "-" not in flags
    if verb in "vs" and isinstance(a, str):
        s = a if prec is None else a[:prec]
        return _pad(s, width, minus, False)
    if verb == "T":
        return _pad(type_name(a), width, minus, False)
    if isinstance(a, bool):
        s = ("true" if a else "false") if verb in "vt" else _bad(verb, a)
        return _pad(s, width, minus, False)
    if isinstance(a, int):
        if verb in "vdxXoObs":
            if verb in "vs":
                if verb == "s":
                    return _bad(verb, a)
                verb = "d"
            return _pad(_fmt_int(a, verb, flags, prec), width, minus, zero and prec is None)
        if verb == "c":
            return _pad(chr(a) if 0 <= a < 0x110000 else "\ufffd", width, minus, False)
        if verb == "q":
            return _pad("'" + go_quote(chr(a))[1:-1].replace("'", "\\'") + "'", width, minus, False)
        if verb == "U":
            return _pad(f"U+{a:04X}", width, minus, False)
        return _bad(verb, a)
    if isinstance(a, float):
        if verb in "veEfFgG":
            v = "g" if verb == "v" else verb
            s = format_float(
                a, v, -1 if prec is None and v in "gG" else (6 if prec is None else prec)
            )
            if "+" in flags and not s.startswith("-") and s != "NaN":
                s = "+" + s
            elif " " in flags and not s.startswith("-"):
                s = " " + s
            return _pad(s, width, minus, zero)
        return _bad(verb, a)
    if isinstance(a, str):
        if verb == "q":
            return _pad(go_quote(a, "+" in flags), width, minus, False)
        if verb in "xX":
            h = a.encode().hex()
            return _pad(h.upper() if verb == "X" else h, width, minus, False)
        return _bad(verb, a)
    if isinstance(a, list | tuple) and verb not in "vT":
        return "[" + " ".join(_fmt_elem(verb, flags, width, prec, e) for e in a) + "]"
    if isinstance(a, Mapping) and verb != "v":
        parts = [
            f"{_fmt_elem(verb, flags, width, prec, k)}:{_fmt_elem(verb, flags, width, prec, a[k])}"
            for k in sorted_keys(a)
        ]
        return "map[" + " ".join(parts) + "]"
    if a is None:
        return _pad("<nil>" if verb == "v" else f"%!{verb}(<nil>)", width, minus, False)
    return _pad(sprint_value(a, verb), width, minus, False)


def _fmt_elem(verb: str, flags: str, width: int | None, prec: int | None, a: Any) -> str:
    """An element inside a slice or map: a nil interface prints ``<nil>`` whatever the verb."""
    if a is None:
        return _pad("<nil>", width, "-" in flags, False)
    return _fmt_one(verb, flags, width, prec, a)


def sprintf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf with Go's verbs, flags, width and precision (``*`` too)."""
    out: list[str] = []
    i = 0
    argi = 0
    n = len(fmt)
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        flags = ""
        while i < n and fmt[i] in "+-# 0":
            flags += fmt[i]
            i += 1
        width: int | None = None
        prec: int | None = None
        if i < n and fmt[i] == "*":
            i += 1
            if argi < len(args) and isinstance(args[argi], int):
                width = args[argi]
                if width < 0:
                    flags += "-"
                    width = -width
            else:
                out.append("%!(BADWIDTH)")
            argi += 1
        else:
            start = i
            while i < n and fmt[i] in "0123456789":
                i += 1
            width = int(fmt[start:i]) if i > start else None
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                i += 1
                ok = argi < len(args) and isinstance(args[argi], int) and args[argi] >= 0
                prec = args[argi] if ok else None
                if not ok:
                    out.append("%!(BADPREC)")
                argi += 1
            else:
                start = i
                while i < n and fmt[i] in "0123456789":
                    i += 1
                prec = int(fmt[start:i]) if i > start else 0
        if (width or 0) > MAX_WIDTH or (prec or 0) > MAX_WIDTH:
            raise FmtError(f"width or precision over {MAX_WIDTH}")
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        a = args[argi]
        argi += 1
        if verb not in "vTtbcdoOqxXUeEfFgGsp":
            out.append(f"%!{verb}({type_name(a)}={sprint_value(a)})")
            continue
        out.append(_fmt_one(verb, flags, width, prec, a))
    if argi < len(args):
        extra = ", ".join(
            f"{type_name(a)}={sprint_value(a)}" if a is not None else "<nil>" for a in args[argi:]
        )
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def is_true(v: Any) -> bool:
    """text/template's truth: false, 0, nil, and empty strings, slices and maps are false."""
    if v is None or v is False:
        return False
    if isinstance(v, int | float) and not isinstance(v, bool):
        return v != 0
    if isinstance(v, str | Sequence | Mapping | bytes):
        return len(v) > 0
    if isinstance(v, GoDuration):
        return v.ns != 0
    return True
