"""Kubernetes ``v1`` Secrets and Namespaces as shipway stores them, and how a Secret is shown.

A Kargo user keeps credentials as Secrets in the project's namespace,
labelled ``kargo.akuity.io/cred-type`` (``git``, ``helm``, ``image``,
``generic``), and applies them with the rest of the project. ``SecretBody``
is a Secret's top-level fields (``type``, ``data``, ``stringData``,
``immutable``), checked as the API server checks them (``data`` values
base64, keys as Kubernetes allows). ``normalised`` folds ``stringData`` into
``data`` as the API server does on write, so the store holds one form.
``redacted`` is what any output shows of a Secret (``get -o yaml|json``,
templates, ``describe``): Kargo's CLI's redaction, the values under
``stringData`` as ``*** REDACTED ***`` except the keys Kargo deems safe
(``repoURL``, ``repoURLIsRegex``, ``username``), and no ``data``; so is the
``kubectl.kubernetes.io/last-applied-configuration`` annotation.
``decoded`` gives a stored Secret's values as text (for the code that uses
them). ``match_credentials`` picks the credentials for a repository as Kargo
does: first a Secret whose ``repoURL`` is the repository's (in one spelling,
``normalise``), then one whose ``repoURL`` is a regular expression
(``repoURLIsRegex: "true"``) matching it, each pass in lexical order by the
Secret's name. ``NamespaceSpec`` is a Namespace's ``spec`` (``finalizers``).
Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

CRED_TYPE = "kargo.akuity.io/cred-type"
REDACTED = "*** REDACTED ***"
SAFE_KEYS = frozenset({"repoURL", "repoURLIsRegex", "username"})
"""The data keys Kargo shows in the clear: they are assumed to hold nothing sensitive."""
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")


def _key(key: str) -> str:
    if not _KEY_RE.match(key) or len(key) > 253:
        raise ValueError(f"{key!r}: a valid config key must consist of alphanumeric "
                         "characters, '-', '_' or '.'")  # fmt: skip
    return key


Key = Annotated[str, AfterValidator(_key)]


def _base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("illegal base64 data (use stringData for plain text)") from None
    return value


class SecretBody(BaseModel):
    """A Secret's top-level fields (a Secret has no ``spec``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: str = "Opaque"
    data: dict[Key, Annotated[str, AfterValidator(_base64)]] = Field(default_factory=dict)
    string_data: dict[Key, str] = Field(default_factory=dict, alias="stringData")
    immutable: bool | None = None


class NamespaceSpec(BaseModel):
    """A Namespace's ``spec``."""

    model_config = ConfigDict(extra="forbid")

    finalizers: list[str] = Field(default_factory=list)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def normalised(body: dict[str, Any]) -> dict[str, Any]:
    """The body as the API server stores it: ``stringData`` merged over ``data`` (base64),
    ``type`` set (``Opaque`` by default)."""
    out = {k: v for k, v in body.items() if k != "stringData"}
    data = {str(k): str(v) for k, v in (body.get("data") or {}).items()}
    data.update({str(k): _b64(str(v)) for k, v in (body.get("stringData") or {}).items()})
    out["data"] = data
    out.setdefault("type", "Opaque")
    return out


def decoded(body: dict[str, Any]) -> dict[str, str]:
    """A Secret's values as text: ``data`` decoded, ``stringData`` over it."""
    out: dict[str, str] = {}
    for key, value in (body.get("data") or {}).items():
        try:
            out[str(key)] = base64.b64decode(str(value)).decode()
        except (binascii.Error, ValueError):
            out[str(key)] = str(value)
    out.update({str(k): str(v) for k, v in (body.get("stringData") or {}).items()})
    return out


def redacted(obj: dict[str, Any]) -> dict[str, Any]:
    """What output shows of a Secret object: safe keys in the clear, every other value
    ``*** REDACTED ***``, under ``stringData``; no ``data``."""
    values = decoded(obj)
    out = {k: v for k, v in obj.items() if k not in ("data", "stringData")}
    meta = dict(out.get("metadata") or {})
    notes = dict(meta.get("annotations") or {})
    if _LAST_APPLIED in notes:
        notes[_LAST_APPLIED] = REDACTED
        meta["annotations"] = notes
        out["metadata"] = meta
    if values:
        out["stringData"] = {k: (v if k in SAFE_KEYS else REDACTED)
                             for k, v in sorted(values.items())}  # fmt: skip
    return out


def cred_type(obj: dict[str, Any]) -> str:
    """The Secret's ``kargo.akuity.io/cred-type`` label (``""`` when it has none)."""
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(CRED_TYPE, ""))


def is_regex(data: Mapping[str, str]) -> bool:
    return str(data.get("repoURLIsRegex", "")).strip().lower() == "true"


def match_credentials(
    candidates: Iterable[tuple[str, Mapping[str, str]]],
    repo_url: str,
    normalise: Callable[[str], str] = lambda url: url,
) -> tuple[str, Mapping[str, str]] | None:
    """The ``(name, data)`` of the Secret whose credentials serve ``repo_url``, or None:
    exact ``repoURL`` matches first, then regular expressions, each by Secret name."""
    ordered = sorted(candidates, key=lambda c: c[0])
    want = normalise(repo_url)
    for name, data in ordered:
        url = str(data.get("repoURL", ""))
        if url and not is_regex(data) and normalise(url) == want:
            return name, data
    for name, data in ordered:
        if not is_regex(data) or not data.get("repoURL"):
            continue
        try:
            pattern = re.compile(str(data["repoURL"]))
        except re.error:
            continue  # a bad pattern matches nothing, as Kargo skips it
        if pattern.search(repo_url) or pattern.search(want):
            return name, data
    return None
