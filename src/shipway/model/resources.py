"""Declarative resources: Kubernetes-style objects, validated per kind.

A ``Resource`` is ``apiVersion``/``kind``/``metadata``/``spec`` as plain data.
Known kinds are validated by pydantic schemas in ``shipway.model.kinds``;
errors name the file, line and column of the offending field. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pydantic

from shipway.model import kinds, yamlsrc
from shipway.model.errors import ResourceError

SPEC_FIELD: dict[str, str] = {"ConfigMap": "data"}
"""Kinds whose payload is not ``spec`` (core kinds Argo CD reads its settings from)."""

_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclass
class Resource:
    """One declarative object; ``source`` is where it was read from (``file:line``)."""

    api_version: str
    kind: str
    name: str
    namespace: str
    body: dict[str, Any]
    source: str = ""
    status: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.body.get("spec") or {}
        assert isinstance(spec, dict)
        return spec

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.body.get("metadata") or {}
        assert isinstance(meta, dict)
        return meta

    @property
    def annotations(self) -> dict[str, str]:
        ann = self.metadata.get("annotations") or {}
        return {str(k): str(v) for k, v in ann.items()}

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.body)
        if self.status:
            out["status"] = self.status
        return out


def canonical_kind(word: str) -> str:
    """Map what a user types (``app``, ``applications``, ``Cluster``) to a kind name."""
    found = kinds.ALIASES.get(word.lower())
    if found is None:
        known = ", ".join(sorted(kinds.SCHEMAS))
        raise ResourceError(f"unknown kind {word!r} (known: {known})", subject=word)
    return found


def _pydantic_message(err: Any) -> tuple[tuple[Any, ...], str]:
    loc = tuple(err.get("loc", ()))
    msg = str(err.get("msg", "invalid"))
    return loc, msg


def from_located(doc: yamlsrc.Located) -> Resource:
    """Validate one loaded YAML document as a resource."""
    data = doc.data
    if not isinstance(data, dict):
        raise ResourceError("a resource must be a mapping", subject=doc.where(()))
    for required in ("apiVersion", "kind", "metadata"):
        if required not in data:
            raise ResourceError(f"missing required field {required!r}", subject=doc.where(()))
    for key in ("apiVersion", "kind"):
        if not isinstance(data[key], str):
            raise ResourceError(f"{key} must be a string", subject=doc.where((key,)))
    kind, api_version = data["kind"], data["apiVersion"]
    schema = kinds.SCHEMAS.get(kind)
    if schema is None:
        raise ResourceError(f"unknown kind {kind!r}", subject=doc.where(("kind",)))
    allowed = kinds.API_VERSIONS[kind]
    if api_version not in allowed:
        raise ResourceError(
            f"apiVersion {api_version!r} is not served for {kind} (use {' or '.join(allowed)})",
            subject=doc.where(("apiVersion",)),
        )
    meta = data.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise ResourceError("metadata.name is required", subject=doc.where(("metadata",)))
    name = meta["name"]
    if not _NAME_RE.match(name) or len(name) > 253:
        raise ResourceError(
            f"metadata.name {name!r} is not a DNS subdomain name",
            subject=doc.where(("metadata", "name")),
        )
    payload = SPEC_FIELD.get(kind, "spec")
    try:
        schema.model_validate(data.get(payload) or {})
    except pydantic.ValidationError as exc:
        found = []
        for err in exc.errors():  # every problem of the document, not only the first
            loc, msg = _pydantic_message(err)
            path = (payload, *loc)
            found.append(ResourceError(f"{'.'.join(str(p) for p in path)}: {msg}",
                                       subject=doc.where(path)))  # fmt: skip
        raise combined(found) from None
    body = {k: v for k, v in data.items() if k != "status"}
    return Resource(
        api_version=api_version,
        kind=kind,
        name=name,
        namespace=str(meta.get("namespace") or ""),
        body=body,
        source=f"{doc.file}:{doc.line}",
    )


def _order(err: ResourceError) -> tuple[int, int]:
    """Where an error is, for file order (``file:line:column`` subjects)."""
    parts = (err.subject or "").rsplit(":", 2)
    nums = [*(int(p) for p in parts[1:] if p.isdigit()), 0, 0]
    return nums[0], nums[1]


def combined(errors: list[ResourceError]) -> ResourceError:
    """One error naming every problem, in file order (as actionlint reports): the first one's
    subject, each further one on a line of its own."""
    found = sorted(errors, key=_order)
    first = found[0]
    first.message = "\n".join([first.message, *(str(e) for e in found[1:])])
    return first


def parse_text(text: str, file: str) -> list[Resource]:
    """Parse every resource in a YAML text; all or nothing (every problem reported at once)."""
    out: list[Resource] = []
    problems: list[ResourceError] = []
    for doc in yamlsrc.load_documents(text, file):
        try:
            out.append(from_located(doc))
        except ResourceError as exc:
            problems.append(exc)
    seen: set[tuple[str, str]] = set()
    for res in out:
        if (res.kind, res.name) in seen:
            problems.append(ResourceError(f"{res.key} is defined twice", subject=res.source))
        seen.add((res.kind, res.name))
    if problems:
        raise combined(problems)
    return out


def check_unique(resources: Iterable[Resource]) -> None:
    """Refuse two definitions of the same kind and name across files."""
    seen: dict[tuple[str, str], str] = {}
    for res in resources:
        first = seen.setdefault((res.kind, res.name), res.source)
        if first != res.source:
            raise ResourceError(f"{res.key} is also defined at {first}", subject=res.source)
