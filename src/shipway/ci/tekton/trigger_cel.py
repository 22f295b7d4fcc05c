"""Tekton Triggers' CEL: Google's CEL (``celpy``) with the functions Tekton adds.

``cel(text, body, headers, extensions, url)`` evaluates one expression the
way the ``cel`` interceptor does: ``body`` (the JSON body), ``header`` (a map
of lists), ``extensions`` and ``requestURL`` are bound; Tekton's
``header.match``, ``header.canonical``, ``truncate``, ``split``,
``parseJSON``, ``marshalJSON`` and ``last`` are there. ``to_json`` turns a
CEL value back into plain JSON data. Pure: data in, data out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from shipway.model.tekton_triggers import cel_ast


@lru_cache(maxsize=256)
def compile_cel(text: str) -> Any:
    """The CEL program of ``text`` with Tekton's functions; ``ValueError`` for bad syntax."""
    import celpy

    return celpy.Environment().program(cel_ast(text), functions=_functions())


def _functions() -> dict[str, Any]:
    from celpy import celtypes
    from celpy.adapter import json_to_cel

    def header_get(h: Any, name: Any) -> str:
        wanted = str(name).lower()
        for k, v in h.items():
            if str(k).lower() == wanted:
                return ",".join(str(x) for x in v) if isinstance(v, list) else str(v)
        return ""

    def match(h: Any, name: Any, value: Any) -> Any:
        return celtypes.BoolType(header_get(h, name) == str(value))

    def canonical(h: Any, name: Any) -> Any:
        return celtypes.StringType(header_get(h, name))

    def truncate(s: Any, n: Any) -> Any:
        return celtypes.StringType(str(s)[: int(n)])

    def split(s: Any, sep: Any) -> Any:
        return celtypes.ListType([celtypes.StringType(p) for p in str(s).split(str(sep))])

    def parse_json(s: Any) -> Any:
        return json_to_cel(json.loads(str(s)))

    def marshal_json(v: Any) -> Any:
        return celtypes.StringType(json.dumps(to_json(v), separators=(",", ":")))

    def last(v: Any) -> Any:
        return v[-1]

    return {"match": match, "canonical": canonical, "truncate": truncate, "split": split,
            "parseJSON": parse_json, "marshalJSON": marshal_json, "last": last}  # fmt: skip


def to_json(value: Any) -> Any:
    """A CEL value as plain JSON data."""
    from celpy import celtypes

    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return None if value is None else str(value)


def cel(text: str, body: Any, headers: Mapping[str, list[str]], extensions: Mapping[str, Any],
        url: str) -> Any:  # fmt: skip
    """Evaluate ``text``; ``ValueError`` when it cannot (a missing field)."""
    from celpy.adapter import json_to_cel
    from celpy.evaluation import CELEvalError

    activation = {"body": json_to_cel(body), "header": json_to_cel(dict(headers)),
                  "extensions": json_to_cel(dict(extensions)),
                  "requestURL": json_to_cel(url)}  # fmt: skip
    try:
        out = compile_cel(text).evaluate(activation)
    except CELEvalError as exc:
        raise ValueError(f"{text}: {exc.args[0] if exc.args else exc}") from None
    if isinstance(out, CELEvalError):
        raise ValueError(f"{text}: {out.args[0] if out.args else out}")
    return out
