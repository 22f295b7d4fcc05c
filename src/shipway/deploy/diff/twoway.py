"""The comparison before the three-way work, kept as the benchmark's baseline. Pure.

``bench/deploy.py --baseline`` switches the reconciler to it
(``shipway.deploy.diff.set_three_way(False)``) to measure what the three-way
comparison costs against the path it replaced: a deep copy of each side
without server-owned fields, the live object projected onto the fields the
desired object sets, and an equality test (a unified diff when they differ).
It misses removals and equivalent forms, which is why the reconciler never
uses it otherwise.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Mapping
from typing import Any

from shipway.deploy.diff.normalize import LAST_APPLIED, SERVER_META


def strip(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy without server-owned fields (the old ``normalize``)."""
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for k in SERVER_META:
            meta.pop(k, None)
        ann = meta.get("annotations")
        if isinstance(ann, dict):
            ann.pop(LAST_APPLIED, None)
            if not ann:
                meta.pop("annotations")
    return out


def project(live: Any, desired: Any) -> Any:
    """``live`` restricted to the shape of ``desired`` (server defaults dropped)."""
    if isinstance(live, dict) and isinstance(desired, dict):
        return {k: project(live[k], desired[k]) for k in desired if k in live}
    if isinstance(live, list) and isinstance(desired, list) and len(live) == len(desired):
        return [project(lv, dv) for lv, dv in zip(live, desired, strict=True)]
    if isinstance(desired, str) and isinstance(live, int | float) and str(live) == desired:
        return desired
    return live


def compare(
    desired: dict[str, Any] | None,
    live: dict[str, Any] | None,
    ignore: Callable[[dict[str, Any]], dict[str, Any]],
    dump: Callable[[Any], str],
) -> tuple[bool, str, dict[str, Any] | None]:
    """(in sync, unified diff, the live side as compared); ``ignore`` drops ignored fields."""
    some = desired if desired is not None else live
    assert some is not None
    d = ignore(strip(desired)) if desired is not None else None
    n_live = ignore(strip(live)) if live is not None else None
    if d is not None and n_live is not None:
        n_live = project(n_live, d)
    if d == n_live:
        return True, "", n_live
    a = dump(n_live).splitlines(keepends=True) if n_live is not None else []
    b = dump(d).splitlines(keepends=True) if d is not None else []
    return False, "".join(difflib.unified_diff(a, b, "live", "desired")), n_live
