"""Helm chart discovery for Warehouse chart subscriptions, and chart version look-ups.

A subscription's ``repoURL`` is either an ``oci://host/path/chart`` repository
in a registry, listed through shipway's registry client (its tag list: Helm
writes a version's ``+`` as ``_`` in a tag, read back here), or a classic
chart repository, whose ``index.yaml`` is fetched over HTTP(S) (at most
``INDEX_LIMIT`` bytes, parsed with the safe YAML loader: only the subscribed
chart's block when the index is laid out as Helm writes it, the whole file
otherwise) and whose ``entries[name][].version`` are the versions. Either way the versions that
parse as semantic versions (``v`` prefix and missing minor/patch allowed, as
Masterminds' semver reads them) and satisfy ``semverConstraint`` (when set)
are kept, newest first, up to ``discoveryLimit``: Kargo's
``discoveredArtifacts.charts[]`` entry. Credentials are Kargo's: a Secret of
the project labelled ``kargo.akuity.io/cred-type: helm`` whose ``repoURL``
equals the subscription's (or matches it as a regular expression with
``repoURLIsRegex: "true"``) gives ``username``/``password`` (basic auth for a
classic repository, registry credentials for OCI); without one, OCI falls back
to the docker config as images do. ``versions`` is also what
``helm-update-chart`` asks when a dependency's version is a range. Touches the
registry, HTTP chart repositories and (for credentials) the store.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import yaml

from shipway.images import credentials as creds_mod
from shipway.model import kargo
from shipway.model.errors import InputError, ShipwayError
from shipway.model.secrets import match_credentials
from shipway.promote.freight import normalize_chart_url
from shipway.updater import resolve
from shipway.updater.policy.semver import Version, parse_range, parse_version

INDEX_LIMIT = 32 * 1024 * 1024
"""The largest ``index.yaml`` read (bytes); a bigger one is refused, naming the repository."""

Creds = tuple[str, str]
CredLookup = Callable[[str], Creds | None]
"""``repoURL -> (username, password)`` or None (no Secret for it)."""


def helm_credentials(secrets: list[tuple[str, Mapping[str, str]]]) -> CredLookup:
    """A look-up over decoded cred-type helm Secrets (``promote.credentials``' shape), with
    Kargo's precedence (``shipway.model.secrets.match_credentials``); an OCI repository's
    Secret may name it with or without ``oci://``."""

    def spelling(url: str) -> str:
        return normalize_chart_url(url).removeprefix("oci://")

    def find(repo_url: str) -> Creds | None:
        found = match_credentials(secrets, repo_url, spelling)
        if found is None:
            return None
        return str(found[1].get("username", "")), str(found[1].get("password", ""))

    return find


def _no_creds(_url: str) -> Creds | None:
    return None


def _order(raw: list[str], constraint: str | None, subject: str) -> list[Version]:
    try:
        rng = parse_range(constraint) if constraint else None
    except InputError as exc:
        raise ShipwayError(f"{subject}: semverConstraint: {exc}", subject=subject) from None
    seen: dict[Version, Version] = {}
    for text in raw:
        v = parse_version(text)
        if v is None or (rng is not None and not rng.allows(v)):
            continue
        seen.setdefault(v, v)
    return sorted(seen.values(), reverse=True)


def split_oci(repo_url: str) -> tuple[str, str]:
    """``oci://host[:port]/path/chart`` -> ``(host[:port], path/chart)``."""
    rest = repo_url.removeprefix("oci://").rstrip("/")
    host, _, path = rest.partition("/")
    if not host or not path:
        raise ShipwayError(f"{repo_url}: an OCI chart repository is oci://HOST/PATH",
                           subject=repo_url)  # fmt: skip
    return host, path


def _oci_versions(repo_url: str, creds: Creds | None,
                  factory: resolve.ClientFactory | None) -> list[str]:  # fmt: skip
    host, path = split_oci(repo_url)
    if creds is not None:
        from shipway.images.registry import RegistryClient

        with RegistryClient(host, credentials=creds_mod.Credentials(*creds)) as own:
            return [t.replace("_", "+") for t in own.list_tags(path)]
    client = (factory or resolve.default_client)(host, False)
    return [t.replace("_", "+") for t in client.list_tags(path)]


def _fetch_index(repo_url: str, creds: Creds | None, timeout: float) -> bytes:
    url = repo_url.rstrip("/") + "/index.yaml"
    auth = httpx.BasicAuth(*creds) if creds else None
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, auth=auth) as http, \
                http.stream("GET", url) as resp:  # fmt: skip
            if resp.status_code != 200:
                raise ShipwayError(f"{url}: HTTP {resp.status_code}", subject=repo_url)
            body = bytearray()
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > INDEX_LIMIT:
                    raise ShipwayError(f"{url}: index larger than {INDEX_LIMIT} bytes",
                                       subject=repo_url)  # fmt: skip
            return bytes(body)
    except httpx.HTTPError as exc:
        raise ShipwayError(f"{url}: {exc}", subject=repo_url) from None


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _entry_block(text: str, name: str) -> list[Any] | None:
    """``entries[name]`` read from its own block of an index written as Helm writes one
    (block style, one key per chart), without parsing the other charts; None when the
    index is not laid out so (the whole file is parsed then)."""
    top = re.search(r"^entries:[ \t]*\r?\n", text, re.M)
    if top is None:
        return None
    child = re.compile(r"^( +)\S", re.M).match(text, top.end())
    if child is None:
        return None
    ind = child[1]  # the charts' keys are at the first child's indentation, and only there
    key = "(?:" + "|".join(re.escape(k) for k in (name, f'"{name}"', f"'{name}'")) + ")"
    head = re.compile(rf"^{ind}{key}:[ \t]*\r?$", re.M).search(text, top.end())
    if head is None:
        return None
    end = re.compile(rf"^(?:{ind}[^\s-]|\S)", re.M).search(text, head.end())
    block = text[head.start() : end.start() if end else len(text)]
    try:
        doc = yaml.load(textwrap.dedent(block), Loader=_LOADER)
    except yaml.YAMLError:
        return None
    found = doc.get(name) if isinstance(doc, dict) else None
    return found if isinstance(found, list) else None


