"""Sign the images shipway's CI built, with the controller's key, and attach provenance.

When a registry notification names a pushed tag, the controller (not the CI
step, which never sees the key) resolves the tag at the registry, reads the
image's ``org.opencontainers.image.revision`` label, and looks for the shipway
CI run of that commit. If there is one, it signs the digest (cosign's simple
signing) and attaches a signed SLSA v1 provenance Statement built from the
run: workflow file, ref, commit, event, inputs and run id. Images no shipway CI
run built are left unsigned (a policy can refuse them). Each outcome is an
event on the image. Touches the registry, the store's CI run states and events.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from shipway.images.registry import RegistryClient
from shipway.model import events as ev
from shipway.model.errors import ShipwayError
from shipway.security.sign import envelope, keys, service
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import runs
from shipway.store.db import Store
from shipway.updater.resolve import REVISION_LABEL
from shipway.updater.webhooks import PushEvent

log = logging.getLogger("shipway.controller.signing")


def _run_of(store: Store, commit: str) -> tuple[str, dict[str, Any], float] | None:
    """The newest shipway CI run of ``commit``: its id, stored resume facts and start time."""
    found = [
        (key, dict(state.get("resume") or {}), state.get("started") or 0)
        for key, _, state in runs.states(store, "ci")
        if (state.get("resume") or {}).get("commit") == commit
    ]
    if not found:
        return None
    key, resume, started = max(found, key=lambda f: float(f[2] or 0))
    return key, resume, float(started or 0)


def facts_for(
    run_id: str, resume: dict[str, Any], started: float | None = None
) -> envelope.BuildFacts:
    repo = str(resume.get("repository") or resume.get("repo") or "")
    git_url = str(resume.get("git_url") or "")
    url = f"{git_url.rstrip('/')}/{repo}" if git_url and repo and "://" not in repo else repo
    server = str(resume.get("server_url") or "")
    return envelope.BuildFacts(
        repository=url,
        ref=str(resume.get("ref") or ""),
        commit=str(resume.get("commit") or ""),
        workflow_path=str(resume.get("workflow_file") or ""),
        event=str(resume.get("event") or ""),
        run_id=run_id,
        run_url=f"{server.rstrip('/')}/api/ci/runs/{run_id}" if server else "",
        inputs=dict((resume.get("payload") or {}).get("inputs") or {}) or None,
        started_on=ev.rfc3339(dt.datetime.fromtimestamp(started, dt.UTC)) or "" if started else "",
    )


def sign_pushed(settings: Settings, store: Store, pushes: list[PushEvent]) -> list[str]:
    """Sign every pushed tag a shipway CI run built; returns the pinned references signed."""
    if not settings.signing_key:
        return []
    try:
        signer = keys.load_signer(settings.signing_key)
    except ShipwayError as exc:
        log.error("cannot sign images: %s", exc)
        _event(store, "signing-key", ev.WARNING, ev.SIGNING_FAILED, str(exc))
        return []
    signed: list[str] = []
    for push in pushes:
        if not push.tag or not push.host:
            continue
        ref = f"{push.host}/{push.repository}:{push.tag}"
        try:
            with RegistryClient(push.host, timeout=settings.net_timeout) as client:
                target = service.resolve(client, ref)
                labels = client.get_config(push.repository, target.digest).get("config") or {}
                commit = str((labels.get("Labels") or {}).get(REVISION_LABEL) or "")
                run = _run_of(store, commit) if commit else None
                if run is None:
                    log.info("%s: no shipway CI run built it; not signed", ref)
                    continue
                run_id, resume, started = run
                service.sign(client, target, signer, {"ci-run": run_id})
                service.attest(
                    client,
                    target,
                    signer,
                    envelope.SLSA_PROVENANCE_V1,
                    envelope.slsa_provenance(facts_for(run_id, resume, started)),
                )
        except ShipwayError as exc:
            log.error("signing %s failed: %s", ref, exc)
            _event(store, ref, ev.WARNING, ev.SIGNING_FAILED, str(exc))
            continue
        _event(store, target.pinned, ev.NORMAL, ev.IMAGE_SIGNED,
               f"signed with provenance of CI run {run_id}")  # fmt: skip
        signed.append(target.pinned)
    return signed


def _event(store: Store, image: str, type_: str, reason: str, message: str) -> None:
    store_events.emit(store, ev.ObjectRef("Image", image), reason, message, type=type_,
                      source="controller")  # fmt: skip
