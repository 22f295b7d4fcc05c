"""Kyverno ``verifyImages`` before a sync or a promotion: images' signatures and attestations.

For every rendered workload object a policy rule matches, each container image
matching ``imageReferences`` (and no ``skipImageReferences``) is resolved to its
digest at the registry and checked: every ``attestors[]`` set needs ``count``
(default: all) of its entries' public keys to verify a signature; every
``attestations[]`` needs a signed Statement of its type whose predicate meets
the ``conditions``. A failure under ``Enforce`` refuses the deploy with the
rule's words; under ``Audit`` it is only reported. ``mutateDigest`` (true by
default) is honoured as Kyverno does for an ``Enforce`` entry: an image written
without a digest that the entry resolved gets ``deployed`` =
``registry/repo:tag@sha256:…`` (``workloads.digest_form``); an image written with a
digest is left as it is. The sync applies that form (``shipway.deploy.digest_pins``).
An ``Audit`` entry never rewrites: Kyverno refuses new ``Audit`` policies with
``mutateDigest`` true (``kyverno.admission_problems``, at apply) and ignores it in
policies stored before.
Then, as Kyverno's validation webhook does after its mutation: ``verifyDigest``
(true by default) fails an image still without a digest (``missing digest for
IMAGE``: a tag with ``mutateDigest: false``), and ``required`` (true by default)
fails an image nothing verified (``unverified image IMAGE``: an entry with
neither attestors nor attestations). ``required: false`` only skips that check: a
signature that does not verify fails the entry whatever ``required`` says, as in
Kyverno's mutating webhook.
``check_images`` checks images no manifest holds yet (a Freight's, before a
promotion) by ``imageReferences`` alone.

Passing results are cached by digest and rule content (``VerifyCache``: in memory and in
``$SHIPWAY_HOME/cache/image-verify.sqlite``, one hour, as Kyverno's cache).
Touches the registry and that cache file.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from shipway.images import reference
from shipway.images.registry import RegistryClient
from shipway.model import kyverno
from shipway.model.errors import ShipwayError
from shipway.security.policy import conditions, workloads
from shipway.security.sign import keys, service

CACHE_TTL = 3600.0


@dataclass(frozen=True)
class ImageCheck:
    """One image checked against one verifyImages entry of one rule."""

    policy: str
    rule: str
    object: str  # Kind/namespace/name
    image: str
    digest: str
    action: str  # Enforce | Audit
    passed: bool
    message: str
    deployed: str = ""  # the image as mutateDigest rewrites it ("": deployed as written)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class VerifyCache:
    """Verification verdicts by (digest, rule content), in memory and in a sqlite file."""

    def __init__(self, path: Path | None, ttl: float = CACHE_TTL) -> None:
        self.ttl, self._lock = ttl, threading.Lock()
        self._mem: dict[str, tuple[float, bool, str]] = {}
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, timeout=5)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, at REAL, ok INTEGER,"
                " message TEXT)"
            )

    def get(self, key: str) -> tuple[bool, str] | None:
        now = time.time()
        with self._lock:
            hit = self._mem.get(key)
            if hit is None and self._db is not None:
                row = self._db.execute(
                    "SELECT at, ok, message FROM verdicts WHERE key = ?", (key,)
                ).fetchone()
                if row is not None:
                    hit = (float(row[0]), bool(row[1]), str(row[2]))
                    self._mem[key] = hit
        if hit is None or now - hit[0] > self.ttl:
            return None
        return hit[1], hit[2]

    def put(self, key: str, ok: bool, message: str) -> None:
        entry = (time.time(), ok, message)
        with self._lock:
            self._mem[key] = entry
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?)", (key, *entry)
                )
                self._db.commit()


ClientFactory = Callable[[str], RegistryClient]


def _default_client(host: str) -> RegistryClient:
    return RegistryClient(host)


@dataclass(frozen=True)
class Policy:
    """A stored ClusterPolicy or Policy: its name, namespace ('' for cluster) and spec."""

    name: str
    namespace: str
    spec: kyverno.KyvernoPolicySpec


def _verify_attestors(
    client: RegistryClient, target: service.Target, attestors: list[kyverno.Attestor], what: str
) -> str | None:
    for i, att in enumerate(attestors):
        good = total = 0
        reasons: list[str] = []
        for j, entry in enumerate(att.entries):
            assert entry.keys is not None
            found = _verifiers(entry.keys.public_keys, f"{what}.attestors[{i}]")
            for k, verifier in enumerate(found):
                total += 1
                name = f"entry {j}" + (f" key {k}" if len(found) > 1 else "")
                try:
                    checked = service.verify(client, target, verifier)
                except ShipwayError as exc:
                    reasons.append(f"{name}: {exc.message}")
                    continue
                if _annotated(checked, entry.annotations or {}):
                    good += 1
                else:  # cosign sign -a k=v: the signed payload's optional fields must match
                    reasons.append(f"{name}: no verified signature has the annotations "
                                   f"{entry.annotations}")  # fmt: skip
        need = att.count or total
        if good < need:
            return f"{good} of {need} required signatures verified ({'; '.join(reasons)})"
    return None


_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.S)


def _verifiers(public_keys: str, source: str) -> list[keys.Verifier]:
    """One verifier per PEM block: Kyverno takes several keys in one ``publicKeys`` as
    separate entries, ``count`` applying across them."""
    blocks = [m.group(0) for m in _PEM.finditer(public_keys)] or [public_keys]
    return [keys.verifier_from_pem(b, source) for b in blocks]


def _annotated(checked: list[service.Checked], wanted: dict[str, str]) -> bool:
    """Whether a verified signature's payload has ``optional`` ⊇ ``wanted`` (Kyverno's
    ``entries[].annotations``)."""
    for c in checked:
        optional = (c.payload or {}).get("optional") or {}
        if c.verified and all(str(optional.get(k)) == str(v) for k, v in wanted.items()):
            return True
    return False


def _verify_attestations(
    client: RegistryClient, target: service.Target, verify: kyverno.VerifyImages, what: str
) -> str | None:
    for att in verify.attestations:
        attestors = att.attestors or verify.attestors
        entries = [e for a in attestors for e in a.entries if e.keys is not None]
        found: list[service.Checked] = []
        for e in entries:
            assert e.keys is not None
            for verifier in _verifiers(e.keys.public_keys, what):
                found += [
                    c
                    for c in service.attestations(client, target, verifier, att.kind)
                    if c.verified
                ]
        if not found:
            return f"no verified attestation of type {att.kind}"
        problems = []
        for c in found:
            try:
                problem = conditions.failed(att.conditions, c.payload.get("predicate") or {})
            except conditions.ConditionError as exc:
                return f"attestation {att.kind}: {exc}"
            if problem is None:
                break
            problems.append(problem)
        else:
            return f"attestation {att.kind}: {problems[0]}"
    return None


def _verified(verify: kyverno.VerifyImages) -> str:
    """What a pass verified: ``verified: signature, attestation TYPE, ...``."""
    what = ["signature"] if verify.attestors else []
    what += [f"attestation {a.kind}" for a in verify.attestations]
    return f"verified: {', '.join(what)}" if what else "verified"


def _key(digest: str, verify: kyverno.VerifyImages) -> str:
    body = json.dumps(verify.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(f"{digest}\0{body}".encode()).hexdigest()


def check_image(
    image: str,
    verify: kyverno.VerifyImages,
    *,
    what: str,
    cache: VerifyCache | None,
    client_for: ClientFactory = _default_client,
) -> tuple[str, bool, str]:
    """``(digest, passed, message)`` for one image against one verifyImages entry."""
    ref = reference.parse(image)
    if ref.digest and verify.use_cache and cache is not None:  # pinned: no registry call
        hit = cache.get(_key(ref.digest, verify))
        if hit is not None:
            return ref.digest, hit[0], hit[1]
    try:
        with client_for(ref.registry) as client:
            target = service.resolve(client, image)
            key = _key(target.digest, verify)
            if verify.use_cache and cache is not None and (hit := cache.get(key)) is not None:
                return target.digest, hit[0], hit[1]
            problem = _verify_attestors(client, target, verify.attestors, what)
            problem = problem or _verify_attestations(client, target, verify, what)
    except ShipwayError as exc:
        return ref.digest or "", False, exc.message
    ok = problem is None
    message = _verified(verify) if ok else str(problem)
    if cache is not None and ok:  # only passes: a failure is checked again next time
        cache.put(key, ok, message)
    return target.digest, ok, message


_Target = tuple[Policy, kyverno.Rule, int, kyverno.VerifyImages, str, str, str | None]
"""``(policy, rule, index, verifyImages, object name, image, namespace or None)``."""


def _targets(
    policies: Iterable[Policy], objects: list[tuple[dict[str, Any], str]]
) -> Iterable[_Target]:
    """What to check: each matching image of each object, with its namespace."""
    for pol in policies:
        for rule in pol.spec.rules:
            for obj, ns in objects:
                if pol.namespace and ns != pol.namespace:
                    continue  # a namespaced Policy applies in its namespace only
                if not workloads.rule_matches(rule, obj, ns):
                    continue
                name = f"{obj.get('kind')}/{ns + '/' if ns else ''}{obj['metadata']['name']}"
                for i, verify in enumerate(rule.verify_images):
                    for image in workloads.images(obj):
                        if workloads.image_matches(
                            image, verify.image_references
                        ) and not workloads.image_matches(image, verify.skip_image_references):
                            yield pol, rule, i, verify, name, image, ns


def _checked(
    targets: Iterable[_Target],
    cache: VerifyCache | None,
    client_for: ClientFactory,
) -> list[ImageCheck]:
    out: list[ImageCheck] = []
    for pol, rule, i, verify, name, image, ns in targets:
        what = f"policy {pol.name}/{rule.name} verifyImages[{i}]"
        digest, ok, msg = check_image(image, verify, what=what, cache=cache, client_for=client_for)
        action = pol.spec.action_of(verify, ns)
        written = reference.parse(image).digest
        deployed = ""
        # mutateDigest is ignored in Audit policies (Kyverno judges by the policy's and
        # the entry's action, not the namespace overrides)
        pins = verify.mutate_digest and pol.spec.action_of(verify) == "Enforce"
        if pins and digest and not written:
            deployed = workloads.digest_form(image, digest)
        if ok:
            ok, msg = _validated(verify, image, bool(written or deployed), msg)
        out.append(ImageCheck(pol.name, rule.name, name, image, digest, action, ok, msg, deployed))
    return out


def _validated(
    verify: kyverno.VerifyImages, image: str, has_digest: bool, msg: str
) -> tuple[bool, str]:
    """Kyverno's validation of a mutated image: ``verifyDigest``, then ``required``."""
    if verify.verify_digest and not has_digest:
        return False, f"missing digest for {image}"
    if verify.required and not (verify.attestors or verify.attestations):
        return False, f"unverified image {image}"  # nothing verified it
    return True, msg


