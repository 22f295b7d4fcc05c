"""The supply-chain gates a promotion passes before its first step: its Freight's images.

Run by the promotion runner when a promotion starts (not when it resumes), so a
refused promotion changes nothing: no step runs, no git push, no sync.

- **Signature policy**: the stored Kyverno ``ClusterPolicy`` objects (and
  ``Policy`` objects in the Project's namespace) with ``verifyImages`` rules,
  on each Freight image their ``imageReferences`` match
  (``imagegate.check_images``; the same verdict cache as the sync gate). An
  ``Enforce`` failure refuses the promotion naming the policy, the rule, the
  image and the reason; ``Audit`` failures are warnings.
- **Vulnerability gate**: a Stage annotated ``shipway.dev/vulnerability-gate:
  HIGH`` (LOW, MEDIUM, HIGH or CRITICAL; ``shipway.dev/vulnerability-ignore-unfixed:
  "true"`` skips findings with no fix) refuses Freight whose images have findings
  at or above it in the offline database, naming the image and the findings; the
  ignore files and OpenVEX documents of the ``shipway-policies`` ConfigMap apply
  (``policy_gate.vulnerability_rules``), as at a sync.

The verdicts (``policy_gate.GateResult.summary``: images with digest and
verification, findings by severity per image, the refusal) go on the
promotion's state and its entry in the Freight's journey (its release record).
Touches the store (Stage, policies), registries and the vulnerability database.
"""

from __future__ import annotations

from typing import Any

from shipway.deploy import policy_gate
from shipway.security.policy import imagegate
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store.db import Store


def freight_images(freight: dict[str, Any]) -> list[str]:
    """The Freight's images as references, pinned by digest when the Freight knows it."""
    out = []
    for img in freight.get("images") or []:
        repo = str(img.get("repoURL") or "")
        if not repo:
            continue
        digest, tag = str(img.get("digest") or ""), str(img.get("tag") or "")
        out.append(f"{repo}@{digest}" if digest else f"{repo}:{tag or 'latest'}")
    return out


def check(
    store: Store, settings: Settings, project: str, stage: str, freight: dict[str, Any]
) -> policy_gate.GateResult:
    """Both gates over the Freight's images for a promotion to ``stage``."""
    result = policy_gate.GateResult()
    images = freight_images(freight)
    if not images:
        return result
    problems: list[str] = []
    found = store_resources.find(store, "Stage", stage, project)
    notes = dict((found.body.get("metadata") or {}).get("annotations") or {}) if found else {}
    level = notes.get(policy_gate.VULN_GATE)
    if level:
        unfixed = notes.get(policy_gate.VULN_UNFIXED, "").lower() == "true"
        rules, broken = policy_gate.vulnerability_rules(store)
        result.vulnerabilities, refused = policy_gate.vulnerability_gate(
            images, level, unfixed, rules
        )
        if broken or refused:
            problems.append(
                f"stage {stage} {policy_gate.VULN_GATE}={level.strip()}: {broken or refused}"
            )
    policies = policy_gate.kyverno_policies(store)
    if policies:
        cache = imagegate.VerifyCache(settings.home / "cache" / "image-verify.sqlite")
        name = str((freight.get("metadata") or {}).get("name") or freight.get("name") or "")
        result.images = imagegate.check_images(
            policies, images, holder=f"Freight/{project}/{name}", namespace=project, cache=cache
        )
        refused = imagegate.refusal(result.images)
        if refused:
            problems.append(refused)
    result.refusal = "; ".join(problems) or None
    return result
