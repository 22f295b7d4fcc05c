"""The demo's promotion flow: test, uat and prod, observed through each Stage's status.

- ``config_files``: the stage overlays the config repo gains (``stages.overlay_files``);
- ``apply_content``: what ``shipway apply -f kargo.yaml`` then ``shipway appset refresh
  hello`` do: parse and check the ApplicationSet and Kargo objects as the CLI does
  (``shipway.promote.checks``), store them, generate the stage Applications;
- ``follow``: after a push, find the Freight the Warehouse made of the release's image,
  then watch each Stage's ``freightHistory`` (with its ``verificationHistory``),
  ``lastPromotion`` and ``autoPromotionHolds`` until every stage has settled on that
  Freight: verified, rolled back, refused (naming the gate) or, for prod, waiting for
  the person who runs the printed ``shipway promote`` command.

The controller does the work (Warehouse discovery on the registry's notification,
auto-promotion, verification, rollback); this module only reads the store.
Touches the store and ``<home>/demo``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.controller.tracker import freight_images, freight_link
from shipway.demo import stages
from shipway.deploy.appset import engine as appset_engine
from shipway.model import kargo_project, namespaces
from shipway.model import resources as model
from shipway.model.errors import CIError
from shipway.model.release import Release
from shipway.promote import checks, records
from shipway.promote import start as start_mod
from shipway.settings import Settings
from shipway.store import releases
from shipway.store import resources as resource_store
from shipway.store.db import Store

PROJECT = stages.PROJECT
ORIGIN = f"Warehouse/{PROJECT}"
_ROLLED = ("Succeeded", "Impossible", "Refused", "NotRepeated")


def config_files(registry: str, ports: dict[str, int]) -> dict[str, str]:
    return stages.overlay_files(registry, ports)


def apply_content(store: Store, settings: Settings, path: Path, text: str) -> list[str]:
    """Store the stages' objects as ``shipway apply -f PATH`` would; make the Applications."""
    path.write_text(text)
    batch = model.parse_text(text, str(path), None, namespaces.DEFAULT)
    stored: list[model.Resource] = []
    for kind in checks.referenced_kinds(batch):
        ns = PROJECT if namespaces.namespaced(kind) else None
        stored += resource_store.list_kind(store, kind, ns)
    problems = checks.check(batch, stored)
    if problems:
        raise model.combined(problems)
    done = [f"{r.kind.lower()}/{r.name} {how}" for r, how in resource_store.apply(store, batch)]
    result = appset_engine.reconcile(store, settings, PROJECT, "argocd")
    if result.error:
        raise CIError(f"ApplicationSet {PROJECT}: {result.error}", subject="demo")
    return done


@dataclass
class StageView:
    """One stage's timeline while it took (or refused) the followed Freight."""

    name: str
    since: str = ""  # the Freight's creation: what the stage did before is not shown
    lines: list[str] = field(default_factory=list)
    outcome: str = ""
    result: str = ""  # verified | rolled-back | refused | failed | waiting | inconclusive
    holds: str = ""  # the Freight the stage holds at the end
    holds_alias: str = ""
    seen: set[str] = field(default_factory=set)

    def add(self, key: str, at: str, text: str) -> None:
        at = at or records.iso()
        if key not in self.seen and at >= self.since:  # RFC 3339 UTC strings sort by time
            self.seen.add(key)
            self.lines.append(f"{at}  {text}")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "result": self.result, "outcome": self.outcome,
                "holds": self.holds, "holdsAlias": self.holds_alias,
                "timeline": self.lines}  # fmt: skip


@dataclass
class Flow:
    """The Freight of one release and what each stage did with it."""

    freight: dict[str, Any]
    stages: list[StageView]
    journey: list[dict[str, Any]]
    prod_command: str

    def to_dict(self) -> dict[str, Any]:
        return {"freight": self.freight, "stages": [s.to_dict() for s in self.stages],
                "journey": self.journey, "promoteProd": self.prod_command}  # fmt: skip