def check(
    policies: Iterable[Policy],
    objects: Iterable[tuple[dict[str, Any], str]],
    *,
    cache: VerifyCache | None = None,
    client_for: ClientFactory = _default_client,
) -> list[ImageCheck]:
    """Every (policy rule, object, image) that applies, checked. ``objects``: (obj, namespace)."""
    return _checked(_targets(policies, list(objects)), cache, client_for)


def check_images(
    policies: Iterable[Policy],
    images: Iterable[str],
    *,
    holder: str,
    namespace: str,
    cache: VerifyCache | None = None,
    client_for: ClientFactory = _default_client,
) -> list[ImageCheck]:
    """Images not yet in any manifest (a Freight's, before a promotion), checked.

    There is no object for a rule's ``match``/``exclude`` to select, so every rule with
    ``verifyImages`` applies by its ``imageReferences`` alone (ClusterPolicies, and
    Policies in ``namespace``); ``holder`` names what carries the images in the results.
    The sync that deploys them checks them again with ``match`` and ``exclude``.
    """
    wanted = sorted(set(images))

    def targets() -> Iterable[_Target]:
        for pol in policies:
            if pol.namespace and pol.namespace != namespace:
                continue
            for rule in pol.spec.rules:
                for i, verify in enumerate(rule.verify_images):
                    for image in wanted:
                        if workloads.image_matches(
                            image, verify.image_references
                        ) and not workloads.image_matches(image, verify.skip_image_references):
                            yield pol, rule, i, verify, holder, image, None

    return _checked(targets(), cache, client_for)


def refusal(checks: list[ImageCheck]) -> str | None:
    """The message that refuses a deploy (Enforce failures), or None."""
    bad = [c for c in checks if not c.passed and c.action == "Enforce"]
    if not bad:
        return None
    return "; ".join(
        f"policy {c.policy}/{c.rule}: image {c.image} in {c.object} failed verification: "
        f"{c.message}"
        for c in bad
    )
