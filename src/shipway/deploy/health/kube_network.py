"""Ingress (``networking.k8s.io``, ``extensions``), APIService (``apiregistration.k8s.io``).

Pure.

An Ingress is Healthy once its load balancer has an address. An APIService
is Healthy when its ``Available`` condition is true and Progressing
otherwise (the aggregated API may still be starting), as in Argo CD.
"""

from __future__ import annotations

from shipway.deploy.health.util import (
    HEALTHY,
    PROGRESSING,
    Obj,
    Result,
    condition,
    is_true,
    items,
    mapping,
    status,
    text,
)


def ingress(obj: Obj) -> Result:
    if items(mapping(status(obj).get("loadBalancer")).get("ingress")):
        return HEALTHY, ""
    return PROGRESSING, "waiting for the ingress to get an address"


def apiservice(obj: Obj) -> Result:
    cond = condition(obj, "Available")
    if cond is None:
        return PROGRESSING, "waiting for the APIService to be processed"
    message = f"{text(cond.get('reason'))}: {text(cond.get('message'))}"
    return (HEALTHY if is_true(cond) else PROGRESSING), message


CHECKS = {
    ("networking.k8s.io", "Ingress"): ingress,
    ("extensions", "Ingress"): ingress,
    ("apiregistration.k8s.io", "APIService"): apiservice,
}
