"""Table columns of Kargo and Argo Rollouts kinds in ``shipway get``, as their CLIs show them.

``kargo get warehouses|freight|stages|promotions|projectconfigs``: Kargo's
columns (stages: NAME SHARD CURRENT FREIGHT HEALTH READY STATUS AGE, with
``status.freightSummary``, ``status.health.status`` and the Ready condition;
promotions: NAME SHARD STAGE FREIGHT PHASE AGE). Kinds the Kargo CLI does not
list (PromotionTask, ClusterPromotionTask) and Argo Rollouts' kinds get
kubectl's columns for their CRDs (NAME AGE; AnalysisRun: NAME STATUS AGE).
``-o wide`` adds what each holds (Freight: where it is verified and for how long
it has soaked there, where it is approved; Stages: the soak time left for the
next Freight, from ``status.soak``, and the auto-promotion holds). Argo CD's
ApplicationSet: NAME STATUS (its ResourcesUpToDate condition) APPLICATIONS AGE;
wide: the generators, the ``applicationsSync`` policy and the condition's
message. A Secret: kubectl's NAME TYPE DATA AGE; wide: Kargo's credential columns (the
``kargo.akuity.io/cred-type`` label, REGEX, REPO), never a value but the repository URL.
Other kinds keep the generic name/source table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from shipway.model import selectors
from shipway.model.release import now
from shipway.model.resources import Resource

Row = Callable[[Resource, bool], list[Any]]


def _since(text: Any) -> float | None:
    if not text:
        return None
    when = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return (now() - when).total_seconds()


def _go(seconds: float) -> str:
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m}m{s}s" if h else (f"{m}m{s}s" if m else f"{s}s")


def _verified(r: Resource) -> str:
    """``test (in 5m0s), uat``: where the Freight is verified, and how long it has soaked."""
    status = r.status or {}
    current = status.get("currentlyIn") or {}
    out = []
    for stage, info in sorted((status.get("verifiedIn") or {}).items()):
        soaked = _since((current.get(stage) or {}).get("since"))
        longest = (info or {}).get("longestSoak")
        extra = f" (in {_go(soaked)})" if soaked is not None else (
            f" (soaked {longest})" if longest else "")  # fmt: skip
        out.append(f"{stage}{extra}")
    return ", ".join(out)


def _freight(r: Resource, wide: bool) -> list[Any]:
    origin = r.body.get("origin") or {}
    row: list[Any] = [r.name, r.body.get("alias", ""), origin.get("kind", ""),
                      origin.get("name", "")]  # fmt: skip
    if wide:
        images = [f"{i.get('repoURL')}:{i.get('tag')}" for i in r.body.get("images") or []]
        commits = [f"{c.get('repoURL')}@{str(c.get('id', ''))[:7]}"
                   for c in r.body.get("commits") or []]  # fmt: skip
        charts = [f"{c.get('repoURL')}{'/' + c['name'] if c.get('name') else ''}:"
                  f"{c.get('version')}" for c in r.body.get("charts") or []]  # fmt: skip
        row.append(", ".join(images + commits + charts))
        row.append(_verified(r))
        row.append(", ".join(sorted((r.status or {}).get("approvedFor") or {})))
    return row


def _soak(r: Resource) -> str:
    """``abc1234: 14m2s left`` for a stage whose next Freight is still soaking upstream."""
    soak = (r.status or {}).get("soak") or {}
    left = _since(soak.get("until"))
    if not soak or left is None or left >= 0:
        return ""
    return f"{str(soak.get('freight', ''))[:7]}: {_go(-left)} left"


def _conditions(r: Resource) -> list[dict[str, Any]]:
    return [c for c in (r.status or {}).get("conditions") or [] if isinstance(c, dict)]


def _warehouse(r: Resource, wide: bool) -> list[Any]:
    conds = _conditions(r) or [{}]
    row: list[Any] = [r.name, conds[0].get("status", "Unknown"),
                      (r.status or {}).get("lastFreightID", "")]  # fmt: skip
    if wide:
        row += [r.spec.get("freightCreationPolicy", "Automatic"), r.spec.get("interval", "5m0s"),
                conds[0].get("message", "")]  # fmt: skip
    return row


def _sources(r: Resource) -> str:
    out = []
    for req in r.spec.get("requestedFreight") or []:
        src = req.get("sources") or {}
        froms = (["direct"] if src.get("direct") else []) + list(src.get("stages") or [])
        out.append(f"{(req.get('origin') or {}).get('name', '')} <- {'|'.join(froms)}")
    return ", ".join(out)


def _freight_summary(status: dict[str, Any]) -> str:
    """Kargo's ``freightSummary``, else what the newest ``freightHistory`` entry holds."""
    if status.get("freightSummary"):
        return str(status["freightSummary"])
    history = status.get("freightHistory") or [{}]
    items = (history[0] or {}).get("items") or {}
    return ", ".join(str((v or {}).get("name", "")) for v in items.values())


def _stage(r: Resource, wide: bool) -> list[Any]:
    status = r.status or {}
    ready = next((c for c in _conditions(r) if c.get("type") == "Ready"), {})
    row: list[Any] = [r.name, r.spec.get("shard", ""), _freight_summary(status),
                      (status.get("health") or {}).get("status", ""),
                      ready.get("status", "Unknown"), ready.get("message", "")]  # fmt: skip
    if wide:
        steps = ((r.spec.get("promotionTemplate") or {}).get("spec") or {}).get("steps") or []
        templates = (r.spec.get("verification") or {}).get("analysisTemplates") or []
        holds = ", ".join(
            f"{k} ({v.get('reason', 'hold')} {str(v.get('freightName', ''))[:7]})"
            for k, v in (status.get("autoPromotionHolds") or {}).items()
        )
        row += [_sources(r), len(steps), ", ".join(str(t.get("name")) for t in templates),
                _soak(r), holds]  # fmt: skip
    return row