def _find_freight(store: Store, rel: Release) -> dict[str, Any]:
    """The release's Freight link (the controller's), else the Freight holding its image."""
    fresh = releases.get(store, rel.id)
    if fresh.freight:
        return fresh.freight
    for res in resource_store.list_kind(store, "Freight", PROJECT):
        if fresh.image and fresh.image in freight_images(res.body):
            return freight_link(res)
    return {}


def _alias(store: Store, name: str) -> str:
    res = resource_store.find(store, "Freight", name, PROJECT)
    return str(res.body.get("alias") or name[:12]) if res else name[:12]


def _observe(store: Store, view: StageView, status: dict[str, Any]) -> None:
    """Add what the Stage's status shows now to its timeline."""
    history = status.get("freightHistory") or []
    if history:
        current = history[0]
        held = str(((current.get("items") or {}).get(ORIGIN) or {}).get("name", ""))
        view.holds, view.holds_alias = held, _alias(store, held) if held else ""
        last = status.get("lastPromotion") or {}
        if held and last.get("name") == current.get("id"):
            promo = resource_store.find(store, "Promotion", str(last["name"]), PROJECT)
            notes = promo.annotations if promo else {}
            how = (f"rollback from {_alias(store, notes[start_mod.ROLLBACK_OF])}"
                   if start_mod.ROLLBACK_OF in notes
                   else "auto-promotion" if notes.get(start_mod.AUTO) else
                   f"by {notes.get(start_mod.ACTOR, 'a person')}")  # fmt: skip
            phase = (last.get("status") or {}).get("phase", "Succeeded")
            view.add(
                f"promo/{last['name']}",
                str(last.get("finishedAt") or ""),
                f"promoted   {_alias(store, held)} ({how}): {phase}, {last['name']}",
            )
        for v in reversed(current.get("verificationHistory") or []):
            phase = str(v.get("phase", ""))
            if phase in ("Pending", "Running"):
                continue
            msg = f": {v['message']}" if v.get("message") else ""
            view.add(
                f"verify/{v.get('id')}/{phase}",
                str(v.get("finishTime") or ""),
                f"verified   {_alias(store, held)}: {phase}{msg} (AnalysisRun {v.get('id')})",
            )
    for origin, hold in (status.get("autoPromotionHolds") or {}).items():
        view.add(
            f"hold/{origin}/{hold.get('freightName')}/{hold.get('reason')}",
            str(hold.get("createdAt") or ""),
            f"held       {_alias(store, str(hold.get('freightName', '')))}: "
            f"{hold.get('reason', '')} (auto-promotion takes only newer Freight)",
        )


def _settled(entries: list[dict[str, Any]], stage: str, rollback: bool) -> str:
    """What became of the Freight in ``stage``, from its journey ("" while under way)."""
    mine = [e for e in entries if e.get("stage") == stage]
    if any(e.get("kind") == "rollback" and e.get("phase") in _ROLLED for e in mine):
        return "rolled-back"
    if any(e.get("kind") == "rollback" and e.get("phase") == "Started" for e in mine):
        return ""
    for e in reversed(mine):
        phase = e.get("phase")
        if e.get("kind") == "verification":
            if phase == "Successful":
                return "verified"
            if phase == "Inconclusive":
                return "inconclusive"
            if phase in ("Failed", "Error"):
                return "" if rollback else "failed"
        if e.get("kind") == "promotion" and phase in ("Failed", "Errored") \
                and not e.get("rollbackOf"):  # fmt: skip
            return "failed"
    return ""


def _outcome(view: StageView, result: str, alias: str, why: str, project_cmd: str) -> None:
    view.result = result
    view.outcome = {
        "verified": f"Freight {alias} verified",
        "rolled-back": f"Freight {alias} failed verification: rolled back",
        "inconclusive": f"Freight {alias}: verification inconclusive, waiting for a person",
        "failed": f"Freight {alias} failed here",
        "refused": f"refuses Freight {alias}: {why}",
        "waiting": f"waits for a person: {project_cmd}",
    }[result]


