"""The three-way comparison: live, desired and last applied give the predicted live. Pure.

As ``kubectl apply`` and Argo CD's default diff do, on objects in canonical
form (``normalize.canonical``): ``predict`` starts from the live object, sets
every field the desired object sets, and deletes every field the last
applied configuration set that the desired one no longer does (a label,
annotation, env var, port or ``type:`` removed from git). Fields only live
has and nobody applied (server defaults, a webhook's sidecar, another
controller's fields) are kept. The object is in sync when the prediction
equals live. Lists with a merge key are ``keys.Keyed`` maps, merged entry by
entry; their key fields are never deleted while the entry stays. Lists
without one are replaced, except that equal-length lists merge entry by
entry (so defaults inside their entries are not differences).
"""

from __future__ import annotations

from typing import Any

from shipway.deploy.diff.keys import Keyed


class _Missing:
    pass


MISSING: Any = _Missing()


def _same_scalar(live: Any, desired: Any) -> bool:
    """``1`` and ``"1"`` (and ``1.0``) are one value, as the API server's conversion makes them."""
    if isinstance(live, bool) or isinstance(desired, bool):
        return False
    if isinstance(live, str) and isinstance(desired, int | float):
        return live == str(desired)
    if isinstance(desired, str) and isinstance(live, int | float):
        return desired == str(live)
    return False


def _copy(node: dict[Any, Any]) -> dict[Any, Any]:
    return node.like(node) if isinstance(node, Keyed) else dict(node)


def predict(
    live: Any, desired: Any, last: Any = MISSING, _protect: frozenset[Any] = frozenset()
) -> Any:
    """The live object after applying ``desired`` over ``last`` (see the module docstring)."""
    if isinstance(desired, dict) and isinstance(live, dict):
        keyed = isinstance(desired, Keyed)
        if keyed != isinstance(live, Keyed):
            return desired
        prev = last if isinstance(last, dict) and isinstance(last, Keyed) == keyed else {}
        out = _copy(live)
        for k, dv in desired.items():
            if k in live:
                protect = frozenset(desired.fields) if isinstance(desired, Keyed) else frozenset()
                out[k] = predict(live[k], dv, prev.get(k, MISSING), protect)
            else:
                out[k] = dv
        for k in prev:
            if k not in desired and k not in _protect:
                out.pop(k, None)
        return out
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        prev_list = last if isinstance(last, list) and len(last) == len(desired) else None
        return [
            predict(lv, dv, prev_list[i] if prev_list is not None else MISSING)
            for i, (lv, dv) in enumerate(zip(live, desired, strict=True))
        ]
    if _same_scalar(live, desired):
        return live
    return desired


def drop_empty(node: Any) -> Any:
    """``node`` without maps emptied by deletions (an emptied field is an absent one)."""
    if isinstance(node, dict):
        out = _copy(node)
        for k, v in node.items():
            if isinstance(v, dict | list):
                c = drop_empty(v)
                if c == {} and isinstance(v, dict):
                    del out[k]
                else:
                    out[k] = c
        return out
    if isinstance(node, list):
        return [drop_empty(v) for v in node]
    return node


def project(node: Any, *shapes: Any) -> Any:
    """``node`` restricted to the fields any of ``shapes`` has (for display)."""
    dicts = [s for s in shapes if isinstance(s, dict)]
    if isinstance(node, dict) and dicts:
        out = _copy(node)
        out.clear()
        for k, v in node.items():
            subs = [s[k] for s in dicts if k in s]
            if subs:
                out[k] = project(v, *subs)
        return out
    lists = [
        s for s in shapes if isinstance(s, list) and isinstance(node, list) and len(s) == len(node)
    ]
    if isinstance(node, list) and lists:
        return [project(v, *[s[i] for s in lists]) for i, v in enumerate(node)]
    return node
