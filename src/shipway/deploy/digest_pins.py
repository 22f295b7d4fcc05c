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
verifies and applies. A registry that cannot be reached (or a tag gone from
it) keeps the recorded digest, so the app does not flap, and ``current`` says
why for each such image (the comparison shows an ``ImageDigestWarning``
condition; the next pass asks again). Only images with a record are resolved:
no registry call otherwise. The lookups go through ``shipway.deploy.digest_lookup``
(one per tag per pass, answers kept for a short TTL).

Touches the registry (``current``, through the lookups it is given); the rest is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shipway.deploy import digest_lookup
from shipway.model.errors import ShipwayError
from shipway.security.policy import imagegate, workloads

RECORD = "imageDigests"
"""The Application status key: ``{image as written in git: digest deployed}``."""


def recorded(status: Mapping[str, Any]) -> dict[str, str]:
    raw = status.get(RECORD) or {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def images_of(objects: Iterable[dict[str, Any]]) -> set[str]:
    return {i for o in objects for i in workloads.images(o)}


@dataclass
class Current:
    """The pins a comparison uses, and why some kept their recorded digest."""

    pins: dict[str, str] = field(default_factory=dict)  # image as written -> as compared
    kept: dict[str, str] = field(default_factory=dict)  # image -> why the record was kept


def current(
    record: Mapping[str, str],
    images: Iterable[str],
    resolve: Callable[[str], str | None] | None = None,
) -> Current:
    """Pins for the recorded images still rendered: each tag's digest at the registry now.

    ``resolve`` (default: one ``digest_lookup.Lookups`` for this call) gives a tag's
    digest, None when the tag is gone, or raises when the registry cannot answer;
    either way the recorded digest is kept and the reason is in ``kept``.
    """
    if resolve is None:
        with digest_lookup.Lookups() as lookups:
            return current(record, images, lookups.digest)
    out = Current()
    for image in sorted(set(images)):
        digest = record.get(image)
        if not digest:
            continue
        try:
            found = resolve(image)
        except ShipwayError as exc:  # unreachable: keep what was deployed
            out.kept[image] = exc.message
            found = None
        else:
            if found is None:
                out.kept[image] = "the tag is not in the registry"
        out.pins[image] = workloads.digest_form(image, found or digest)
    return out


def unchanged(
    pins: Mapping[str, str], warned: Iterable[str], resolve: Callable[[str], str | None]
) -> bool:
    """Whether comparing again would pin ``pins`` again and warn ``warned`` again.

    What lets an unchanged application keep its last comparison (``bulk``): each tag
    resolves to the digest it was compared with, and the images whose recorded digest
    was kept (a registry down) are still those, for the same reason. A tag that moved,
    went, failed or came back means comparing again.
    """
    record = record_of(pins)  # a kept image was compared with its recorded digest
    now = current(record, pins, resolve)
    return now.pins == dict(pins) and sorted(warnings(now, record)) == sorted(warned)


def warnings(current: Current, record: Mapping[str, str]) -> list[str]:
    """One message per image whose recorded digest was kept, for the comparison's condition."""
    return [
        f"mutateDigest: cannot resolve {image} at its registry ({why}); comparing with the "
        f"digest deployed, {record[image]}, until it answers"
        for image, why in sorted(current.kept.items())
    ]


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
