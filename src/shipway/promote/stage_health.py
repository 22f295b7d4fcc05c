"""A Stage's health, conditions and summary as Kargo's stage controller writes them. Pure: no I/O.

``summarize(...)`` takes the Stage's status, its ``metadata.generation``, how
many Freight it requests, its running promotion (if any), the Argo CD
Applications its last promotion's ``argocd-update`` steps touched
(``lastPromotion.status.healthChecks``) as they are now, and whether its current
Freight is verified there; it returns the new status with:

- ``health``: ``status`` (Healthy, Progressing, Unknown, Unhealthy; the most severe
  of the apps', in Kargo's order), ``issues``, ``config`` (the health checks) and
  ``output`` (``[{"applicationStatuses": [...]}]``); an app is Healthy when Argo CD
  says Healthy and it is synced at the revision the promotion asked for;
- ``conditions``: ``Promoting`` (only while a promotion runs: ``ActivePromotion``),
  ``Healthy`` (``ActivePromotion``, ``NoFreight``, ``LastPromotion<Phase>``, or the
  health status), ``Verified`` (``NoFreight``, ``Verified``,
  ``VerificationPending``/``Running``/``Failed``/``Error``/``Aborted``/``Inconclusive``,
  ``WaitingForVerification``) and ``Ready`` summarizing them in Kargo's order
  (promoting, last promotion failed, unhealthy, unverified, else the Verified
  condition's reason); ``lastTransitionTime`` moves only when a status changes;
- ``freightSummary`` (the Freight's name for one requested origin, else
  ``N/M Fulfilled``), ``currentPromotion`` and, once Ready, ``observedGeneration``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ORDER = {"Healthy": 0, "NotApplicable": 1, "Progressing": 2, "Unknown": 3, "Unhealthy": 4}


def merge(a: str, b: str) -> str:
    return a if ORDER.get(a, 3) > ORDER.get(b, 3) else b


@dataclass(frozen=True)
class Running:
    """The stage's unfinished promotion."""

    name: str
    phase: str
    freight: dict[str, Any] = field(default_factory=dict)


def freight_summary(requested: int, status: dict[str, Any]) -> str:
    history = status.get("freightHistory") or []
    items = (history[0].get("items") or {}) if history else {}
    items = {k: v for k, v in items.items() if (v or {}).get("name")}
    if not items:
        return f"0/{requested} Fulfilled"
    if requested == 1 and len(items) == 1:
        return str(next(iter(items.values()))["name"])
    return f"{len(items)}/{requested} Fulfilled"


def current_freight(status: dict[str, Any]) -> list[str]:
    history = status.get("freightHistory") or []
    items = (history[0].get("items") or {}) if history else {}
    return [str(v.get("name")) for v in items.values() if (v or {}).get("name")]


def app_health(
    check: dict[str, Any], app: dict[str, Any] | None
) -> tuple[str, str | None, dict[str, Any]]:
    """One app's Stage health, the issue (None when Healthy) and its ``ArgoCDAppStatus``."""
    ns, name = str(check.get("namespace") or "argocd"), str(check.get("name") or "")
    where = f"Argo CD Application {name!r} in namespace {ns!r}"
    if app is None:
        return "Unknown", f"{where} not found", {"namespace": ns, "name": name}
    status = app.get("status") or {}
    health = dict(status.get("health") or {})
    sync = dict(status.get("sync") or {})
    out = {"namespace": ns, "name": name, "health": health, "sync": sync}
    state = str(health.get("status") or "")
    if state in ("", "Progressing", "Suspended"):
        verb = "is suspended" if state == "Suspended" else "is progressing"
        return "Progressing", f"{where} {verb}", out
    if state != "Healthy":
        return "Unhealthy", f"{where} has health state {state!r}", out
    desired = [str(r) for r in check.get("desiredRevisions") or [] if r]
    if not desired:
        return "Healthy", None, out
    if (status.get("operationState") or {}).get("phase") == "Running":
        return "Unknown", f"{where} is being synced", out
    observed = [str(r) for r in sync.get("revisions") or []] or [str(sync.get("revision") or "")]
    if not any(
        o == d or (o and d.startswith(o)) or (d and o.startswith(d))
        for o in observed
        for d in desired
    ):
        return (
            "Unhealthy",
            (
                f"{where} is not synced to the desired revision "
                f"{desired[0]!r} (it is at {observed[0]!r})"
            ),
            out,
        )
    return "Healthy", None, out


def assess(
    checks: list[dict[str, Any]], apps: dict[tuple[str, str], dict[str, Any] | None]
) -> dict[str, Any]:
    """Kargo's ``Health`` from the health checks (``{"apps": [...]}`` each) and the apps now."""
    state, issues, statuses = "Healthy", [], []
    for check in checks:
        for one in (check.get("config") or check).get("apps") or []:
            key = (str(one.get("namespace") or "argocd"), str(one.get("name") or ""))
            got, issue, app_status = app_health(one, apps.get(key))
            state = merge(state, got)
            if issue:
                issues.append(issue)
            statuses.append(app_status)
    out: dict[str, Any] = {"status": state}
    if issues:
        out["issues"] = issues
    if checks:
        out["config"] = checks
        out["output"] = [{"applicationStatuses": statuses}]
    return out


def _cond(ctype: str, status: str, reason: str, message: str, gen: int) -> dict[str, Any]:
    return {
        "type": ctype,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": gen,
    }


