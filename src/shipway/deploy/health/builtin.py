"""The built-in checks, one module per family, gathered into one registry. Pure."""

from __future__ import annotations

from shipway.deploy.health import (
    argo,
    certmanager,
    crossplane,
    externalsecrets,
    flux,
    gateway,
    keda,
    kube_apps,
    kube_batch,
    kube_core,
    kube_network,
    kube_scaling,
)
from shipway.deploy.health.registry import Registry

FAMILIES = (
    kube_core,
    kube_apps,
    kube_batch,
    kube_network,
    kube_scaling,
    argo,
    certmanager,
    externalsecrets,
    flux,
    keda,
    gateway,
    crossplane,
)


def registry() -> Registry:
    reg = Registry()
    for family in FAMILIES:
        for (group, kind), check in family.CHECKS.items():
            reg.add(group, kind, check)
    for (group, kind), check in crossplane.PATTERNS.items():
        reg.add(group, kind, check)
    return reg
