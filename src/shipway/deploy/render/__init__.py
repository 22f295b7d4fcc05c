"""Rendered manifests: parse, select and validate what a source renders to.

Pure: takes file contents (or a tool's output) as text and returns plain
manifest dicts. Running tools (``kubectl kustomize``, ``helm template``) and
reading git live in ``shipway.deploy.sources``. Errors are ``InputError``
whose subject is the file (and document) and whose message is the reason;
the engine turns them into the application's ``ComparisonError`` condition.
"""

from __future__ import annotations

import collections
import fnmatch
import hashlib
import pickle
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from shipway.deploy.render import jsonnet
from shipway.model import bounded
from shipway.model.errors import InputError

Manifest = dict[str, Any]

_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json", ".jsonnet")

#: Kinds without a namespace (so ``metadata.namespace`` is never defaulted for them).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "APIService",
    }
)


def group_of(api_version: str) -> str:
    """``apps/v1`` → ``apps``; ``v1`` → ``""`` (the core group)."""
    return api_version.rpartition("/")[0]


def key_of(obj: Mapping[str, Any]) -> str:
    """The identity of an object: ``group/Kind/namespace/name`` (empty parts stay empty)."""
    meta = obj.get("metadata") or {}
    group = group_of(str(obj.get("apiVersion", "")))
    return f"{group}/{obj.get('kind')}/{meta.get('namespace') or ''}/{meta.get('name')}"


def select_files(
    paths: Iterable[str],
    *,
    recurse: bool = False,
    include: str | None = None,
    exclude: str | None = None,
) -> list[str]:
    """Pick manifest files as Argo CD's ``directory`` source does (relative paths, sorted).

    ``include``/``exclude`` are globs matched against the relative path; a
    ``{a,b}`` list is split into several globs.
    """
    inc, exc = _globs(include), _globs(exclude)
    out = []
    for p in sorted(paths):
        if not p.endswith(_MANIFEST_SUFFIXES):
            continue
        if not recurse and "/" in p:
            continue
        if inc and not any(_match(p, g) for g in inc):
            continue
        if exc and any(_match(p, g) for g in exc):
            continue
        out.append(p)
    return out


def _globs(spec: str | None) -> list[str]:
    if not spec:
        return []
    spec = spec.strip()
    if spec.startswith("{") and spec.endswith("}"):
        spec = spec[1:-1]
    return [g.strip() for g in spec.split(",") if g.strip()]


def _match(path: str, glob: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(path, glob) or fnmatch.fnmatchcase(name, glob)


_PARSED: collections.OrderedDict[tuple[str, bytes], bytes] = collections.OrderedDict()
_PARSED_BYTES = 64 * 1024 * 1024  # of pickles kept, the oldest dropped first
_PARSED_LOCK = threading.Lock()


def _load_cached(text: str, file: str) -> list[Any]:
    key = (file, hashlib.sha256(text.encode()).digest())
    with _PARSED_LOCK:
        hit = _PARSED.get(key)
        if hit is not None:
            _PARSED.move_to_end(key)
    if hit is not None:
        loaded: list[Any] = pickle.loads(hit)
        return loaded
    docs = bounded.load_yaml_all(text, file)
    try:
        blob = pickle.dumps(docs, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, RecursionError):
        return docs
    with _PARSED_LOCK:
        _PARSED[key] = blob
        total = sum(len(b) for b in _PARSED.values())
        while total > _PARSED_BYTES and len(_PARSED) > 1:
            total -= len(_PARSED.popitem(last=False)[1])
    return docs


def parse(text: str, file: str) -> list[Manifest]:
    """Parse every YAML document in ``text`` (C loader); ``List`` kinds are flattened.

    The text is bounded first (size, depth, aliases: ``shipway.model.bounded``). The
    documents of a text seen before come from ``_PARSED`` (pickled: each caller gets
    its own copy), so the UI's tree refresh and the reconciler do not load the same
    1,500 manifests again while git has not moved.
    """
    docs = _load_cached(text, file)
    out: list[Manifest] = []
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise InputError("a manifest must be a mapping", subject=f"{file}#{i}")
        if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            out += [item for item in doc["items"] if isinstance(item, dict)]
        else:
            out.append(doc)
    return out


_HOOK_ANNOTATIONS = ("argocd.argoproj.io/hook", "helm.sh/hook")


def _generated_hook(meta: Any) -> bool:
    """A hook may have ``metadata.generateName`` instead of a name (named once per sync)."""
    if not isinstance(meta, dict) or not isinstance(meta.get("generateName"), str):
        return False
    ann = meta.get("annotations") or {}
    return isinstance(ann, dict) and any(a in ann for a in _HOOK_ANNOTATIONS)


def _has(meta: Any, field: str) -> bool:
    return isinstance(meta, dict) and field in meta


def validate(
    manifests: Iterable[tuple[str, Manifest]],
    *,
    known_kinds: frozenset[str] | None = None,
    namespace: str = "",
) -> list[Manifest]:
    """Check each ``(file, manifest)``, default namespaces, refuse duplicates.

    Raises ``InputError`` naming the file for a missing ``apiVersion``/``kind``/
    ``metadata.name``, a kind ``known_kinds`` does not hold, or a duplicate object.
    """
    seen: dict[str, str] = {}
    out: list[Manifest] = []
    for file, m in manifests:
        for field in ("apiVersion", "kind"):
            if not isinstance(m.get(field), str) or not m[field]:
                raise InputError(f"missing {field!r}", subject=file)
        meta = m.get("metadata")
        if not isinstance(meta, dict) or (
            not isinstance(meta.get("name"), str) and not _generated_hook(meta)
        ):
            only = " (generateName is for hooks only)" if _has(meta, "generateName") else ""
            raise InputError(f"{m['kind']}: missing metadata.name{only}", subject=file)
        if known_kinds is not None and m["kind"] not in known_kinds:
            raise InputError(
                f"kind {m['kind']!r} is not known to the destination cluster", subject=file
            )
        if m["kind"] not in CLUSTER_SCOPED and not meta.get("namespace") and namespace:
            meta["namespace"] = namespace
        if not isinstance(meta.get("name"), str):  # a hook named at sync time
            out.append(m)
            continue
        key = key_of(m)
        if key in seen:
            raise InputError(
                f"{m['kind']}/{meta['name']} is defined twice (also in {seen[key]})", subject=file
            )
        seen[key] = file
        out.append(m)
    return out


def from_files(
    files: Mapping[str, str],
    *,
    recurse: bool = False,
    include: str | None = None,
    exclude: str | None = None,
    prefix: str = "",
    jsonnet_options: Mapping[str, Any] | None = None,
    read: jsonnet.Reader | None = None,
) -> list[tuple[str, Manifest]]:
    """Parse the selected files of a plain directory source into ``(file, manifest)`` pairs.

    ``files`` maps paths relative to the source directory to their text; the
    file names reported (and in errors) are ``prefix/path``. ``.jsonnet`` files
    are evaluated with ``jsonnet_options``; ``read`` resolves their imports.
    """
    out: list[tuple[str, Manifest]] = []
    for path in select_files(files, recurse=recurse, include=include, exclude=exclude):
        shown = f"{prefix.rstrip('/')}/{path}" if prefix else path
        if path.endswith(".jsonnet"):
            found = jsonnet.evaluate(files[path], shown, jsonnet_options or {},
                                     read or (lambda _p: None))  # fmt: skip
        else:
            found = parse(files[path], shown)
        out += [(shown, m) for m in found]
    return out
