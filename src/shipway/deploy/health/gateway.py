"""Gateway API: Gateway and the routes (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute). Pure.

Conditions written for an older generation (their ``observedGeneration``
below ``metadata.generation``) do not count: the object is Progressing
until the controller catches up. A Gateway is Degraded when ``Accepted`` or
a listener's ``Accepted``/``ResolvedRefs`` is false or a listener is
``Conflicted``; ``Programmed`` false is Progressing while its reason is
``Pending`` and Degraded otherwise (``Invalid``, ``NoResources``,
``AddressNotAssigned`` ...). A route is judged per parent (gateway) in
``status.parents``: ``Accepted`` or ``ResolvedRefs`` false is Degraded; no
parent has reported yet is Progressing.
"""

from __future__ import annotations

from shipway.deploy.health.util import (
    DEGRADED,
    HEALTHY,
    PROGRESSING,
    Obj,
    Result,
    items,
    mapping,
    meta,
    num,
    status,
    text,
)

GROUP = "gateway.networking.k8s.io"


def _stale(obj: Obj, conds: list[Obj]) -> bool:
    gen = meta(obj).get("generation")
    return gen is not None and any(
        c.get("observedGeneration") is not None and num(c["observedGeneration"]) < num(gen)
        for c in conds
    )


def _judge(conds: list[Obj], where: str) -> Result:
    """Degraded/Progressing for the first bad condition of one Gateway, listener or parent."""
    by_type = {text(c.get("type")): c for c in conds}
    for ctype in ("Accepted", "ResolvedRefs"):
        c = by_type.get(ctype)
        if c is not None and text(c.get("status")) == "False":
            return DEGRADED, f"{where}{ctype} is false: {text(c.get('message')) or c.get('reason')}"
    conflicted = by_type.get("Conflicted")
    if conflicted is not None and text(conflicted.get("status")) == "True":
        return DEGRADED, f"{where}conflicted: {text(conflicted.get('message'))}"
    for ctype in ("Accepted", "Programmed"):
        c = by_type.get(ctype)
        if c is None or text(c.get("status")) == "True":
            continue
        message = text(c.get("message")) or text(c.get("reason"))
        if text(c.get("status")) == "False" and text(c.get("reason")) != "Pending":
            return DEGRADED, f"{where}{ctype} is false: {message}"
        return PROGRESSING, f"{where}{ctype} pending: {message}"
    return None


def gateway(obj: Obj) -> Result:
    st = status(obj)
    conds = items(st.get("conditions"))
    if not conds:
        return PROGRESSING, "waiting for a controller to accept the Gateway"
    if _stale(obj, conds):
        return PROGRESSING, "waiting for the controller to observe the latest generation"
    found = _judge(conds, "")
    if found is not None:
        return found
    for listener in items(st.get("listeners")):
        found = _judge(
            items(listener.get("conditions")), f"listener {text(listener.get('name'))}: "
        )
        if found is not None:
            return found
    return HEALTHY, ""


def route(obj: Obj) -> Result:
    parents = [p for p in items(status(obj).get("parents")) if items(p.get("conditions"))]
    if not parents:
        return PROGRESSING, "waiting for a gateway to accept the route"
    for parent in parents:
        conds = items(parent.get("conditions"))
        name = text(mapping(parent.get("parentRef")).get("name"))
        if _stale(obj, conds):
            return PROGRESSING, f"parent {name}: waiting for the latest generation to be observed"
        found = _judge(conds, f"parent {name}: ")
        if found is not None:
            return found
    return HEALTHY, ""


CHECKS = {
    (GROUP, "Gateway"): gateway,
    **{(GROUP, k): route for k in ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute")},
}
