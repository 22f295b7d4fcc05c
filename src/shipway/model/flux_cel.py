"""Flux's CEL for a Provider's ``commitStatusExpr`` and a Receiver's filters, as Flux documents
them. ``commitStatusExpr`` is an
expression over ``event`` (the Flux event), ``provider`` and ``alert`` (the objects) that
makes the commit status's context, e.g. ``(event.involvedObject.kind + '/' +
provider.metadata.uid.split('-').first().value()).lowerAscii()``.

Google's CEL (``celpy``) with the extension functions Flux's examples use: strings
(``lowerAscii``, ``upperAscii``, ``split``, ``replace``, ``trim``, ``join``), lists
(``first``, ``last`` as optionals) and optionals (``value``, ``hasValue``,
``orValue``). ``check(text)`` is the syntax check at apply (``ValueError`` saying
where); ``evaluate(text, activation)`` the string it makes, ``truth`` the bool a
Receiver's ``resourceFilter``/``filter`` makes of ``res`` and ``req``
(``ValueError`` naming what failed). Pure.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


class _Optional:
    """CEL's ``optional`` (what ``first()``/``last()`` answer)."""

    def __init__(self, value: Any) -> None:
        self.inner = value


def _functions() -> dict[str, Any]:
    from celpy import celtypes

    def s(v: Any) -> Any:
        return celtypes.StringType(v)

    def value(o: Any) -> Any:
        if not isinstance(o, _Optional) or o.inner is None:
            raise ValueError("value() of an empty optional")
        return o.inner

    return {
        "lowerAscii": lambda x: s(str(x).lower()),
        "upperAscii": lambda x: s(str(x).upper()),
        "split": lambda x, sep: celtypes.ListType([s(p) for p in str(x).split(str(sep))]),
        "replace": lambda x, old, new: s(str(x).replace(str(old), str(new))),
        "trim": lambda x: s(str(x).strip()),
        "join": lambda xs, sep="": s(str(sep).join(str(v) for v in xs)),
        "first": lambda xs: _Optional(xs[0] if len(xs) else None),
        "last": lambda xs: _Optional(xs[-1] if len(xs) else None),
        "value": value,
        "hasValue": lambda o: celtypes.BoolType(isinstance(o, _Optional) and o.inner is not None),
        "orValue": lambda o, d: o.inner if isinstance(o, _Optional) and o.inner is not None else d,
    }


@lru_cache(maxsize=128)
def _program(text: str) -> Any:
    import celpy

    env = celpy.Environment()
    return env.program(_compile(text), functions=_functions())


def _compile(text: str) -> Any:
    import celpy
    from celpy.celparser import CELParseError

    try:
        return celpy.Environment().compile(text)
    except CELParseError as exc:
        lines = str(exc).rstrip().splitlines()
        col = len(lines[1]) - len(lines[1].lstrip()) + 1 if len(lines) > 1 else 0
        raise ValueError(f"not a CEL expression (column {col})") from None


def check(text: str) -> str:
    _compile(text)
    return text


def truth(text: str, activation: dict[str, Any], what: str) -> bool:
    """Whether ``text`` holds (a Receiver's ``resourceFilter`` or ``filter`` on ``res`` and
    ``req``); ``ValueError`` naming ``what`` when it cannot be evaluated or is no bool."""
    from celpy import celtypes
    from celpy.adapter import json_to_cel
    from celpy.evaluation import CELEvalError

    try:
        out = _program(text).evaluate({k: json_to_cel(v) for k, v in activation.items()})
    except (CELEvalError, ValueError, TypeError) as exc:
        raise ValueError(f"{what}: {exc.args[0] if exc.args else exc}") from None
    if not isinstance(out, celtypes.BoolType):
        raise ValueError(f"{what}: {text!r} made {type(out).__name__}, not a bool")
    return bool(out)


def _plain(v: Any) -> Any:
    """A CEL value as JSON data (for a generic-oidc variable, fed to the next ones)."""
    from celpy import celtypes

    if isinstance(v, celtypes.BoolType):
        return bool(v)
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    return None if v is None else str(v)


def value(text: str, activation: dict[str, Any], what: str) -> Any:
    """What ``text`` makes, as JSON data; ``ValueError`` naming ``what`` when it cannot."""
    from celpy.adapter import json_to_cel
    from celpy.evaluation import CELEvalError

    try:
        out = _program(text).evaluate({k: json_to_cel(v) for k, v in activation.items()})
    except (CELEvalError, ValueError, TypeError) as exc:
        raise ValueError(f"{what}: {exc.args[0] if exc.args else exc}") from None
    if isinstance(out, CELEvalError):
        raise ValueError(f"{what}: {out.args[0] if out.args else out}")
    return _plain(out)


def evaluate(text: str, activation: dict[str, Any]) -> str:
    """The string ``text`` makes from ``event``, ``provider`` and ``alert`` (JSON data)."""
    from celpy.adapter import json_to_cel
    from celpy.evaluation import CELEvalError

    try:
        out = _program(text).evaluate({k: json_to_cel(v) for k, v in activation.items()})
    except (CELEvalError, ValueError, TypeError) as exc:
        raise ValueError(f"commitStatusExpr: {exc.args[0] if exc.args else exc}") from None
    if isinstance(out, CELEvalError):
        raise ValueError(f"commitStatusExpr: {out.args[0] if out.args else out}")
    if not isinstance(out, str):
        raise ValueError(f"commitStatusExpr made {type(out).__name__}, not a string")
    return str(out)
