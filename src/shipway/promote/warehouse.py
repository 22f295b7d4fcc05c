"""Warehouse discovery: list what each subscription offers, make Freight of the newest.

``refresh`` runs one discovery of one Warehouse (``shipway warehouse refresh``,
a registry or git push naming one of its repositories, or its ``interval``
coming due): image subscriptions list tags through the registry client
(``shipway.updater.resolve.default_client``: the updater's shared per-host
budget) and order them with the updater's tag policies; git subscriptions keep
a bare mirror under ``workdir`` and pick the newest commit of the branch that
touches the included paths, or a tag; chart subscriptions list an OCI
repository's tags or a classic repository's ``index.yaml`` (``promote.charts``,
credentials from the project's cred-type helm Secrets). Image and git subscriptions use the
project's ``kargo.akuity.io/cred-type`` ``image`` and ``git`` Secrets for their repository
(``promote.credentials``; without one, images use the docker config and git its own
configuration). The selection (first candidate of every
subscription) becomes a Freight named by its contents (``promote.freight``):
the same contents again make nothing new. ``freightCreationPolicy: Manual``
discovers but creates none. The Warehouse's status gets Kargo's
``discoveredArtifacts``, ``lastFreightID`` and a ``Ready`` condition, and
(``freightCreationCriteria``: no Freight while its expression is not true)
``lastHandledRefresh`` (the ``kargo.akuity.io/refresh`` token the discovery
handled, ``promote.refreshes``); a Warehouse with a token not yet handled is
due at once. A new Freight is told as a ``FreightCreated`` event. Touches the
registry, chart repositories, git and the store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipway.git.repo import Repo, git
from shipway.images import reference
from shipway.model import kargo
from shipway.model.errors import ShipwayError
from shipway.model.events import WARNING, ObjectRef
from shipway.model.resources import Resource
from shipway.promote import charts as charts_mod
from shipway.promote import credentials as creds_mod
from shipway.promote import freight as freight_mod
from shipway.promote import refreshes
from shipway.promote import select as sel
from shipway.store import events as store_events
from shipway.store import resources as store
from shipway.store.db import Store
from shipway.updater import resolve
from shipway.updater.webhooks import PushEvent

log = logging.getLogger("shipway.promote")
FREIGHT_CREATED = "FreightCreated"
_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


@dataclass
class Result:
    """One discovery: the Freight it selected (``created``: new), or the error it met."""

    warehouse: str
    namespace: str
    freight: str | None = None
    alias: str | None = None
    created: bool = False
    error: str | None = None


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- images -------------------------------------------------------------------------------------


def _platform_digest(client: Any, repository: str, tag: str, platform: str) -> str | None:
    os_, _, arch = platform.partition("/")
    digest, _mt, _doc = client.get_image_manifest(repository, tag, os_, arch.split("/")[0])
    return str(digest) if digest else None


def discover_image(
    sub: kargo.ImageSubscription,
    factory: resolve.ClientFactory | None = None,
    creds: creds_mod.RepoCreds | None = None,
) -> dict[str, Any]:
    """Kargo's ``discoveredArtifacts.images[]`` entry: references best first, with digests
    (``creds``: the registry login of the project's cred-type image Secret for it)."""
    ref = reference.parse_repository(sub.repo_url)
    if creds is not None:
        client = resolve.default_client(ref.registry, sub.insecure_skip_tls_verify,
                                        credentials=(creds.username, creds.password))  # fmt: skip
    else:
        client = (factory or resolve.default_client)(ref.registry, sub.insecure_skip_tls_verify)
    policy = sel.image_policy(sub)
    semver = sub.image_selection_strategy == "SemVer"
    tags = sel.usable_tags(sel.regex_filter(sub, client.list_tags(ref.repository)),
                           sub.strict_semvers, semver)  # fmt: skip
    digests: dict[str, str] = {}
    created: dict[str, dt.datetime] = {}

    def digest_of(tag: str) -> str | None:
        if tag not in digests:
            if sub.platform:
                found = _platform_digest(client, ref.repository, tag, sub.platform)
            else:
                found = client.head_manifest(ref.repository, tag)
            if found:
                digests[tag] = found
        return digests.get(tag)

    if sub.image_selection_strategy == "NewestBuild":
        from shipway.updater.policy import filter_tags

        for choice in filter_tags(policy, tags):
            d = digest_of(choice.tag)
            when = (
                resolve.parse_created(client.get_config(ref.repository, d).get("created"))
                if d
                else None
            )
            if when:
                created[choice.tag] = when
    refs: list[dict[str, Any]] = []
    for tag in sel.candidates(policy, tags, sub.discovery_limit, created):
        d = digest_of(tag)
        if not d:
            continue
        entry: dict[str, Any] = {"tag": tag, "digest": d}
        if tag in created:
            entry["createdAt"] = created[tag].strftime("%Y-%m-%dT%H:%M:%SZ")
        refs.append(entry)
    out: dict[str, Any] = {"repoURL": sub.repo_url, "references": refs}
    if sub.platform:
        out["platform"] = sub.platform
    return out


# -- git ----------------------------------------------------------------------------------------


def _mirror(url: str, workdir: Path, auth: dict[str, str]) -> Repo:
    path = workdir / "git" / hashlib.sha1(freight_mod.normalize_git_url(url).encode()).hexdigest()
    repo = Repo(path) if (path / "HEAD").exists() else Repo.init(path, bare=True)
    repo.run("fetch", "-q", "--prune", "--force", "--tags", url, "+refs/heads/*:refs/heads/*",
             env=auth)  # fmt: skip
    return repo


def _default_branch(url: str, auth: dict[str, str]) -> str:
    out = git(["ls-remote", "--symref", "--", url, "HEAD"], subject=url, timeout=60, env=auth)
    for line in out.splitlines():
        if line.startswith("ref: refs/heads/"):
            return line.split("\t")[0][len("ref: refs/heads/") :]
    return "main"


def _branch_commits(repo: Repo, sub: kargo.GitSubscription, branch: str) -> list[dict[str, Any]]:
    scan = sub.discovery_limit if not (sub.include_paths or sub.exclude_paths) else 1000
    if sub.expression_filter:
        scan = 1000
    since = [f"--since={sub.since}"] if sub.since else []
    out = repo.run("log", f"-n{scan}", *since,
                   "--format=%x1e%H%x1f%an <%ae>%x1f%cI%x1f%s%x1f%cn <%ce>",
                   "--name-only", f"refs/heads/{branch}", "--")  # fmt: skip
    commits: list[dict[str, Any]] = []
    for block in out.split("\x1e")[1:]:
        head, _, names = block.partition("\n")
        sha, author, date, subject, committer = [*head.split("\x1f"), "", "", "", ""][:5]
        files = [n for n in names.splitlines() if n.strip()]
        row = {"id": sha, "branch": branch, "subject": subject, "author": author,
               "committer": committer, "creatorDate": date}  # fmt: skip
        if not sel.touches(sub, files) or not sel.passes_filter(sub, row):
            continue
        commits.append(row)
        if len(commits) >= sub.discovery_limit:
            break
    return commits


def _tag_commits(repo: Repo, sub: kargo.GitSubscription) -> list[dict[str, Any]]:
    fmt = "%(refname:strip=2)%1f%(objectname)%1f%(*objectname)%1f%(creatordate:iso-strict)%1f%(contents:subject)%1f%(taggername) %(taggeremail)%1f%(*authorname) %(*authoremail)%1f%(authorname) %(authoremail)"  # noqa: E501
    rows: dict[str, dict[str, Any]] = {}
    for line in repo.run("for-each-ref", f"--format={fmt}", "refs/tags").splitlines():
        tag, obj, peeled, date, subject, tagger, pauthor, author = (line.split("\x1f")
                                                                   + [""] * 7)[:8]  # fmt: skip
        annotated = bool(peeled)
        rows[tag] = {"id": peeled or obj, "tag": tag, "subject": subject, "creatorDate": date,
                     "author": (pauthor if annotated else author).strip(),
                     "tagger": tagger.strip() if annotated else "",
                     "annotation": subject if annotated else ""}  # fmt: skip
    tags = [t for t in sel.filter_git_tags(sub, list(rows)) if sel.passes_filter(sub, rows[t])]
    if sub.commit_selection_strategy == "NewestTag":
        ordered = sorted(tags, key=lambda t: (rows[t]["creatorDate"], t), reverse=True)
    elif tags:
        ordered = sel.candidates(sel.tag_policy(sub), tags, 1000)
    else:
        ordered = []
    out: list[dict[str, Any]] = []
    for tag in ordered:
        if sub.include_paths or sub.exclude_paths:
            files = repo.run("diff-tree", "--no-commit-id", "--name-only", "-r", "--root",
                             rows[tag]["id"]).splitlines()  # fmt: skip
            if not sel.touches(sub, files):
                continue
        out.append(rows[tag])
        if len(out) >= sub.discovery_limit:
            break
    return out


def discover_git(sub: kargo.GitSubscription, workdir: Path,
                 creds: creds_mod.RepoCreds | None = None) -> dict[str, Any]:  # fmt: skip
    """Kargo's ``discoveredArtifacts.git[]`` entry: commits best first (``creds``: the
    project's cred-type git Secret for the repository)."""
    auth = creds_mod.git_env(sub.repo_url, creds)
    repo = _mirror(sub.repo_url, workdir, auth)
    out: dict[str, Any] = {"repoURL": sub.repo_url}
    if sub.commit_selection_strategy == "NewestFromBranch":
        branch = sub.branch or _default_branch(sub.repo_url, auth)
        out["branch"] = branch
        out["commits"] = _branch_commits(repo, sub, branch)
    else:
        out["commits"] = _tag_commits(repo, sub)
    return out


# -- one discovery ------------------------------------------------------------------------------


def _selection(
    spec: kargo.WarehouseSpec, found: dict[str, list[dict[str, Any]]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    images = []
    for entry in found["images"]:
        if not entry["references"]:
            raise ShipwayError(f"no usable image in {entry['repoURL']}", subject=entry["repoURL"])
        top = entry["references"][0]
        images.append({"repoURL": entry["repoURL"], "tag": top["tag"], "digest": top["digest"]})
    commits = []
    for entry in found["git"]:
        if not entry["commits"]:
            raise ShipwayError(f"no commit selected in {entry['repoURL']}",
                               subject=entry["repoURL"])  # fmt: skip
        top = entry["commits"][0]
        commit = {"repoURL": entry["repoURL"], "id": top["id"]}
        for key, src in (("branch", "branch"), ("tag", "tag"), ("message", "subject"),
                         ("author", "author")):  # fmt: skip
            if top.get(src):
                commit[key] = top[src]
        commits.append(commit)
    return images, commits


def _criteria_unmet(spec: kargo.WarehouseSpec, name: str, images: list[dict[str, Any]],
                    commits: list[dict[str, Any]],
                    charts: list[dict[str, Any]]) -> str:  # fmt: skip
    """Why ``freightCreationCriteria`` keeps this selection from becoming Freight ("" if not)."""
    crit = spec.freight_creation_criteria
    if crit is None:
        return ""
    from shipway.promote import expressions as ex
    from shipway.templates.errors import ExprError

    target = {"origin": {"kind": "Warehouse", "name": name}, "images": images,
              "commits": commits, "charts": charts}  # fmt: skip
    scope = ex.Scope(project="", stage="", promotion="", target=target)
    try:
        ok = ex.expression(crit.expression.strip(), {}, scope.funcs())
    except ExprError as exc:
        raise ShipwayError(f"freightCreationCriteria: {exc}", subject=f"Warehouse/{name}") from None
    return "" if ok is True else "freightCreationCriteria not met: no Freight created"


def _lock(namespace: str, name: str) -> threading.Lock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault((namespace, name), threading.Lock())


def refresh(
    db: Store,
    warehouse: Resource,
    *,
    workdir: Path,
    factory: resolve.ClientFactory | None = None,
) -> Result:
    """Discover once; store the status and (Automatic, new contents) one Freight."""
    ns, name = warehouse.namespace, warehouse.name
    result = Result(name, ns)
    with _lock(ns, name):
        spec = kargo.WarehouseSpec.model_validate(warehouse.spec)
        current = store.find(db, "Warehouse", name, ns)
        status = dict(current.status if current else warehouse.status)
        status = refreshes.handled(status, (current or warehouse).body)
        found: dict[str, list[dict[str, Any]]] = {"images": [], "git": []}
        try:
            for sub in spec.subscriptions:
                if sub.image is not None:
                    found["images"].append(
                        discover_image(
                            sub.image, factory, _creds(db, ns, "image", sub.image.repo_url)
                        )
                    )
                elif sub.git is not None:
                    found["git"].append(
                        discover_git(sub.git, workdir, _creds(db, ns, "git", sub.git.repo_url))
                    )
                elif sub.chart is not None:
                    found.setdefault("charts", []).append(charts_mod.discover(
                        sub.chart, creds=_helm_creds(db, ns), factory=factory))  # fmt: skip
            images, commits = _selection(spec, found)
            charts = [charts_mod.selection(e) for e in found.get("charts", [])]
            unmet = _criteria_unmet(spec, name, images, commits, charts)
        except ShipwayError as exc:
            result.error = str(exc)
            status["conditions"] = [_condition(False, "DiscoveryFailed", str(exc))]
            status["lastDiscoveryAttempt"] = _now()
            store.set_status(db, "Warehouse", name, status, ns)
            store_events.emit(db, ObjectRef("Warehouse", name, ns, kargo_api()),
                              "DiscoveryFailed", str(exc), type=WARNING,
                              source="warehouse")  # fmt: skip
            return result
        status["discoveredArtifacts"] = {"discoveredAt": _now(), **found}
        status["lastDiscoveryAttempt"] = status["discoveredArtifacts"]["discoveredAt"]
        status["conditions"] = [_condition(True, "ArtifactsDiscovered", "")]
        fname = freight_mod.freight_name(name, images, commits, charts)
        result.freight = fname
        if unmet:
            status["conditions"] = [_condition(True, "ArtifactsDiscovered", unmet)]
        if spec.freight_creation_policy == "Automatic" and not unmet:
            existing = store.find(db, "Freight", fname, ns)
            if existing is None:
                taken = {str(f.body.get("alias", "")) for f in store.list_kind(db, "Freight", ns)}
                doc = freight_mod.document(name, ns, images, commits, taken, charts)
                res = Resource(api_version=freight_mod.API_VERSION, kind="Freight", name=fname,
                               namespace=ns, body=doc, source=f"Warehouse/{name}")  # fmt: skip
                store.apply(db, [res])
                result.created, result.alias = True, str(doc["alias"])
                status["lastFreightID"] = fname
                what = ", ".join([f"{i['repoURL']}:{i['tag']}" for i in images]
                                 + [f"{c['repoURL']}@{c['id'][:12]}" for c in commits]
                                 + [freight_mod.chart_key(c) for c in charts])  # fmt: skip
                store_events.emit(db, ObjectRef("Freight", fname, ns, kargo_api()),
                                  FREIGHT_CREATED, f"{result.alias} from Warehouse {name}: {what}",
                                  source="warehouse")  # fmt: skip
            else:
                result.alias = str(existing.body.get("alias", ""))
        store.set_status(db, "Warehouse", name, status, ns)
    return result


def _creds(db: Store, namespace: str, cred_type: str, url: str) -> creds_mod.RepoCreds | None:
    from shipway.settings import load

    return creds_mod.repo_credentials(db, namespace, cred_type, url, load().home)


def _helm_creds(db: Store, namespace: str) -> charts_mod.CredLookup:
    from shipway.settings import load

    return charts_mod.helm_credentials(
        list(creds_mod.helm_secrets(db, namespace, load().home)))  # fmt: skip


def kargo_api() -> str:
    return freight_mod.API_VERSION


def _condition(ok: bool, reason: str, message: str) -> dict[str, Any]:
    return {"type": "Ready", "status": "True" if ok else "False", "reason": reason,
            "message": message, "lastTransitionTime": _now()}  # fmt: skip


def refresh_named(db: Store, name: str, namespace: str, *, workdir: Path) -> Result:
    """``shipway warehouse refresh NAME -n PROJECT``: one discovery now."""
    return refresh(db, store.get(db, "Warehouse", name, namespace), workdir=workdir)


# -- triggers -----------------------------------------------------------------------------------


def _subs(res: Resource) -> list[kargo.Subscription]:
    try:
        return kargo.WarehouseSpec.model_validate(res.spec).subscriptions
    except ValueError:
        return []


def _run(db: Store, targets: Iterable[Resource], workdir: Path,
         factory: resolve.ClientFactory | None) -> list[Result]:  # fmt: skip
    out = []
    for res in targets:
        try:
            out.append(refresh(db, res, workdir=workdir, factory=factory))
        except ShipwayError as exc:  # one Warehouse's trouble does not stop the others
            log.warning("warehouse %s/%s: %s", res.namespace, res.name, exc)
            out.append(Result(res.name, res.namespace, error=str(exc)))
    return out


def on_registry_push(
    db: Store,
    events: Iterable[PushEvent],
    *,
    workdir: Path,
    factory: resolve.ClientFactory | None = None,
) -> list[Result]:
    """Refresh every Warehouse with an image or OCI chart subscription to a pushed repository."""
    evs = list(events)
    hit = [
        w
        for w in store.list_kind(db, "Warehouse")
        if any(any(_same_image(url, e) for e in evs) for url in _registry_urls(w))
    ]
    return _run(db, hit, workdir, factory)


def _registry_urls(res: Resource) -> list[str]:
    """The registry repositories a Warehouse watches: images and OCI charts."""
    out = []
    for s in _subs(res):
        if s.image:
            out.append(s.image.repo_url)
        elif s.chart and s.chart.oci:
            out.append(s.chart.repo_url.removeprefix("oci://"))
    return out


def _same_image(repo_url: str, event: PushEvent) -> bool:
    try:
        return resolve.same_repository(repo_url, event)
    except ShipwayError:
        return False


def on_git_push(db: Store, repo_url: str, *, workdir: Path) -> list[Result]:
    """Refresh every Warehouse with a git subscription to ``repo_url``."""
    want = freight_mod.normalize_git_url(repo_url)
    hit = [
        w
        for w in store.list_kind(db, "Warehouse")
        if any(s.git and freight_mod.normalize_git_url(s.git.repo_url) == want for s in _subs(w))
    ]
    return _run(db, hit, workdir, None)


def poll_due(
    db: Store,
    *,
    workdir: Path,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    factory: resolve.ClientFactory | None = None,
) -> list[Result]:
    """The fallback: refresh every Warehouse whose ``interval`` has passed since its last try,
    or that carries a refresh request not handled yet."""
    due = []
    for w in store.list_kind(db, "Warehouse"):
        try:
            interval = kargo.duration_seconds(str(w.spec.get("interval") or "5m0s"))
        except ValueError:
            continue
        last = (w.status or {}).get("lastDiscoveryAttempt")
        if last and not refreshes.pending(w):
            when = dt.datetime.fromisoformat(str(last).replace("Z", "+00:00"))
            if (now() - when).total_seconds() < interval:
                continue
        due.append(w)
    return _run(db, due, workdir, factory)


def git_urls(db: Store) -> list[str]:
    """The git repositories Warehouses subscribe to (a forge push to one is of interest)."""
    return [s.git.repo_url for w in store.list_kind(db, "Warehouse") for s in _subs(w) if s.git]