def _classic_versions(repo_url: str, name: str, creds: Creds | None,
                      timeout: float) -> list[str]:  # fmt: skip
    body = _fetch_index(repo_url, creds, timeout)
    fast = _entry_block(body.decode("utf-8", "replace"), name)
    if fast is not None:
        return [str(e["version"]) for e in fast if isinstance(e, dict) and e.get("version")]
    try:
        doc = yaml.load(body, Loader=_LOADER)  # the safe loader (C when built)
    except yaml.YAMLError as exc:
        raise ShipwayError(f"{repo_url}/index.yaml: not YAML: {exc}", subject=repo_url) from None
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, dict):
        raise ShipwayError(f"{repo_url}/index.yaml has no 'entries' map", subject=repo_url)
    found = entries.get(name)
    if not isinstance(found, list):
        raise ShipwayError(f"chart {name!r} is not in {repo_url}/index.yaml", subject=repo_url)
    return [str(e["version"]) for e in found if isinstance(e, dict) and e.get("version")]


def versions(repo_url: str, name: str | None = None, constraint: str | None = None, *,
             creds: CredLookup = _no_creds, factory: resolve.ClientFactory | None = None,
             timeout: float = 30.0) -> list[str]:  # fmt: skip
    """The chart's versions newest first (those within ``constraint`` when given)."""
    if repo_url.startswith("oci://"):
        target = repo_url if not name else repo_url.rstrip("/") + "/" + name
        raw = _oci_versions(target, creds(target) or creds(repo_url), factory)
        subject = target
    else:
        if not name:
            raise ShipwayError(f"{repo_url}: a classic chart repository needs a chart name",
                               subject=repo_url)  # fmt: skip
        raw = _classic_versions(repo_url, name, creds(repo_url), timeout)
        subject = f"{repo_url} {name}"
    return [v.original or str(v) for v in _order(raw, constraint, subject)]


def discover(sub: kargo.ChartSubscription, *, creds: CredLookup = _no_creds,
             factory: resolve.ClientFactory | None = None) -> dict[str, Any]:  # fmt: skip
    """Kargo's ``discoveredArtifacts.charts[]`` entry: versions newest first."""
    found = versions(sub.repo_url, sub.name, sub.semver_constraint, creds=creds, factory=factory)
    out: dict[str, Any] = {"repoURL": sub.repo_url}
    if sub.name:
        out["name"] = sub.name
    if sub.semver_constraint:
        out["semverConstraint"] = sub.semver_constraint
    out["versions"] = found[: sub.discovery_limit]
    return out


def selection(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The Freight's ``charts[]`` item for a discovered entry (its newest version)."""
    if not entry.get("versions"):
        what = f"{entry['repoURL']} {entry.get('name') or ''}".strip()
        raise ShipwayError(f"no chart version selected in {what}", subject=str(entry["repoURL"]))
    out: dict[str, Any] = {"repoURL": entry["repoURL"]}
    if entry.get("name"):
        out["name"] = entry["name"]
    out["version"] = entry["versions"][0]
    return out
