"""A Promotion made from a Stage's ``promotionTemplate``, named as Kargo names it. Pure: no I/O.

``promotion_name``: ``<stage>.<ulid>.<first 7 characters of the Freight>``
(the ULID lower-case, as Kargo writes it). ``find_freight``: a Freight of the
project by name or alias. ``promotion_document``: the Promotion (spec
``stage``, ``freight``, ``vars``, ``steps``) from the Stage's template, the
Stage's own ``vars`` first, as Kargo merges them. ``collection``: the Freight
the stage holds now (its newest ``freightHistory`` entry).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

API_VERSION = "kargo.akuity.io/v1alpha1"
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def ulid(ms: int | None = None, rand: bytes | None = None) -> str:
    """A ULID (48-bit milliseconds, 80 random bits) in lower-case Crockford base32."""
    ms = int(time.time() * 1000) if ms is None else ms
    value = (ms << 80) | int.from_bytes(rand if rand is not None else os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def promotion_name(stage: str, freight: str, *, ms: int | None = None) -> str:
    return f"{stage}.{ulid(ms)}.{freight[:7]}"


def find_freight(freights: Iterable[Any], wanted: str) -> Any | None:
    """The Freight (a stored resource) called ``wanted`` or aliased so."""
    pool = list(freights)
    for f in pool:
        if f.name == wanted:
            return f
    for f in pool:
        if f.body.get("alias") == wanted:
            return f
    return None


def template(stage_body: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Stage's promotion ``(steps, vars)`` (``ValueError`` when it has no steps)."""
    spec = stage_body.get("spec") or {}
    tmpl = ((spec.get("promotionTemplate") or {}).get("spec")) or {}
    steps = list(tmpl.get("steps") or [])
    if not steps:
        raise ValueError("the Stage has no promotionTemplate.spec.steps")
    return steps, [*(spec.get("vars") or []), *(tmpl.get("vars") or [])]


def promotion_document(
    name: str, project: str, stage: str, freight: str,
    steps: list[dict[str, Any]], vars: list[dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    spec: dict[str, Any] = {"stage": stage, "freight": freight, "steps": steps}
    if vars:
        spec["vars"] = vars
    return {
        "apiVersion": API_VERSION,
        "kind": "Promotion",
        "metadata": {"name": name, "namespace": project},
        "spec": spec,
    }


def collection(stage_status: dict[str, Any]) -> list[dict[str, Any]]:
    history = stage_status.get("freightHistory") or []
    if not history:
        return []
    return [dict(v) for v in (history[0].get("items") or {}).values()]


def freight_data(res: Any) -> dict[str, Any]:
    """A stored Freight as the runner takes it (its name, origin, images, commits)."""
    return {**res.body, "name": res.name}
