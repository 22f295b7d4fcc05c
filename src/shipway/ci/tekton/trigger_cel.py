"""Tekton Triggers' CEL: Google's CEL (``celpy``) with the functions Tekton adds.

``cel(text, body, headers, extensions, url)`` evaluates one expression the
way the ``cel`` interceptor does: ``body`` (the JSON body), ``header`` (a map
of lists), ``extensions`` and ``requestURL`` are bound; Tekton's
``header.match``, ``header.canonical``, ``truncate``, ``split``, ``join``,
``decodeb64``, ``compareSecret`` (Secrets read by the caller's reader),
``parseJSON``, ``parseYAML``, ``parseURL``, ``marshalJSON``, ``first``,
``last``, ``translate``, ``lowerAscii`` and ``upperAscii`` are there. ``to_json`` turns a
CEL value back into plain JSON data. Pure: data in, data out.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

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

    def first(v: Any) -> Any:
        return v[0]

    def join(v: Any, sep: Any) -> Any:
        return celtypes.StringType(str(sep).join(str(x) for x in v))

    def decode_b64(s: Any) -> Any:
        text = str(s)
        return celtypes.StringType(base64.b64decode(text + "=" * (-len(text) % 4)).decode())

    def translate(s: Any, pattern: Any, replacement: Any) -> Any:
        return celtypes.StringType(re.sub(str(pattern), str(replacement), str(s)))

    def lower(s: Any) -> Any:
        return celtypes.StringType("".join(c.lower() if c.isascii() else c for c in str(s)))

    def upper(s: Any) -> Any:
        return celtypes.StringType("".join(c.upper() if c.isascii() else c for c in str(s)))

    def parse_yaml(s: Any) -> Any:
        from ruamel.yaml import YAML

        return json_to_cel(json.loads(json.dumps(YAML(typ="safe").load(str(s)), default=str)))

    def parse_url(s: Any) -> Any:
        u = urlsplit(str(s))
        query = parse_qs(u.query)
        auth = {"username": u.username or "", "password": u.password or ""}
        return json_to_cel({"scheme": u.scheme, "host": u.hostname or "", "path": u.path,
                            "rawQuery": u.query, "fragment": u.fragment,
                            "query": {k: ",".join(v) for k, v in query.items()},
                            "queryStrings": query, "auth": auth})  # fmt: skip

    def compare_secret(s: Any, key: Any, name: Any, namespace: Any = None) -> Any:
        read, own = _SECRETS.get()
        want = read(str(namespace) if namespace else own, str(name), str(key))
        ok = want is not None and hmac.compare_digest(str(s).encode(), want.encode())
        return celtypes.BoolType(ok)

    return {"match": match, "canonical": canonical, "truncate": truncate, "split": split,
            "parseJSON": parse_json, "marshalJSON": marshal_json, "last": last, "first": first,
            "join": join, "decodeb64": decode_b64, "translate": translate,
            "lowerAscii": lower, "upperAscii": upper, "parseYAML": parse_yaml,
            "parseURL": parse_url, "compareSecret": compare_secret}  # fmt: skip


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


SecretReader = Callable[[str, str, str], str | None]
_SECRETS: ContextVar[tuple[SecretReader, str]] = ContextVar(
    "tekton_cel_secrets", default=(lambda _ns, _name, _key: None, "")
)


def cel(text: str, body: Any, headers: Mapping[str, list[str]], extensions: Mapping[str, Any],
        url: str, secrets: SecretReader | None = None, namespace: str = "") -> Any:  # fmt: skip
    """Evaluate ``text``; ``ValueError`` when it cannot (a missing field). ``compareSecret``
    reads Secrets with ``secrets`` (its namespace defaults to ``namespace``)."""
    from celpy.adapter import json_to_cel
    from celpy.evaluation import CELEvalError

    if secrets is not None:
        token = _SECRETS.set((secrets, namespace))
        try:
            return cel(text, body, headers, extensions, url)
        finally:
            _SECRETS.reset(token)

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
