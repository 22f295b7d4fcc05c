"""ConfigMaps (argocd-cm, argocd-rbac-cm ...) are stored resources, their data validated."""

from __future__ import annotations

import pytest

from shipway.model import resources
from shipway.model.errors import ResourceError

GOOD = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cm, namespace: argocd}
data:
  resource.customizations.health.cert-manager.io_Certificate: |
    return {status = "Healthy"}
"""


def test_configmap_is_read_with_its_data() -> None:
    (res,) = resources.parse_text(GOOD, "cm.yaml")
    assert (res.kind, res.name, res.namespace) == ("ConfigMap", "argocd-cm", "argocd")
    assert (
        "return" in res.body["data"]["resource.customizations.health.cert-manager.io_Certificate"]
    )
    assert resources.canonical_kind("cm") == "ConfigMap"


def test_configmap_values_must_be_strings() -> None:
    bad = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  n: 1\n"
    with pytest.raises(ResourceError, match=r"data.n must be a string") as err:
        resources.parse_text(bad, "cm.yaml")
    assert "cm.yaml:4" in str(err.value)
