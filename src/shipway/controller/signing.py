"""Sign the images shipway's CI built, with the controller's key, and attach provenance.

When a registry notification names a pushed tag, the controller (not the CI
step, which never sees the key) resolves the tag at the registry, reads the
image's ``org.opencontainers.image.revision`` label, and looks for the shipway
CI run of that commit. If there is one, it signs the digest (cosign's simple
signing) and attaches two signed in-toto Statements: SLSA v1 provenance built
from the run (workflow file, ref, commit, event, inputs and run id) and the
image's CycloneDX SBOM (predicate type ``https://cyclonedx.org/bom``, what
``cosign attest --type cyclonedx`` writes; the SBOM the build kept, or one made
now from the pushed layers). Images no shipway CI run built are left unsigned
(a policy can refuse them). An SBOM that cannot be made does not stop the
signature or the provenance: it is a ``SigningFailed`` Warning of its own.
Without a signing key, every image a shipway CI run built still gets its SBOM:
unsigned, in cosign's ``attach sbom`` layout (``sha256-<hex>.sbom``), its digest on
the release record (``security.sbom``). Each outcome is an event on the image.
Touches the registry, the image store (SBOMs), the store's CI run states and events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from shipway.controller.tracker import ReleaseTracker
from shipway.images.registry import RegistryClient
from shipway.model import events as ev
from shipway.model.errors import ShipwayError
from shipway.security.sbom import Sbom, cyclonedx, sbom_for
from shipway.security.sign import envelope, keys, service, storage
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import runs
from shipway.store.db import Store
from shipway.updater.resolve import REVISION_LABEL
from shipway.updater.webhooks import PushEvent

CYCLONEDX_MEDIA_TYPE = "application/vnd.cyclonedx+json"
log = logging.getLogger("shipway.controller.signing")


def _run_of(store: Store, commit: str) -> tuple[str, dict[str, Any], float] | None:
    """The newest shipway CI run of ``commit``: its id, stored resume facts and start time."""
    found = [
        (key, dict(state.get("resume") or {}), ev.epoch_of(state.get("started")) or 0.0)
        for key, _, state in runs.states(store, "ci")
        if (state.get("resume") or {}).get("commit") == commit
    ]
    if not found:
        return None
    return max(found, key=lambda f: f[2])


def _tagged(pushes: list[PushEvent]) -> Iterator[tuple[PushEvent, str]]:
    """The pushes of a tag at a known registry, each with its ``host/repository:tag``."""
    for push in pushes:
        if push.tag and push.host:
            yield push, f"{push.host}/{push.repository}:{push.tag}"


def _built_by_ci(client: RegistryClient, store: Store, push: PushEvent, ref: str) -> Built | None:
    """The pushed image, the commit its revision label names and the shipway CI run that
    built it; None (logged) for an image no shipway CI run built."""
    target = service.resolve(client, ref)
    labels = client.get_config(push.repository, target.digest).get("config") or {}
    commit = str((labels.get("Labels") or {}).get(REVISION_LABEL) or "")
    run = _run_of(store, commit) if commit else None
    if run is None:
        log.info("%s: no shipway CI run built it; left as it is", ref)
        return None
    return target, commit, run


Built = tuple[service.Target, str, tuple[str, dict[str, Any], float]]
"""An image a shipway CI run built: its target, commit and run (``_built_by_ci``)."""
T = TypeVar("T")


def _each_built(
    settings: Settings,
    store: Store,
    pushes: list[PushEvent],
    failed: tuple[str, str],
    work: Callable[[RegistryClient, PushEvent, Built], T],
) -> Iterator[tuple[PushEvent, Built, T]]:
    """``work`` on each pushed tag a shipway CI run built, the registry open; yields what it
    made. A ``ShipwayError`` skips that push: logged (``failed``: the log line's format) and
    a Warning event of ``failed``'s reason on the reference."""
    message, reason = failed
    for push, ref in _tagged(pushes):
        try:
            with RegistryClient(push.host, timeout=settings.net_timeout) as client:
                built = _built_by_ci(client, store, push, ref)
                if built is None:
                    continue
                made = work(client, push, built)
        except ShipwayError as exc:
            log.error(message, ref, exc)
            _event(store, ref, ev.WARNING, reason, str(exc))
            continue
        yield push, built, made


def source_url(resume: dict[str, Any]) -> str:
    """The source repository as a policy names it: the URL the controller cloned (the push
    payload's ``repository.clone_url``, the Pipeline's ``repoURL``), else ``gitURL`` plus
    owner/name, else the run's repository if it is a URL (never a local checkout path)."""
    payload = resume.get("payload") or {}
    clone = str((payload.get("repository") or {}).get("clone_url") or "")
    if clone:
        return clone
    name = str(resume.get("repository") or "")
    git_url = str(resume.get("git_url") or "")
    if git_url and name and "://" not in name:
        return f"{git_url.rstrip('/')}/{name}"
    repo = str(resume.get("repo") or "")
    return repo if "://" in repo else name


def facts_for(
    run_id: str, resume: dict[str, Any], started: float | None = None
) -> envelope.BuildFacts:
    url = source_url(resume)
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


def sign_pushed(
    settings: Settings,
    store: Store,
    pushes: list[PushEvent],
    tracker: ReleaseTracker | None = None,
) -> list[str]:
    """Sign every pushed tag a shipway CI run built; returns the pinned references signed.

    With ``tracker``, what was attached (and the SBOM's digest) goes on the commit's release
    records (``security.signing``)."""
    if not settings.signing_key:
        return []  # the unsigned SBOM (``sbom_pushed``) waits until after the update
    try:
        signer = keys.load_signer(settings.signing_key)
    except ShipwayError as exc:
        log.error("cannot sign images: %s", exc)
        _event(store, "signing-key", ev.WARNING, ev.SIGNING_FAILED, str(exc))
        return []
    signed: list[str] = []

    def sign(client: RegistryClient, _push: PushEvent, built: Built) -> dict[str, Any] | None:
        target, _, (run_id, resume, started) = built
        service.sign(client, target, signer, {"ci-run": run_id})
        service.attest(
            client,
            target,
            signer,
            envelope.SLSA_PROVENANCE_V1,
            envelope.slsa_provenance(facts_for(run_id, resume, started)),
        )
        return attest_sbom(client, target, signer, store)

    failed = ("signing %s failed: %s", ev.SIGNING_FAILED)
    for _, (target, commit, (run_id, _, _)), bom in _each_built(settings, store, pushes,
                                                                failed, sign):  # fmt: skip
        what = "provenance and SBOM" if bom else "provenance"
        _event(store, target.pinned, ev.NORMAL, ev.IMAGE_SIGNED,
               f"signed with {what} of CI run {run_id}")  # fmt: skip
        if tracker is not None:
            attested = [
                envelope.SLSA_PROVENANCE_V1,
                *([envelope.CYCLONEDX_PREDICATE] if bom else []),
            ]
            tracker.image_signed(commit, {"image": target.pinned, "ciRun": run_id,
                                          "keyId": signer.keyid, "attestations": attested,
                                          **(bom or {})})  # fmt: skip
        signed.append(target.pinned)
    return signed


def sbom_pushed(
    settings: Settings,
    store: Store,
    pushes: list[PushEvent],
    tracker: ReleaseTracker | None = None,
) -> list[str]:
    """Without a signing key: attach an unsigned CycloneDX SBOM (cosign's ``attach sbom``
    layout, ``sha256-<hex>.sbom``) to every pushed tag a shipway CI run built, and put its
    digest on the commit's release records (``security.sbom``); returns the references."""
    attached: list[str] = []

    def attach(client: RegistryClient, push: PushEvent, built: Built) -> tuple[Sbom, str, str]:
        target = built[0]
        sbom = sbom_for(target.pinned)
        text = cyclonedx.render(sbom)
        tag = storage.store(client, push.repository, target.digest, kind="sbom",
                            data=text.encode(), media_type=CYCLONEDX_MEDIA_TYPE,
                            annotations={})  # fmt: skip
        return sbom, text, tag

    failed = ("SBOM of %s failed: %s", ev.SBOM_FAILED)
    for push, (target, commit, _), (sbom, text, tag) in _each_built(settings, store, pushes,
                                                                     failed, attach):  # fmt: skip
        digest = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
        count = len(sbom.packages)
        _event(store, target.pinned, ev.NORMAL, ev.SBOM_ATTACHED,
               f"SBOM attached ({count} components, unsigned: no signing key)")  # fmt: skip
        if tracker is not None:
            where = f"{push.host}/{push.repository}:{tag}"
            tracker.image_sbom(commit, {"image": target.pinned, "sbomDigest": digest,
                                        "sbomComponents": count, "where": where})  # fmt: skip
        attached.append(target.pinned)
    return attached


def attest_sbom(
    client: RegistryClient, target: service.Target, signer: keys.Signer, store: Store
) -> dict[str, Any] | None:
    """Attach the image's CycloneDX SBOM as a signed Statement; its ``sbomDigest`` (of the
    CycloneDX document attested) and ``sbomComponents``, or None (and an event) if the
    SBOM cannot be made. A registry failure while storing it is raised as any other."""
    try:
        sbom = sbom_for(target.pinned)
        text = cyclonedx.render(sbom)
    except ShipwayError as exc:
        log.error("SBOM of %s: %s", target.pinned, exc)
        _event(store, target.pinned, ev.WARNING, ev.SIGNING_FAILED,
               f"signed, but no SBOM attestation: {exc}")  # fmt: skip
        return None
    service.attest(client, target, signer, envelope.CYCLONEDX_PREDICATE, json.loads(text))
    digest = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return {"sbomDigest": digest, "sbomComponents": len(sbom.packages)}


def _event(store: Store, image: str, type_: str, reason: str, message: str) -> None:
    store_events.emit(store, ev.ObjectRef("Image", image), reason, message, type=type_,
                      source="controller")  # fmt: skip
