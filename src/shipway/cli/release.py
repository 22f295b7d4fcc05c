"""``shipway release list|get``: the release records, as tables, JSON or YAML."""

from __future__ import annotations

from typing import Any

import click

from shipway.cli import optspec, remote
from shipway.cli import output as out
from shipway.cli.context import reader_from, store_from
from shipway.cli.groups import SuggestingGroup
from shipway.cli.list_views import RELEASE_HEADERS, nothing_in, release_row
from shipway.cli.lists import refused_option
from shipway.model import namespaces
from shipway.model.release import Release
from shipway.store import reads


def timeline(rel: Release) -> str:
    """A release as lines of stage, status and duration, for people."""
    lines = [f"release {rel.id}  app={rel.app}  commit={rel.commit[:12]}  status={rel.status}"]
    for st in rel.stages:
        secs = f"{st.seconds:6.2f}s" if st.seconds is not None else "      -"
        msg = f"  {st.message}" if st.message else ""
        lines.append(f"  {st.name:<8} {st.status:<10} {secs}{msg}")
    if rel.image:
        lines.append(f"  image          {rel.image}")
    if rel.config_commit:
        lines.append(f"  config commit  {rel.config_commit}")
    if rel.freight:
        f = rel.freight
        lines.append(f"  freight        {f.get('name', '')} ({f.get('alias', '')}) of Warehouse "
                     f"{f.get('project', '')}/{f.get('warehouse', '')}: shipway release get "
                     f"{f.get('alias', '')} --project {f.get('project', '')}")  # fmt: skip
    lines += _security_lines(rel.security)
    if rel.finished:
        lines.append(f"  total          {(rel.finished - rel.created).total_seconds():.2f}s")
    return "\n".join(lines)


def _signing_lines(security: dict[str, object]) -> list[str]:
    """What the controller attached to the image CI built: signature, attestations, SBOM."""
    signed = security.get("signing")
    if not isinstance(signed, dict):
        bom = security.get("sbom")  # no signing key: the unsigned SBOM alone
        if not isinstance(bom, dict):
            return []
        return [f"  sbom           {bom.get('sbomDigest')} ({bom.get('sbomComponents', 0)} "
                f"components, unsigned, {bom.get('where')})"]  # fmt: skip
    kinds = {"https://slsa.dev/provenance/v1": "SLSA provenance",
             "https://cyclonedx.org/bom": "CycloneDX SBOM"}  # fmt: skip
    atts = ", ".join(kinds.get(str(a), str(a)) for a in signed.get("attestations") or [])
    out = [f"  signed         {signed.get('image')} (CI run {signed.get('ciRun')}; {atts})"]
    if signed.get("sbomDigest"):
        out.append(f"  sbom           {signed['sbomDigest']} "
                   f"({signed.get('sbomComponents', 0)} components)")  # fmt: skip
    return out


def _security_lines(security: dict[str, object]) -> list[str]:
    """The release's security facts: what was signed and attested, the policy gates' verdicts
    (images verified, findings by severity, vulnerabilities per image)."""
    out = _signing_lines(security)
    policy = security.get("policy")
    if not isinstance(policy, dict):
        return out
    for image, entry in sorted((policy.get("images") or {}).items()):
        verdict = "verified" if entry.get("verified") else "NOT verified"
        out.append(f"  signature      {image}: {verdict} ({'; '.join(entry.get('by') or [])})")
        if entry.get("deployed"):  # mutateDigest: the reference the sync applied
            out.append(f"  deployed       {entry['deployed']}")
    counts = policy.get("findings") or {}
    if counts:
        shown = ", ".join(f"{n} {sev}" for sev, n in sorted(counts.items()))
        out.append(f"  policy         {shown}")
    order = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN", "ignored")
    for image, by_sev in sorted((policy.get("vulnerabilities") or {}).items()):
        ranked = sorted(by_sev.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order
                                                        else len(order), kv[0]))  # fmt: skip
        shown = ", ".join(f"{n} {sev}" for sev, n in ranked if n) or "none"
        out.append(f"  vulnerabilities {image}: {shown}")
    if policy.get("refused"):
        out.append(f"  refused        {policy['refused']}")
    return out


@click.group(cls=SuggestingGroup)
def release() -> None:
    """Release records: commit → CI run → image → config commit → live revision."""


@release.command("list")
@optspec.click_option(optspec.RELEASE_APP)
@optspec.click_option(optspec.RELEASE_NAMESPACE)
@optspec.click_option(optspec.ALL_NAMESPACES)
@refused_option("-l", "--selector", dest="selector",
                why="releases carry no labels: filter with --app, -n or --field-selector "
                    "(e.g. status=failed)")  # fmt: skip
