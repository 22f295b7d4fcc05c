"""Kyverno's validationFailureActionOverrides at the sync gate (real registry).

An Audit policy that Enforces in ``prod-*`` refuses an unsigned image in a prod namespace
and only reports it elsewhere; an entry's own ``failureAction`` wins over both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from security_images import push_image
from shipway.model import kyverno
from shipway.model.resources import parse_text
from shipway.security.policy import imagegate
from shipway.security.sign import keys

pytestmark = pytest.mark.integration


PROD = [{"action": "Enforce", "namespaces": ["prod-*", "payments"]}]


def policy(host: str, pub: Path, action: str = "Audit", overrides: list[dict[str, Any]] = PROD,
           **entry: Any) -> imagegate.Policy:  # fmt: skip
    doc = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "signed"},
        "spec": {
            "validationFailureAction": action,
            "validationFailureActionOverrides": overrides,
            "rules": [{
                "name": "sig",
                "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "verifyImages": [{
                    "imageReferences": [f"{host}/override/*"],
                    "mutateDigest": False,
                    "verifyDigest": False,
                    "attestors": [{"entries": [{"keys": {"publicKeys": pub.read_text()}}]}],
                    **entry,
                }],
            }],
        },
    }  # fmt: skip
    (res,) = parse_text(yaml.safe_dump(doc), "policy.yaml")  # what apply accepts
    return imagegate.Policy("signed", "", kyverno.KyvernoPolicySpec.model_validate(res.spec))


def pod(name: str, ns: str, image: str) -> tuple[dict[str, Any], str]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": ns},
            "spec": {"containers": [{"name": "c", "image": image}]}}, ns  # fmt: skip


def test_overrides_enforce_by_the_workloads_namespace(registry: Any, tmp_path: Path) -> None:
    _, pub = keys.generate(tmp_path / "team", password=b"pw")
    image = f"{registry.host}/override/web:1"
    push_image(registry.host, "override/web", "1", b"unsigned")
    objects = [pod("a", "prod-eu", image), pod("b", "dev", image), pod("c", "payments", image)]

    checks = imagegate.check([policy(registry.host, pub)], objects)
    assert {c.object: c.action for c in checks} == {
        "Pod/prod-eu/a": "Enforce", "Pod/dev/b": "Audit", "Pod/payments/c": "Enforce"}  # fmt: skip
    assert all(not c.passed and "no signatures found" in c.message for c in checks)
    refusal = imagegate.refusal(checks)
    assert refusal is not None
    assert "Pod/prod-eu/a" in refusal and "Pod/payments/c" in refusal and "Pod/dev/b" not in refusal

    # the entry's own failureAction wins over the overrides
    audited = imagegate.check([policy(registry.host, pub, failureAction="Audit")], objects)
    assert {c.action for c in audited} == {"Audit"} and imagegate.refusal(audited) is None


def test_a_namespace_selector_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError, match="namespaceSelector is not served"):
        kyverno.ActionOverride.model_validate(
            {"action": "Enforce", "namespaceSelector": {"matchLabels": {"env": "prod"}}}
        )


def test_an_audit_override_still_pins_as_an_enforce_policy_does(
    registry: Any, tmp_path: Path
) -> None:
    # mutateDigest is ignored in Audit *policies*; an Enforce policy pins in every namespace
    _, pub = keys.generate(tmp_path / "team", password=b"pw")
    image = f"{registry.host}/override/pinned:1"
    digest = push_image(registry.host, "override/pinned", "1", b"pinned")
    pol = policy(registry.host, pub, "Enforce", [{"action": "Audit", "namespaces": ["dev"]}],
                 mutateDigest=True, verifyDigest=True)  # fmt: skip
    checks = imagegate.check([pol], [pod("b", "dev", image)])
    ((check,),) = [checks]
    assert (check.action, check.passed, check.deployed) == ("Audit", False, f"{image}@{digest}")
