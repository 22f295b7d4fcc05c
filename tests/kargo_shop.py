"""A Kargo Project ``shop`` the web UI and API access tests both store.

Warehouse ``images`` (``127.0.0.1:5000/shop``), Stage ``dev`` taking Freight
from it directly and Stage ``prod`` from ``dev`` after a soak of an hour, each
with a one-step promotion template; ``freight`` makes one Freight of it. Data only.
"""

from __future__ import annotations

from typing import Any

KARGO = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: shop}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: images, namespace: shop}
spec:
  subscriptions:
    - image: {repoURL: "127.0.0.1:5000/shop"}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: dev, namespace: shop}
spec:
  requestedFreight:
    - origin: {kind: Warehouse, name: images}
      sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
        - uses: compose-output
          as: out
          config: {stage: dev}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: prod, namespace: shop}
spec:
  requestedFreight:
    - origin: {kind: Warehouse, name: images}
      sources: {stages: [dev], requiredSoakTime: 1h}
  promotionTemplate:
    spec:
      steps:
        - uses: compose-output
          as: out
          config: {stage: prod}
"""


def freight(name: str, alias: str, tag: str) -> dict[str, Any]:
    return {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Freight",
            "metadata": {"name": name, "namespace": "shop"}, "alias": alias,
            "origin": {"kind": "Warehouse", "name": "images"},
            "images": [{"repoURL": "127.0.0.1:5000/shop", "tag": tag,
                        "digest": "sha256:" + name[:8] * 8}]}  # fmt: skip