@optspec.click_option(optspec.LIMIT)
@remote.server_option
@out.list_options
@out.watch_option
@click.pass_context
def list_cmd(
    ctx: click.Context,
    /,
    app: str | None,
    namespace: str | None,
    all_namespaces: bool,
    limit: int,
    server: str | None,
    watch: bool,
    **_: Any,
) -> None:
    """List releases, newest first (of every namespace's Applications unless -n)."""
    ns = None if all_namespaces else namespace
    if app:
        app = namespaces.app_key(app, ns)  # releases name an app as the engines do: dev_web
    t = remote.target(ctx, server)

    def fetch() -> list[dict[str, Any]]:
        if t is not None:
            data: list[dict[str, Any]] = remote.get_json(t, "/api/releases", app=app, limit=limit,
                                                         namespace=ns)  # fmt: skip
            return [Release.from_dict(d).to_dict() for d in data]
        found = reads.list_releases(reader_from(ctx), app=app, limit=limit, namespace=ns)
        return [r.to_dict() for r in found]

    table = out.rows_table(RELEASE_HEADERS, release_row)
    if watch:
        from shipway.cli import changes

        out.watch(fetch, out.Options.of(ctx), table=table, name="release",
                  feed=changes.feed_for(ctx, server, tables=("releases",)))  # fmt: skip
        return
    out.report(fetch(), out.Options.of(ctx), table=table, name="release", empty=nothing_in(ns))


def freight_timeline(doc: dict[str, Any]) -> str:
    """A Freight's journey across stages, one line per promotion, verification, approval
    or rollback, for people."""
    f = doc["freight"]
    images = ", ".join(f"{i.get('repoURL')}:{i.get('tag')}@{str(i.get('digest', ''))[:19]}"
                       for i in f.get("images") or [])  # fmt: skip
    lines = [f"freight {f['name']}  alias={f.get('alias', '')}  {images}"]
    for c in f.get("commits") or []:
        lines.append(f"  commit         {c.get('repoURL')}@{str(c.get('id', ''))[:12]}")
    for c in f.get("charts") or []:
        name = f" {c['name']}" if c.get("name") else ""
        lines.append(f"  chart          {c.get('repoURL')}{name} {c.get('version', '')}")
    for e in doc["journey"]:
        what = e.get("name") or e.get("to") or e.get("actor") or ""
        msg = f"  {e['message']}" if e.get("message") else ""
        lines.append(f"  {e['at']}  {e.get('stage', ''):<10} {e.get('kind', ''):<12} "
                     f"{e.get('phase', ''):<12} {what}{msg}")  # fmt: skip
        lines += [f"  {line}" for line in _security_lines(e.get("security") or {})]
    return "\n".join(lines)


@release.command("get")
@click.argument("release_id")
@click.option("--project", "-n", "project", default=None,
              help="RELEASE_ID is a Freight (name or alias) of this Kargo Project: show its "
                   "journey across stages.")  # fmt: skip
@remote.server_option
@out.output_option
@click.pass_context
def get_cmd(ctx: click.Context, release_id: str, project: str | None, server: str | None,
            output: str) -> None:  # fmt: skip
    """Show one release (an id or a unique prefix) as a timeline; with ``--project``, a
    Freight's promotions, verifications, approvals and rollbacks per stage."""
    if project is not None:
        from shipway.model.errors import NotFoundError
        from shipway.promote import promotion as pm
        from shipway.promote import records
        from shipway.store import resources as store_resources

        store = store_from(ctx)
        found = pm.find_freight(store_resources.list_kind(store, "Freight", project), release_id)
        if found is None:
            raise NotFoundError(f"Freight {release_id!r} not found in project {project!r}",
                                subject=f"Freight/{project}/{release_id}")  # fmt: skip
        doc = {"freight": {**found.body, "name": found.name}, "status": found.status,
               "journey": records.journey(store, project, found.name)}  # fmt: skip
        if not out.emit(doc, output, name=lambda d: f"freight/{d['freight']['name']}"):
            click.echo(freight_timeline(doc))
        return
    t = remote.target(ctx, server)
    if t is not None:
        rel = Release.from_dict(remote.get_json(t, f"/api/releases/{release_id}"))
    else:  # read as the lists read (never migrated; no SQLAlchemy on SQLite)
        from shipway.store import reads

        rel = reads.get_release(reader_from(ctx), release_id)
    if not out.emit(rel.to_dict(), output, name="release"):
        click.echo(timeline(rel))