def _wait_freight(store: Store, rel: Release, deadline: float, timeout: float) -> dict[str, Any]:
    while True:
        link = _find_freight(store, rel)
        if link:
            return link
        if time.monotonic() > deadline:
            raise CIError(f"no Freight of image {rel.image} within {timeout:.0f}s",
                          subject=f"Warehouse/{PROJECT}/{PROJECT}")  # fmt: skip
        time.sleep(0.2)


_UPSTREAM = {"test": "", "uat": "test", "prod": "uat"}


@dataclass
class _Watch:
    """What one pass over the stages needs: the Freight, its journey, the project's policies."""

    store: Store
    freight: model.Resource
    alias: str
    config: kargo_project.ProjectConfigSpec
    command: str
    views: dict[str, StageView]

    def judge(self, view: StageView, entries: list[dict[str, Any]]) -> str:
        """Observe one stage; what became of the Freight there ("" while under way)."""
        stage = resource_store.get(self.store, "Stage", view.name, PROJECT)
        _observe(self.store, view, stage.status or {})
        policy = self.config.policy_for(view.name, start_mod.labels(stage))
        done = _settled(entries, view.name, bool(policy and policy.auto_rollback))
        up = self.views.get(_UPSTREAM[view.name] or "")
        why = start_mod.gate(self.store, PROJECT, stage, self.freight, records.now()) or ""
        if not done and up is not None and up.result:
            if up.result != "verified":
                done = "refused"  # never verified upstream: never available here
            elif not (policy and policy.auto_promotion_enabled) and not why:
                done = "waiting"  # available (soaked) and nobody promotes it but a person
        if done:
            _outcome(view, done, self.alias, why, self.command)
        return done


def follow(store: Store, rel: Release, say: Callable[[str], None], timeout: float) -> Flow:
    """Watch test, uat and prod take up (or refuse) the Freight of ``rel``'s image."""
    deadline = time.monotonic() + timeout
    link = _wait_freight(store, rel, deadline, timeout)
    name, alias = str(link["name"]), str(link.get("alias") or "")
    say(f"  Freight {alias} ({name[:12]}) of {rel.image}")
    made = resource_store.get(store, "Freight", name, PROJECT).created
    since = records.iso(made) if made else ""
    views = {s: StageView(s, since) for s in stages.STAGES}
    command = f"shipway promote --project {PROJECT} --freight {alias} --stage prod --wait"
    config = start_mod.project_config(store, PROJECT)
    while True:
        entries = records.journey(store, PROJECT, name)
        freight = resource_store.get(store, "Freight", name, PROJECT)
        watch = _Watch(store, freight, alias, config, command, views)
        for s, view in views.items():
            if not view.result and watch.judge(view, entries):
                say(f"  {s:<5} {view.outcome}")
        if all(v.result for v in views.values()):
            break
        if time.monotonic() > deadline:
            stuck = next(s for s, v in views.items() if not v.result)
            raise CIError(f"stage {stuck} did not settle on Freight {alias} within "
                          f"{timeout:.0f}s", subject=f"Stage/{PROJECT}/{stuck}")  # fmt: skip
        time.sleep(0.2)
    for view in views.values():  # the last changes (a rollback's promotion) and what is held
        _observe(store, view, resource_store.get(store, "Stage", view.name, PROJECT).status or {})
    waiting = views["prod"].result == "waiting"
    return Flow(link, list(views.values()), records.journey(store, PROJECT, name),
                command if waiting else "")  # fmt: skip


def timeline(flow: Flow) -> str:
    """Each stage's timeline and outcome, for people."""
    f = flow.freight
    lines = [f"freight {f.get('alias')} ({f.get('name')}) of project {f.get('project')}"]
    for view in flow.stages:
        held = f"holds {view.holds_alias}" if view.holds else "holds nothing"
        lines.append(f"  stage {view.name} ({held}): {view.outcome}")
        lines += [f"    {line}" for line in view.lines]
    if flow.prod_command:
        lines.append(f"  promote it to prod:  {flow.prod_command}")
    return "\n".join(lines)
