"""Kyverno ``mutateDigest`` on the objects a sync applies, and recognising it when comparing.

Kyverno's admission rewrites ``repo:tag`` to ``registry/repo:tag@sha256:…`` in every
Pod (and, through its auto-generated rules, Pod controller templates) a
``verifyImages`` entry with ``mutateDigest`` (the default) matches. shipway is its own
admission: the sync gate (``shipway.deploy.policy_gate``) resolves each matching
image, ``from_gate`` turns its checks into pins (image as written → as deployed),
``apply`` rewrites the objects the sync applies, and the Application's status
keeps ``imageDigests`` (image as written → digest deployed).

The comparison (``shipway.deploy.compare``) then renders git, resolves each
recorded image's tag at the registry again (``current``) and puts that form in
the desired objects: live ``X@D`` equals desired ``X`` while the tag still points
at ``D`` (no OutOfSync forever, as Argo CD shows behind a Kyverno admission), and
a tag that moved shows OutOfSync with the new digest, which the next sync
verifies and applies. A registry that cannot be reached keeps the recorded
digest. Only images with a record are resolved: no registry call otherwise.

Touches the registry (``current``); the rest is pure.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from shipway.images import reference
from shipway.images.registry import RegistryClient
from shipway.model.errors import ShipwayError
from shipway.security.policy import imagegate, workloads

RECORD = "imageDigests"
"""The Application status key: ``{image as written in git: digest deployed}``."""


def recorded(status: Mapping[str, Any]) -> dict[str, str]:
    raw = status.get(RECORD) or {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def images_of(objects: Iterable[dict[str, Any]]) -> set[str]:
    return {i for o in objects for i in workloads.images(o)}


def _resolve(image: str) -> str | None:
    ref = reference.parse(image)
    with RegistryClient(ref.registry) as client:
        return client.head_manifest(ref.repository, ref.reference)


def current(
    record: Mapping[str, str],
    images: Iterable[str],
    resolve: Callable[[str], str | None] | None = None,
) -> dict[str, str]:
    """Pins for the recorded images still rendered: each tag's digest at the registry now."""
    look = resolve or _resolve
    out: dict[str, str] = {}
    for image in sorted(set(images)):
        digest = record.get(image)
        if not digest:
            continue
        with contextlib.suppress(ShipwayError):  # unreachable: keep what was deployed
            digest = look(image) or digest
        out[image] = workloads.digest_form(image, digest)
    return out


def from_gate(checks: Iterable[imagegate.ImageCheck]) -> dict[str, str]:
    """Pins from the gate's checks: each image a ``mutateDigest`` entry rewrote."""
    return {c.image: c.deployed for c in checks if c.deployed}


def record_of(pins: Mapping[str, str]) -> dict[str, str]:
    """The status record for ``pins``: image as written → digest."""
    return {image: deployed.rpartition("@")[2] for image, deployed in sorted(pins.items())}


def apply(objects: Iterable[dict[str, Any]], pins: Mapping[str, str]) -> list[dict[str, Any]]:
    """The objects with their images pinned (unchanged objects are not copied)."""
    return [workloads.pin_images(o, pins) for o in objects]


def repin(
    desired: dict[str, Any], written: dict[str, Any], pins: Mapping[str, str]
) -> dict[str, Any]:
    """``desired`` (a compared object, maybe pinned before) running ``written``'s images pinned."""
    return workloads.with_images(desired, workloads.images(apply([written], pins)[0]))
