"""How the Kubernetes executor reads Pod status and exec results (no cluster needed)."""

from __future__ import annotations

from typing import Any

import pytest

from shipway.ci.exec.kubernetes import dns_name, env_script
from shipway.cluster.kube_pods import _exit_status, _lines, _progress
from shipway.model.errors import CIError


def _pod(phase: str, *states: dict[str, Any], conditions: Any = None) -> dict[str, Any]:
    names = [f"c{i}" for i in range(len(states))]
    return {
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"containers": [{"name": n} for n in names]},
        "status": {"phase": phase, "conditions": conditions or [],
                   "containerStatuses": [{"name": n, "image": "img:1", "state": s}
                                         for n, s in zip(names, states, strict=True)]},
    }  # fmt: skip


def test_running_when_every_container_runs() -> None:
    assert _progress(_pod("Running", {"running": {}}, {"running": {}})) == (True, "")
    done, why = _progress(_pod("Pending", {"running": {}},
                               {"waiting": {"reason": "ContainerCreating"}}))  # fmt: skip
    assert not done and "c1: ContainerCreating" in why


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "ErrImagePull", "InvalidImageName"])
def test_pull_errors_fail_at_once_naming_the_pod(reason: str) -> None:
    with pytest.raises(CIError) as err:
        _progress(_pod("Pending", {"waiting": {"reason": reason, "message": "no such image"}}))
    assert err.value.subject == "Pod/ns/p"
    assert reason in err.value.message and "img:1" in err.value.message


def test_unschedulable_is_what_the_wait_reports() -> None:
    cond = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": "0/3 nodes are available: 3 Insufficient cpu."}]  # fmt: skip
    done, why = _progress(_pod("Pending", conditions=cond))
    assert not done and why == "Unschedulable: 0/3 nodes are available: 3 Insufficient cpu."


def test_a_container_that_exits_before_the_job_fails_it() -> None:
    with pytest.raises(CIError) as err:
        _progress(_pod("Running", {"running": {}}, {"terminated": {"exitCode": 1}}))
    assert "c1 exited with code 1" in err.value.message


def test_exit_status_from_the_status_channel() -> None:
    assert _exit_status(b'{"status": "Success"}', "s") == 0
    failure = (b'{"status": "Failure", "reason": "NonZeroExitCode", "details": '
               b'{"causes": [{"reason": "ExitCode", "message": "42"}]}}')  # fmt: skip
    assert _exit_status(failure, "s") == 42
    with pytest.raises(CIError, match="no such container"):
        _exit_status(b'{"status": "Failure", "message": "no such container"}', "s")
    with pytest.raises(CIError, match="no status"):
        _exit_status(b"", "s")


def test_lines_keep_partial_lines_for_later() -> None:
    seen: list[str] = []
    rest = _lines(b"one\r\ntwo\nthr", seen.append)
    assert seen == ["one", "two"] and rest == b"thr"


def test_env_script_quotes_and_skips_names_sh_cannot_hold() -> None:
    script = env_script({"A": "it's $HOME\nnext", "INPUT_MY-INPUT": "x", "_B1": ""})
    assert script == "export A='it'\"'\"'s $HOME\nnext'\nexport _B1=''\n"


def test_dns_names() -> None:
    assert dns_name("shipway-r1-build-0") == "shipway-r1-build-0"
    long = dns_name("shipway-" + "x" * 80 + "-Job_1")
    assert len(long) <= 63 and long.startswith("shipway-xxx")
    assert dns_name("svc-My_DB") != dns_name("svc-my-db")
