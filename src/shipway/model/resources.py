"""Declarative resources: Kubernetes-style objects, validated per kind.

A ``Resource`` is ``apiVersion``/``kind``/``metadata``/``spec`` as plain data.
Known kinds are validated by pydantic schemas in ``shipway.model.kinds``;
errors name the file, line and column of the offending field. A resource is
identified by ``(group, kind, namespace, name)`` (``Resource.ref``); parsing
gives every namespaced object its namespace (``shipway.model.namespaces``) and
writes it into ``metadata.namespace``, as the API server does. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipway.model import kindnames, namespaces
from shipway.model.errors import ResourceError

if TYPE_CHECKING:
    from shipway.model import yamlsrc

SPEC_FIELD: dict[str, str] = {"ConfigMap": "data", "Freight": "", "Secret": ""}
"""Kinds whose payload is not ``spec`` (core kinds Argo CD reads its settings from);
``""``: the top-level fields themselves (Kargo's Freight and a Secret have no spec)."""
_ENVELOPE = ("apiVersion", "kind", "metadata", "status")

_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


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
    created: dt.datetime | None = field(default=None, compare=False)
    """When it was first stored (set by the store; ``None`` before)."""
    generation: int = field(default=0, compare=False)
    """``metadata.generation``: 1 when stored, one more each time its body changed (set by the
    store; 0 before)."""
    located: yamlsrc.Located | None = field(default=None, compare=False, repr=False)
    """The YAML it was parsed from, for ``file:line:col`` of its fields (``None`` when loaded
    from the store)."""

    @property
    def group(self) -> str:
        """The API group (``argoproj.io``; ``""`` for the core group of ``v1``)."""
        return self.api_version.rpartition("/")[0]

    @property
    def ref(self) -> tuple[str, str, str, str]:
        """What identifies it: ``(group, kind, namespace, name)``."""
        return (self.group, self.kind, self.namespace, self.name)

    @property
    def key(self) -> str:
        """``Kind/namespace/name`` (``Kind/name`` when cluster-scoped), for messages."""
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
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
    def labels(self) -> dict[str, str]:
        found = self.metadata.get("labels") or {}
        return {str(k): str(v) for k, v in found.items()}

    @property
    def annotations(self) -> dict[str, str]:
        ann = self.metadata.get("annotations") or {}
        return {str(k): str(v) for k, v in ann.items()}

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.body)
        if self.status:
            out["status"] = self.status
        return out

    def to_object(self) -> dict[str, Any]:
        """``to_dict`` with ``metadata.creationTimestamp`` (RFC 3339, ``Z``) as kubectl shows;
        a Secret's values redacted (``shipway.model.secrets.redacted``): output never shows
        them."""
        out = self.to_dict()
        if self.created is not None and "creationTimestamp" not in self.metadata:
            t = self.created if self.created.tzinfo else self.created.replace(tzinfo=dt.UTC)
            stamp = t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            out["metadata"] = {**self.metadata, "creationTimestamp": stamp}
        if self.kind == "Secret":
            from shipway.model.secrets import redacted

            out = redacted(out)
        return out


group_of = kindnames.group_of
canonical_kind = kindnames.canonical_kind


def _pydantic_message(err: Any) -> tuple[tuple[Any, ...], str]:
    loc = tuple(err.get("loc", ()))
    msg = str(err.get("msg", "invalid"))
    return loc, msg


def _namespace(
    doc: yamlsrc.Located, kind: str, name: str, namespace: str | None, current: str
) -> str:
    """The object's namespace: its own, else ``namespace`` (``-n``), else the kind's default."""
    given = doc.data["metadata"].get("namespace")
    if given not in (None, "") and (not isinstance(given, str) or not _LABEL_RE.match(given)):
        raise ResourceError(
            f"metadata.namespace {given!r} is not a DNS label",
            subject=doc.where(("metadata", "namespace")),
        )
    if not namespaces.namespaced(kind):
        return ""
    if given and namespace and given != namespace:
        raise ResourceError(
            f'the namespace from the provided object "{given}" does not match the namespace '
            f"\"{namespace}\". You must pass '--namespace={given}' to perform this operation.",
            subject=doc.where(("metadata", "namespace")),
        )
    return str(given or namespace or namespaces.default_namespace(kind, name, current))