def _promotion(r: Resource, wide: bool) -> list[Any]:
    status = r.status or {}
    row: list[Any] = [r.name, r.labels.get("kargo.akuity.io/shard", ""), r.spec.get("stage", ""),
                      r.spec.get("freight", ""), status.get("phase", "")]  # fmt: skip
    if wide:
        steps = r.spec.get("steps") or []
        current = status.get("currentStep", 0)
        row += [f"{min(int(current) + 1, len(steps))}/{len(steps)}", status.get("message", "")]
    return row


def _task(r: Resource, wide: bool) -> list[Any]:
    row: list[Any] = [r.name]
    if wide:
        steps = [str(s.get("uses", "")) for s in r.spec.get("steps") or []]
        variables = [str(v.get("name", "")) for v in r.spec.get("vars") or []]
        row += [", ".join(steps), ", ".join(variables)]
    return row


def _project_config(r: Resource, wide: bool) -> list[Any]:
    row: list[Any] = [r.name]
    if wide:
        policies = r.spec.get("promotionPolicies") or []
        auto = sum(1 for p in policies if p.get("autoPromotionEnabled"))
        row += [len(policies), auto, len(r.spec.get("promotionWindows") or [])]
    return row


def _template(r: Resource, wide: bool) -> list[Any]:
    row: list[Any] = [r.name]
    if wide:
        metrics = r.spec.get("metrics") or []
        row += [", ".join(f"{m.get('name')} ({next(iter(m.get('provider') or {'?': 0}))})"
                          for m in metrics)]  # fmt: skip
    return row


def _analysis_run(r: Resource, wide: bool) -> list[Any]:
    status = r.status or {}
    row: list[Any] = [r.name, status.get("phase", "")]
    if wide:
        row.append(status.get("message", ""))
    return row


def _appset(r: Resource, wide: bool) -> list[Any]:
    up = next((c for c in _conditions(r) if c.get("type") == "ResourcesUpToDate"), {})
    state = {"True": "UpToDate", "False": "Error"}.get(str(up.get("status")), "Unknown")
    row: list[Any] = [r.name, state, len((r.status or {}).get("resources") or [])]
    if wide:
        kinds = [
            next((k for k in g if k != "selector"), "?") for g in r.spec.get("generators") or []
        ]
        policy = (r.spec.get("syncPolicy") or {}).get("applicationsSync", "sync")
        row += [", ".join(kinds), policy, up.get("message", "")]
    return row


def _secret(r: Resource, wide: bool) -> list[Any]:
    from shipway.model import secrets

    data = r.body.get("data") or {}
    row: list[Any] = [r.name, r.body.get("type", "Opaque"), len(data)]
    if wide:
        shown = secrets.decoded({"data": {k: data[k] for k in ("repoURL", "repoURLIsRegex")
                                          if k in data}})  # fmt: skip
        regex = str(shown.get("repoURLIsRegex", "")).lower() == "true"
        row += [secrets.cred_type(r.body), str(regex).lower() if shown else "",
                shown.get("repoURL", "")]  # fmt: skip
    return row


_FREIGHT = ["name", "alias", "origin (kind)", "origin (name)"]
_STAGE = ["name", "shard", "current freight", "health", "ready", "status"]
_TABLES: dict[str, tuple[list[str], list[str], Row, bool]] = {
    # kind: (columns, -o wide columns, row, whether it has an AGE column)
    "Freight": (_FREIGHT, ["contents", "verified in", "approved for"], _freight, False),
    "Warehouse": (
        ["name", "ready", "last freight"],
        ["freight creation", "interval", "message"],
        _warehouse,
        False,
    ),
    "Stage": (_STAGE, ["sources", "steps", "verification", "soak", "holds"], _stage, True),
    "Promotion": (
        ["name", "shard", "stage", "freight", "phase"],
        ["step", "message"],
        _promotion,
        True,
    ),
    "PromotionTask": (["name"], ["steps", "vars"], _task, True),
    "ClusterPromotionTask": (["name"], ["steps", "vars"], _task, True),
    "ProjectConfig": (["name"], ["policies", "auto-promoted", "windows"], _project_config, True),
    "AnalysisTemplate": (["name"], ["metrics"], _template, True),
    "ClusterAnalysisTemplate": (["name"], ["metrics"], _template, True),
    "AnalysisRun": (["name", "status"], ["message"], _analysis_run, True),
    "Secret": (["name", "type", "data"], ["cred type", "regex", "repo"], _secret, True),
    "ApplicationSet": (
        ["name", "status", "applications"],
        ["generators", "sync policy", "message"],
        _appset,
        True,
    ),
}
HEADERS = {kind: (base, extra) for kind, (base, extra, _row, _age) in _TABLES.items()}
"""Each kind's columns and its ``-o wide`` columns (AGE, where there is one, not included)."""


def table(kind: str, items: list[Resource], wide: bool) -> tuple[list[str], list[list[Any]]] | None:
    """Headers and rows for a Kargo or Argo Rollouts kind, or None for kinds without their own."""
    if kind not in _TABLES:
        return None
    base, extra, row, with_age = _TABLES[kind]
    t = now()
    rows = []
    for r in items:
        cells = row(r, wide)
        if with_age:
            # AGE goes after the base columns, as kubectl puts it before the wide ones
            cells = [*cells[: len(base)], selectors.age(r.created, t), *cells[len(base) :]]
        rows.append(cells)
    heads = [*base, *(["age"] if with_age else []), *(extra if wide else [])]
    return heads, rows
