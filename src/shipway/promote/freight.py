"""Freight identity: the name Kargo gives a Freight, its alias, and its document. Pure: no I/O.

Kargo names a Freight by the SHA-1 of its contents, so the same images and
commits from the same Warehouse always make the same name (and discovering
them again makes nothing new): the origin (``Warehouse/NAME``) and the sorted
identities of its artifacts, an image as ``repoURL@digest`` (its tag when no
digest is known), a commit as ``repoURL:id`` (the URL normalised) and a chart
as ``repoURL/name:version`` (``repoURL:version`` for an OCI chart, which has
no name; the URL lower-cased, without a trailing ``/``).
The alias is an adjective and a noun drawn from the name, so it is stable
too; ``alias_for`` steps to the next pair when a project already uses one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Container, Mapping, Sequence
from typing import Any

ALIAS_LABEL = "kargo.akuity.io/alias"
API_VERSION = "kargo.akuity.io/v1alpha1"

_ADJECTIVES = (
    "agile", "amber", "bold", "brave", "brisk", "calm", "clever", "cosmic", "crimson", "daring",
    "eager", "fancy", "fierce", "gentle", "golden", "happy", "hidden", "humble", "icy", "jolly",
    "keen", "lively", "lucky", "mellow", "mighty", "nimble", "noble", "quiet", "rapid", "rustic",
    "shiny", "silent", "sleek", "snowy", "steady", "sunny", "swift", "tidy", "vivid", "witty",
)  # fmt: skip
_NOUNS = (
    "badger", "bear", "beaver", "bison", "cat", "cheetah", "condor", "crane", "dingo", "dolphin",
    "eagle", "falcon", "ferret", "fox", "gecko", "heron", "ibis", "jaguar", "koala", "lemur",
    "lynx", "marmot", "moose", "newt", "ocelot", "otter", "owl", "panda", "puffin", "quail",
    "raven", "seal", "sparrow", "tapir", "tiger", "toucan", "walrus", "wolf", "yak", "zebra",
)  # fmt: skip


def normalize_git_url(url: str) -> str:
    """A git URL in one spelling: lower-case, no trailing ``/`` or ``.git``."""
    out = url.strip().rstrip("/")
    if out.endswith(".git"):
        out = out[:-4]
    return out.lower()


def normalize_chart_url(url: str) -> str:
    """A chart repository URL in one spelling: lower-case, no trailing ``/``."""
    return url.strip().rstrip("/").lower()


def chart_key(chart: Mapping[str, Any]) -> str:
    """A chart's identity in a Freight name: ``repoURL[/name]:version``."""
    where = normalize_chart_url(str(chart["repoURL"]))
    if chart.get("name"):
        where += "/" + str(chart["name"])
    return f"{where}:{chart.get('version') or ''}"


def freight_name(
    warehouse: str,
    images: Sequence[Mapping[str, Any]],
    commits: Sequence[Mapping[str, Any]],
    charts: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The SHA-1 name of a Freight of ``warehouse`` holding these images, commits and charts."""
    parts = [f"{i['repoURL']}@{i.get('digest') or i.get('tag') or ''}" for i in images]
    parts += [f"{normalize_git_url(c['repoURL'])}:{c.get('id') or ''}" for c in commits]
    parts += [chart_key(c) for c in charts]
    text = f"Warehouse/{warehouse}:" + "|".join(sorted(parts))
    return hashlib.sha1(text.encode()).hexdigest()


def alias_for(name: str, taken: Container[str] = ()) -> str:
    """An ``adjective-noun`` alias drawn from ``name``'s hex digits, not one of ``taken``."""
    value = int(name, 16) if name and all(c in "0123456789abcdef" for c in name) else 0
    pairs = len(_ADJECTIVES) * len(_NOUNS)
    for step in range(pairs):
        n = (value + step * 7919) % pairs
        alias = f"{_ADJECTIVES[n // len(_NOUNS)]}-{_NOUNS[n % len(_NOUNS)]}"
        if alias not in taken:
            return alias
    return f"freight-{name[:12]}"


def document(
    warehouse: str,
    namespace: str,
    images: Sequence[Mapping[str, Any]],
    commits: Sequence[Mapping[str, Any]],
    taken_aliases: Container[str] = (),
    charts: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The Freight resource (as Kargo stores it) for one discovery of ``warehouse``."""
    name = freight_name(warehouse, images, commits, charts)
    alias = alias_for(name, taken_aliases)
    body: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "Freight",
        "metadata": {"name": name, "namespace": namespace, "labels": {ALIAS_LABEL: alias}},
        "alias": alias,
        "origin": {"kind": "Warehouse", "name": warehouse},
    }
    if images:
        body["images"] = [dict(i) for i in images]
    if commits:
        body["commits"] = [dict(c) for c in commits]
    if charts:
        body["charts"] = [dict(c) for c in charts]
    return body