def _verified(status: dict[str, Any], verified_here: bool, gen: int) -> dict[str, Any]:
    history = status.get("freightHistory") or []
    infos = (history[0].get("verificationHistory") or []) if history else []
    if verified_here or any(i.get("phase") == "Successful" for i in infos):
        return _cond("Verified", "True", "Verified", "Freight has been verified", gen)
    if not infos:
        return _cond(
            "Verified",
            "Unknown",
            "WaitingForVerification",
            "Waiting for verification to be performed after successful promotion",
            gen,
        )
    last = infos[0]
    phase, msg = str(last.get("phase") or ""), str(last.get("message") or "")
    if phase in ("", "Pending"):
        return _cond(
            "Verified",
            "Unknown",
            "VerificationPending",
            msg or "Freight is pending verification",
            gen,
        )
    if phase == "Running":
        return _cond(
            "Verified", "Unknown", "VerificationRunning", "Freight is currently being verified", gen
        )
    if phase == "Inconclusive":
        return _cond(
            "Verified",
            "Unknown",
            "VerificationInconclusive",
            f"verification is inconclusive and waits for a person: {msg}",
            gen,
        )
    return _cond("Verified", "False", f"Verification{phase}", msg, gen)


def summarize(
    status: dict[str, Any],
    *,
    generation: int,
    requested: int,
    running: Running | None,
    apps: dict[tuple[str, str], dict[str, Any] | None],
    verified_here: bool,
    now: str,
) -> dict[str, Any]:
    """The Stage's new status (a copy); see the module's docstring."""
    new = dict(status)
    gen = generation
    conds: dict[str, dict[str, Any]] = {}
    has_freight = bool(current_freight(status))
    last = new.get("lastPromotion") or {}
    last_phase = str((last.get("status") or {}).get("phase") or "")
    if running is not None:
        conds["Promoting"] = _cond(
            "Promoting",
            "True",
            "ActivePromotion",
            f"Promotion {running.name!r} is currently {running.phase}",
            gen,
        )
        new["currentPromotion"] = {
            "name": running.name,
            **({"freight": running.freight} if running.freight else {}),
        }
        conds["Healthy"] = _cond(
            "Healthy", "Unknown", "ActivePromotion", "Stage has a Promotion in progress", gen
        )
        new["health"] = {
            "status": "Unknown",
            "issues": ["Cannot assess health because a Promotion is currently in progress"],
        }
    else:
        new.pop("currentPromotion", None)
        if not has_freight:
            conds["Healthy"] = _cond(
                "Healthy", "Unknown", "NoFreight", "Stage has no current Freight", gen
            )
            new.pop("health", None)
        elif last_phase and last_phase != "Succeeded":
            conds["Healthy"] = _cond(
                "Healthy",
                "Unknown",
                f"LastPromotion{last_phase}",
                "Cannot assess health because last Promotion did not succeed",
                gen,
            )
            new["health"] = {
                "status": "Unknown",
                "issues": ["Cannot assess health because last Promotion did not succeed"],
            }
        else:
            checks = list((last.get("status") or {}).get("healthChecks") or [])
            health = assess(checks, apps)
            new["health"] = health
            n = sum(len((c.get("config") or c).get("apps") or []) for c in checks)
            if health["status"] == "Healthy":
                conds["Healthy"] = _cond(
                    "Healthy",
                    "True",
                    "Healthy",
                    f"Stage is healthy (performed {n} health checks)",
                    gen,
                )
            elif health["status"] == "Unhealthy":
                conds["Healthy"] = _cond(
                    "Healthy",
                    "False",
                    "Unhealthy",
                    f"Stage is unhealthy ({len(health.get('issues') or [])} issues in {n} "
                    "health checks)",
                    gen,
                )
            else:
                conds["Healthy"] = _cond(
                    "Healthy",
                    "Unknown",
                    health["status"],
                    "; ".join(health.get("issues") or []),
                    gen,
                )
    old = {c.get("type"): c for c in status.get("conditions") or [] if isinstance(c, dict)}
    if not has_freight:
        conds["Verified"] = _cond(
            "Verified", "Unknown", "NoFreight", "Stage has no current Freight to verify", gen
        )
    elif running is not None and "Verified" in old:
        conds["Verified"] = {k: v for k, v in old["Verified"].items() if k != "lastTransitionTime"}
    else:
        conds["Verified"] = _verified(status, verified_here, gen)
    conds["Ready"] = _ready(
        conds, last_phase, str((last.get("status") or {}).get("message") or ""), gen
    )
    out = []
    for ctype in ("Ready", "Promoting", "Healthy", "Verified"):
        c = conds.get(ctype)
        if c is None:
            continue
        prev = old.get(ctype) or {}
        moved = prev.get("status") != c["status"] or not prev.get("lastTransitionTime")
        out.append({**c, "lastTransitionTime": now if moved else prev["lastTransitionTime"]})
    keep = [c for t, c in old.items() if t not in ("Ready", "Promoting", "Healthy", "Verified")]
    new["conditions"] = out + keep
    new["freightSummary"] = freight_summary(requested, status)
    if conds["Ready"]["status"] == "True":
        new["observedGeneration"] = gen
    return new


def _ready(
    conds: dict[str, dict[str, Any]], last_phase: str, last_message: str, gen: int
) -> dict[str, Any]:
    if "Promoting" in conds:
        p = conds["Promoting"]
        return _cond("Ready", "False", p["reason"], p["message"], gen)
    if last_phase and last_phase != "Succeeded":
        return _cond("Ready", "False", f"LastPromotion{last_phase}", last_message, gen)
    healthy = conds["Healthy"]
    if healthy["status"] != "True":
        return _cond("Ready", "False", healthy["reason"], healthy["message"], gen)
    verified = conds["Verified"]
    if verified["status"] != "True":
        return _cond("Ready", "False", verified["reason"], verified["message"], gen)
    return _cond("Ready", "True", verified["reason"], verified["message"], gen)
