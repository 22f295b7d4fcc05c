"""Policy gates a sync passes before anything is applied.

- **Image policy**: the stored Kyverno ``ClusterPolicy``/``Policy`` objects'
  ``verifyImages`` rules, on every workload the sync would apply
  (``shipway.security.policy.imagegate``; verdicts cached by digest under
  ``$SHIPWAY_HOME/cache``). With ``mutateDigest`` (the default) the sync applies
  each matching tag as ``registry/repo:tag@sha256:…`` (``shipway.deploy.digest_pins``);
  the summary names that form as ``deployed``. An ``Enforce`` failure refuses the sync with the
  rule's words; ``Audit`` failures are reported as Warning events.
- **Vulnerability gate**: an Application annotated
  ``shipway.dev/vulnerability-gate: HIGH`` (or any of LOW, MEDIUM, HIGH, CRITICAL)
  refuses images with findings at or above that severity in the offline database
  (``shipway vuln db import``), naming them; ``shipway.dev/vulnerability-ignore-unfixed:
  "true"`` skips findings with no fixed version. No database fails closed. The
  ``shipway-policies`` ConfigMap's ``.trivyignore``, ``.trivyignore.yaml`` and
  ``.grype.yaml`` keys, and every ``*.openvex.json`` / ``*.vex.json`` key, are read
  as-is (``shipway.security.vuln.ignore``, ``vex``): a finding they ignore does not
  count; one that does not load refuses, naming ``shipway-policies/KEY:line:col``.
- **Manifest policy**: the ``shipway-policies`` ConfigMap (a documented shipway
  extension, in the ``argocd`` namespace): each ``*.rego`` key is a conftest
  module (package ``main``); ``deny``/``violation`` results refuse the sync,
  ``warn`` results are Warning events. Its ``lint`` key chooses the built-in
  kube-linter checks: ``warn`` (the default once the ConfigMap exists; without
  it the checks are off): findings are Warning events),
  ``enforce`` (findings refuse the sync) or ``off``; ``lint.exclude`` lists checks
  to skip, comma-separated.

Reads the store; the image gate reads registries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipway.model import kyverno
from shipway.model import namespaces as ns_mod
from shipway.model.errors import InputError
from shipway.security.policy import imagegate, lint, rego
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store.db import Store

CONFIGMAP = "shipway-policies"


@dataclass
class GateResult:
    """What the gates found: image checks, manifest findings, and the refusal if any."""

    images: list[imagegate.ImageCheck] = field(default_factory=list)
    findings: list[lint.Finding] = field(default_factory=list)
    refusal: str | None = None
    vulnerabilities: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        out = [
            f"policy {c.policy}/{c.rule} (Audit): image {c.image} in {c.object}: {c.message}"
            for c in self.images
            if not c.passed and c.action != "Enforce"
        ]
        out += [
            f"{f.object}: {f.message} ({f.check})" for f in self.findings if f.severity != "failure"
        ]
        return out

    def summary(self) -> dict[str, Any]:
        """What the release record keeps: images verified, findings by severity."""
        images: dict[str, dict[str, Any]] = {}
        for c in self.images:
            entry = images.setdefault(c.image, {"digest": c.digest, "verified": True, "by": []})
            entry["verified"] = entry["verified"] and c.passed
            entry["by"].append(f"{c.policy}/{c.rule}: {c.message}")
            if c.deployed:  # mutateDigest: the form the sync applied
                entry["deployed"] = c.deployed
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f.severity] = counts.get(f.severity, 0) + 1
        return {
            "images": images,
            "findings": counts,
            "refused": self.refusal or "",
            "vulnerabilities": self.vulnerabilities,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "images": [c.as_dict() for c in self.images],
            "findings": [f.as_dict() for f in self.findings],
            "refusal": self.refusal,
        }


def kyverno_policies(store: Store) -> list[imagegate.Policy]:
    out = []
    for kind in ("ClusterPolicy", "Policy"):
        for res in store_resources.list_kind(store, kind):
            spec = kyverno.KyvernoPolicySpec.model_validate(res.spec)
            out.append(imagegate.Policy(res.name, res.namespace or "", spec))
    return out


def _objects(objs: list[dict[str, Any]], default_ns: str) -> list[tuple[dict[str, Any], str]]:
    return [(o, str((o.get("metadata") or {}).get("namespace") or default_ns)) for o in objs]


VULN_GATE = "shipway.dev/vulnerability-gate"
VULN_UNFIXED = "shipway.dev/vulnerability-ignore-unfixed"


IGNORE_KEYS = (".trivyignore", ".trivyignore.yaml", ".grype.yaml")
VEX_SUFFIXES = (".openvex.json", ".vex.json")


def vulnerability_rules(store: Store) -> tuple[list[Any], str | None]:
    """``(rules, problem)``: the ignore files and OpenVEX documents of the
    ``shipway-policies`` ConfigMap, each key read as the file of that name."""
    from shipway.security.vuln import ignore, vex

    cm = store_resources.find(store, "ConfigMap", CONFIGMAP, ns_mod.ARGOCD)
    data: dict[str, str] = dict(cm.body.get("data") or {}) if cm is not None else {}
    rules: list[Any] = []
    problems: list[str] = []
    for key, text in sorted(data.items()):
        where = f"{CONFIGMAP}/{key}"
        try:
            if key in IGNORE_KEYS:
                rules += ignore.load(str(text), where)
            elif key.endswith(VEX_SUFFIXES):
                rules.append(vex.parse(str(text), where))
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        return rules, "vulnerability ignore rules do not load: " + "; ".join(problems)
    return rules, None


def vulnerability_gate(
    images: list[str],
    level: str,
    ignore_unfixed: bool = False,
    rules: list[Any] | None = None,
) -> tuple[dict[str, dict[str, int]], str | None]:
    """Scan each image; ``(counts by image, refusal)`` for findings at or above ``level``
    that ``rules`` do not ignore (counts: unignored findings by severity, and ``ignored``)."""
    from shipway.model.errors import ShipwayError
    from shipway.security import vuln

    level = level.strip().upper()
    if level not in ("LOW", "MEDIUM", "HIGH", "CRITICAL"):
        return {}, f"{VULN_GATE}: {level!r} is not LOW, MEDIUM, HIGH or CRITICAL"
    counts: dict[str, dict[str, int]] = {}
    problems = []
    options = vuln.ScanOptions(ignore_unfixed=ignore_unfixed, rules=list(rules or []))
    try:
        db = vuln.VulnDB()
    except ShipwayError as exc:
        return {}, f"vulnerability gate {level}: {exc}"
    with db:
        for image in sorted(set(images)):
            try:
                report = vuln.scan(image, db, options)
            except ShipwayError as exc:
                problems.append(f"image {image} could not be scanned: {exc}")
                continue
            counts[image] = {k: n for k, n in report.counts().items() if n}
            if report.ignored:
                counts[image]["ignored"] = len(report.ignored)
            bad = report.at_or_above(level)
            if bad:
                ids = ", ".join(
                    sorted({f"{f.id} ({f.package} {f.installed}, {f.severity})" for f in bad})[:10]
                )
                problems.append(
                    f"image {image} has {len(bad)} finding(s) at or above {level}: {ids}"
                )
    return counts, "; ".join(problems) or None


def check(
    store: Store,
    settings: Settings,
    objects: list[dict[str, Any]],
    default_namespace: str,
    annotations: dict[str, str] | None = None,
) -> GateResult:
    """Run every gate over the objects a sync would apply (``annotations``: the app's)."""
    result = GateResult()
    problems: list[str] = []
    level = (annotations or {}).get(VULN_GATE)
    if level:
        from shipway.security.policy import workloads

        images = [i for o in objects for i in workloads.images(o)]
        unfixed = (annotations or {}).get(VULN_UNFIXED, "").lower() == "true"
        rules, broken = vulnerability_rules(store)
        result.vulnerabilities, refused = vulnerability_gate(images, level, unfixed, rules)
        if broken or refused:
            problems.append(broken or str(refused))
    policies = kyverno_policies(store)
    if policies:
        cache = imagegate.VerifyCache(settings.home / "cache" / "image-verify.sqlite")
        result.images = imagegate.check(policies, _objects(objects, default_namespace), cache=cache)
        refused = imagegate.refusal(result.images)
        if refused:
            problems.append(refused)
    cm = store_resources.find(store, "ConfigMap", CONFIGMAP, ns_mod.ARGOCD)
    data: dict[str, str] = dict(cm.body.get("data") or {}) if cm is not None else {}
    modules = [(f"{CONFIGMAP}/{k}", v) for k, v in sorted(data.items()) if k.endswith(".rego")]
    if modules:
        try:
            outcomes = rego.evaluate(
                rego.PolicySet(modules), [(lint.object_name(o), o) for o in objects], ["main"]
            )
        except InputError as exc:
            problems.append(f"manifest policy does not compile: {exc}")
            outcomes = []
        for o in outcomes:
            result.findings += [*o.failures, *o.warnings]
        fails = [f for f in result.findings if f.severity == "failure"]
        if fails:
            problems.append("; ".join(f"{f.object}: {f.message} ({f.check})" for f in fails))
    mode = data.get("lint", "warn" if cm is not None else "off").strip().lower()
    if mode != "off":
        excluded = frozenset(x.strip() for x in data.get("lint.exclude", "").split(",") if x)
        found = lint.run(objects, excluded)
        if mode == "enforce":
            found = [lint.Finding(f.check, f.object, f.message, "failure", f.source) for f in found]
            if found:
                problems.append("; ".join(f"{f.object}: {f.message} ({f.check})" for f in found))
        result.findings += found
    result.refusal = "; ".join(problems) or None
    return result