def from_located(
    doc: yamlsrc.Located, namespace: str | None = None, current: str = namespaces.DEFAULT
) -> Resource:
    """Validate one loaded YAML document as a resource.

    ``namespace`` (``apply -n``) is given to objects that name none and refused
    for those that name another; without it they get their kind's default
    (``current`` for most kinds).
    """
    import pydantic  # schemas load only when a document is validated

    from shipway.model import kargo, kinds

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
    if api_version.startswith("tekton.dev/"):
        raise ResourceError(
            f"{api_version} {kind} is not stored: run Tekton resources with 'shipway ci "
            "run -f FILE', or put PipelineRuns in the repository's .tekton/ for the controller",
            subject=doc.where(("apiVersion",)),
        )
    schema = kinds.SCHEMAS.get(kind)
    if schema is None and kind in kargo.NOT_SERVED:
        raise ResourceError(
            f"kind {kind!r} (kargo.akuity.io) is not supported yet by shipway",
            subject=doc.where(("kind",)),
        )
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
    if kind == "Namespace" and not _LABEL_RE.match(name):
        raise ResourceError(f"metadata.name {name!r} is not a DNS label",
                            subject=doc.where(("metadata", "name")))  # fmt: skip
    if not _NAME_RE.match(name) or len(name) > 253:
        raise ResourceError(
            f"metadata.name {name!r} is not a DNS subdomain name",
            subject=doc.where(("metadata", "name")),
        )
    payload = SPEC_FIELD.get(kind, "spec")
    top = {k: v for k, v in data.items() if k not in _ENVELOPE}
    value = top if payload == "" else data.get(payload)
    try:
        schema.model_validate(value or {})
    except pydantic.ValidationError as exc:
        found, seen = [], set()
        for err in exc.errors():  # every problem of the document, not only the first
            loc, msg = _pydantic_message(err)
            path = (payload, *loc) if payload else loc
            seen.add(tuple(path))
            found.append(ResourceError(f"{'.'.join(str(p) for p in path)}: {msg}",
                                       subject=doc.where(path)))  # fmt: skip
        # the steps' own configs too: an unknown step does not hide another step's typo
        from shipway.model.kargo_step_configs import step_problems as configs

        found += [ResourceError(f"{'.'.join(str(p) for p in path)}: {msg}",
                                subject=doc.where(path))
                  for loc, msg in configs(kind, value or {})
                  if (path := (payload, *loc)) not in seen]  # fmt: skip
        raise combined(found) from None
    if api_version.startswith("triggers.tekton.dev/"):
        from shipway.model.tekton_triggers import problems as trigger_problems

        found = [ResourceError(msg, subject=doc.where(path))
                 for path, msg in trigger_problems(kind, value or {})]  # fmt: skip
        if found:
            raise combined(found)
    from shipway.model.kargo_step_configs import step_problems

    steps = [((payload, *loc), msg) for loc, msg in step_problems(kind, value or {})]
    if kind in ("ClusterPolicy", "Policy"):  # what Kyverno's own policy webhook refuses
        from shipway.model.kyverno import admission_problems

        steps += [((payload, *loc), msg) for loc, msg in admission_problems(value or {})]
    if steps:
        raise combined([ResourceError(f"{'.'.join(str(p) for p in path)}: {msg}",
                                      subject=doc.where(path)) for path, msg in steps])  # fmt: skip
    ns = _namespace(doc, kind, name, namespace, current)
    body = {k: v for k, v in data.items() if k != "status"}
    if kind == "Secret":
        from shipway.model.secrets import normalised

        body = normalised(body)
    body["metadata"] = {k: v for k, v in meta.items() if k != "namespace"}
    if ns:
        body["metadata"]["namespace"] = ns
    return Resource(
        api_version=api_version,
        kind=kind,
        name=name,
        namespace=ns,
        body=body,
        source=f"{doc.file}:{doc.line}",
        located=doc,
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


def parse_text(
    text: str, file: str, namespace: str | None = None, current: str = namespaces.DEFAULT
) -> list[Resource]:
    """Parse every resource in a YAML text; all or nothing (every problem reported at once;
    namespaces as ``from_located``)."""
    from shipway.model import yamlsrc

    out: list[Resource] = []
    problems: list[ResourceError] = []
    for doc in yamlsrc.load_documents(text, file):
        try:
            out.append(from_located(doc, namespace, current))
        except ResourceError as exc:
            problems.append(exc)
    seen: set[tuple[str, str, str, str]] = set()
    for res in out:
        if res.ref in seen:
            problems.append(ResourceError(f"{res.key} is defined twice", subject=res.source))
        seen.add(res.ref)
    if problems:
        raise combined(problems)
    return out


def check_unique(resources: Iterable[Resource]) -> None:
    """Refuse two definitions of one group, kind, namespace and name across files."""
    seen: dict[tuple[str, str, str, str], str] = {}
    for res in resources:
        first = seen.setdefault(res.ref, res.source)
        if first != res.source:
            raise ResourceError(f"{res.key} is also defined at {first}", subject=res.source)
