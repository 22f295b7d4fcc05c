"""Stage health, conditions and Freight summary as Kargo's stage controller writes them."""

from __future__ import annotations

from typing import Any

from shipway.promote import stage_health as sh

NOW = "2026-12-03T18:00:00Z"
APP = ("hello", "hello-test")


def _status(phase: str = "Succeeded", verif: list[dict[str, Any]] | None = None,
            rev: str = "abc123") -> dict[str, Any]:  # fmt: skip
    checks = [{"uses": "argocd-update", "config": {"apps": [
        {"name": "hello-test", "namespace": "hello", "desiredRevisions": [rev]}]}}]  # fmt: skip
    return {
        "freightHistory": [{"id": "p1", "items": {"Warehouse/w": {"name": "f1"}},
                            "verificationHistory": verif or []}],
        "lastPromotion": {"name": "p1", "status": {"phase": phase, "message": "step x failed",
                                                   "healthChecks": checks}},
    }  # fmt: skip


def _app(health: str = "Healthy", rev: str = "abc123") -> dict[str, Any]:
    return {"status": {"health": {"status": health}, "sync": {"status": "Synced", "revision": rev}}}


def _run(status: dict[str, Any], apps: Any = None, running: Any = None, verified: bool = False,
         requested: int = 1) -> dict[str, Any]:  # fmt: skip
    return sh.summarize(status, generation=3, requested=requested, running=running,
                        apps={APP: _app()} if apps is None else apps, verified_here=verified,
                        now=NOW)  # fmt: skip


def _cond(st: dict[str, Any], ctype: str) -> dict[str, Any]:
    return next(c for c in st["conditions"] if c["type"] == ctype)


def test_healthy_and_verified_is_ready_and_observes_the_generation() -> None:
    st = _run(_status(verif=[{"id": "r1", "phase": "Successful"}]))
    assert st["health"]["status"] == "Healthy"
    (out,) = st["health"]["output"]
    assert out["applicationStatuses"][0]["name"] == "hello-test"
    assert _cond(st, "Healthy")["reason"] == "Healthy"
    ready = _cond(st, "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "Verified")
    assert st["freightSummary"] == "f1" and st["observedGeneration"] == 3
    assert not any(c["type"] == "Promoting" for c in st["conditions"])


def test_waiting_for_verification_is_not_ready() -> None:
    st = _run(_status())
    assert _cond(st, "Verified")["reason"] == "WaitingForVerification"
    ready = _cond(st, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "WaitingForVerification")
    assert "observedGeneration" not in st


def test_a_stage_without_verification_is_verified_by_its_promotion() -> None:
    assert _cond(_run(_status(), verified=True), "Ready")["status"] == "True"


def test_degraded_app_and_wrong_revision_are_unhealthy() -> None:
    st = _run(_status(), apps={APP: _app("Degraded")})
    assert st["health"]["status"] == "Unhealthy"
    assert "has health state 'Degraded'" in st["health"]["issues"][0]
    assert _cond(st, "Ready")["reason"] == "Unhealthy"
    st = _run(_status(rev="def456"), apps={APP: _app(rev="abc123")})
    assert st["health"]["status"] == "Unhealthy"
    assert "not synced to the desired revision 'def456'" in st["health"]["issues"][0]


def test_progressing_and_missing_apps() -> None:
    st = _run(_status(), apps={APP: _app("Progressing")})
    assert st["health"]["status"] == "Progressing"
    assert _cond(st, "Healthy")["status"] == "Unknown"
    st = _run(_status(), apps={})
    assert st["health"]["status"] == "Unknown" and "not found" in st["health"]["issues"][0]


def test_failed_verification_and_inconclusive() -> None:
    st = _run(_status(verif=[{"id": "r2", "phase": "Failed", "message": "result false"}]))
    verified = _cond(st, "Verified")
    assert (verified["status"], verified["reason"]) == ("False", "VerificationFailed")
    assert _cond(st, "Ready")["message"] == "result false"
    st = _run(_status(verif=[{"id": "r3", "phase": "Inconclusive", "message": "m"}]))
    assert _cond(st, "Verified")["status"] == "Unknown"
    assert "waits for a person" in _cond(st, "Ready")["message"]


def test_a_running_promotion() -> None:
    st = _run(_status(), running=sh.Running("p2", "Running", {"name": "f2"}))
    promoting = _cond(st, "Promoting")
    assert (promoting["status"], promoting["reason"]) == ("True", "ActivePromotion")
    assert st["currentPromotion"] == {"name": "p2", "freight": {"name": "f2"}}
    assert _cond(st, "Ready")["reason"] == "ActivePromotion"
    assert st["health"]["status"] == "Unknown"
    after = _run(st)
    assert "currentPromotion" not in after
    assert not any(c["type"] == "Promoting" for c in after["conditions"])


def test_last_promotion_failed() -> None:
    st = _run(_status(phase="Failed"))
    ready = _cond(st, "Ready")
    assert (ready["reason"], ready["message"]) == ("LastPromotionFailed", "step x failed")
    assert _cond(st, "Healthy")["reason"] == "LastPromotionFailed"


def test_no_freight_and_summaries() -> None:
    st = _run({}, requested=2)
    assert st["freightSummary"] == "0/2 Fulfilled" and "health" not in st
    assert _cond(st, "Healthy")["reason"] == "NoFreight"
    two = {"freightHistory": [{"items": {"Warehouse/a": {"name": "x"}}}]}
    assert sh.freight_summary(2, two) == "1/2 Fulfilled"


def test_transition_time_moves_only_with_the_status() -> None:
    first = _run(_status())
    again = sh.summarize(first, generation=3, requested=1, running=None, apps={APP: _app()},
                         verified_here=False, now="2026-12-03T19:00:00Z")  # fmt: skip
    assert again == first
    moved = sh.summarize(first, generation=3, requested=1, running=None,
                         apps={APP: _app("Degraded")}, verified_here=False,
                         now="2026-12-03T19:00:00Z")  # fmt: skip
    assert _cond(moved, "Healthy")["lastTransitionTime"] == "2026-12-03T19:00:00Z"
    assert _cond(moved, "Verified")["lastTransitionTime"] == NOW
