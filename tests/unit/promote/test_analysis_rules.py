"""Argo Rollouts' analysis rules (shipway.promote.analysis) on plain data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shipway.model.rollouts import Metric
from shipway.promote import analysis as an

T0 = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)


def metric(**kw: Any) -> Metric:
    base: dict[str, Any] = {"name": "m", "provider": {"web": {"url": "http://x/"}}}
    return Metric.model_validate({**base, **kw})


def feed(m: Metric, phases: list[str]) -> dict[str, Any]:
    res = an.new_result(m.name)
    for i, phase in enumerate(phases):
        at = T0 + dt.timedelta(seconds=i)
        an.record(res, an.measurement(phase, at, at))
    return res


@pytest.mark.parametrize(("succ", "fail", "value", "want"), [
    ("", "", 0, "Successful"),
    ("result > 1", "", 2, "Successful"),
    ("result > 1", "", 1, "Failed"),
    ("", "result > 1", 2, "Failed"),
    ("", "result > 1", 1, "Successful"),
    ("result > 5", "result < 2", 3, "Inconclusive"),
    ("result > 5", "result < 2", 1, "Failed"),
    ("result > 5", "result < 2", 6, "Successful"),
    ("result[0] >= 0.9", "", [0.95], "Successful"),
    ("result.ok == true", "", {"ok": True}, "Successful"),
    ("asInt(result) == 3", "", "3", "Successful"),
    ("isNil(result)", "", None, "Successful"),
    ("result", "", "text", "Error"),  # not a boolean
    ("result[3] > 0", "", [1.0], "Error"),  # index out of range
])  # fmt: skip
def test_evaluate_follows_argo_rules(succ: str, fail: str, value: Any, want: str) -> None:
    m = metric(successCondition=succ, failureCondition=fail)
    assert an.evaluate(m, value)[0] == want


def test_default_limits_fail_on_first_failure_and_error_after_five() -> None:
    m = metric(interval="1s", count=5)
    assert an.metric_phase(m, feed(m, ["Successful", "Failed"]))[0] == "Failed"
    msg = an.metric_phase(m, feed(m, ["Failed"]))[1]
    assert msg == 'Metric "m" assessed Failed due to failed (1) > failureLimit (0)'
    assert an.metric_phase(m, feed(m, ["Error"] * 4))[0] == "Running"
    assert an.metric_phase(m, feed(m, ["Error"] * 5))[0] == "Error"
    assert an.metric_phase(m, feed(m, ["Error"] * 4 + ["Successful"] + ["Error"] * 4))[0] == (
        "Running"
    )


def test_failure_and_inconclusive_limits_and_count() -> None:
    m = metric(interval="1s", count=4, failureLimit=1, inconclusiveLimit=1)
    assert an.metric_phase(m, feed(m, ["Failed", "Successful"]))[0] == "Running"
    assert an.metric_phase(m, feed(m, ["Failed", "Failed"]))[0] == "Failed"
    assert an.metric_phase(m, feed(m, ["Inconclusive", "Inconclusive"]))[0] == "Inconclusive"
    assert (
        an.metric_phase(m, feed(m, ["Successful", "Failed", "Inconclusive", "Successful"]))[0]
        == "Successful"
    )
    # errors do not count toward count
    res = feed(m, ["Successful", "Error", "Successful", "Successful"])
    assert res["count"] == 3 and an.metric_phase(m, res)[0] == "Running"


def test_one_measurement_without_count_or_interval() -> None:
    m = metric()
    assert m.effective_count == 1
    assert an.metric_phase(m, feed(m, ["Successful"]))[0] == "Successful"
    unbounded = metric(interval="5s")
    assert an.metric_phase(unbounded, feed(unbounded, ["Successful"] * 50))[0] == "Running"


def test_due_initial_delay_interval_and_error_retry() -> None:
    m = metric(interval="30s", count=3, initialDelay="1m")
    res = an.new_result("m")
    assert an.due(m, res, T0) == T0 + dt.timedelta(minutes=1)
    an.record(res, an.measurement("Successful", T0, T0 + dt.timedelta(seconds=2)))
    assert an.due(m, res, T0) == T0 + dt.timedelta(seconds=32)
    plain = metric(consecutiveErrorLimit=2)
    res = feed(plain, ["Error"])
    assert an.due(plain, res, T0) == T0 + dt.timedelta(seconds=an.ERROR_RETRY)
    done = feed(plain, ["Successful"])
    assert an.due(plain, done, T0) is None


def test_run_phase_worst_wins_and_dry_run_ignored() -> None:
    a, b = metric(name="a"), metric(name="b", interval="1s", count=3)
    results = {"a": feed(a, ["Successful"]), "b": feed(b, ["Successful"])}
    assert an.run_phase([a, b], results, set()) == ("Running", "")
    results["b"] = feed(b, ["Failed"])
    results["b"]["name"] = "b"
    phase, message = an.run_phase([a, b], results, set())
    assert phase == "Failed" and 'Metric "b"' in message
    assert an.run_phase([a, b], results, {"b"})[0] == "Successful"


def test_build_run_merges_templates_and_stage_args() -> None:
    t1 = {
        "args": [{"name": "url"}, {"name": "n", "value": "2"}],
        "metrics": [
            {
                "name": "health",
                "interval": "1s",
                "count": "{{args.n}}",
                "provider": {"web": {"url": "{{ args.url }}/healthz"}},
            }
        ],
    }
    t2 = {"metrics": [{"name": "p", "provider": {"prometheus": {
        "address": "http://prom", "query": "up{job='{{args.job}}'}"}}}],
          "args": [{"name": "job", "value": "web"}]}  # fmt: skip
    spec = an.build_run([t1, t2], [{"name": "url", "value": "http://svc"}])
    assert spec["metrics"][0]["provider"]["web"]["url"] == "http://svc/healthz"
    assert spec["metrics"][0]["count"] == 2
    assert spec["metrics"][1]["provider"]["prometheus"]["query"] == "up{job='web'}"
    with pytest.raises(an.AnalysisError, match="argument 'url' has no value"):
        an.build_run([t1], [])
    with pytest.raises(an.AnalysisError, match="two templates define metric health"):
        an.build_run([t1, t1], [{"name": "url", "value": "x"}])
    secret = {"name": "s", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}
    t3 = {
        "args": [secret],
        "metrics": [
            {
                "name": "w",
                "provider": {
                    "web": {
                        "url": "http://x",
                        "headers": [{"key": "Authorization", "value": "{{args.s}}"}],
                    }
                },
            }
        ],
    }
    spec = an.build_run([t3], [], secret=lambda n, k: "tok" if (n, k) == ("creds", "token")
                        else None)  # fmt: skip
    assert spec["metrics"][0]["provider"]["web"]["headers"][0]["value"] == "tok"
    assert spec["args"] == [{"name": "s", "value": "***"}]


def test_retention_keeps_the_newest() -> None:
    res = an.new_result("m")
    for i in range(15):
        at = T0 + dt.timedelta(seconds=i)
        an.record(res, an.measurement("Successful", at, at, value=str(i)), keep=3)
    assert [x["value"] for x in res["measurements"]] == ["12", "13", "14"]
    assert res["count"] == 15
