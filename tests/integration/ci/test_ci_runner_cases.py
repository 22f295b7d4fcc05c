"""The runner cases of ``runner_cases.yml``, each on the host and on the podman executor.

Written for shipway from GitHub's documentation and act's runner behaviour
(composite and nested composite actions, env and path files, outputs, status
functions, matrices, reusable workflows, workflow commands); the podman
executor runs them in the busybox runner image it builds itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

Runner = Callable[..., tuple[dict[str, Any], list[str]]]
CASES: list[dict[str, Any]] = yaml.safe_load(
    Path(__file__).with_name("runner_cases.yml").read_text()
)
pytestmark = pytest.mark.integration


def test_there_are_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30 and len({c["name"] for c in CASES}) == len(CASES)


def _outputs(lines: list[str]) -> list[str]:
    """What steps printed: each log line after its ``[job / step] `` prefix."""
    return [line.split("] ", 1)[1] for line in lines if "] " in line]


@pytest.mark.parametrize("executor", ["host", "podman"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_runner_case(case: dict[str, Any], executor: str, run_wf: Runner,
                     podman: dict[str, str]) -> None:  # fmt: skip
    extra: dict[str, Any] = {}
    if executor == "podman":  # a run id of its own: podman networks are named after it
        extra = {"executor": "podman", "podman_env": podman, "run_id": uuid.uuid4().hex[:12]}
    record, lines = run_wf(case["workflow"], case.get("files") or {}, **extra)
    text = "\n".join(lines)
    assert record["conclusion"] == case.get("conclusion", "success"), text
    by_name = {j["name"]: j for j in record["jobs"]}
    for name, result in (case.get("results") or {}).items():
        assert name in by_name, f"no job record {name!r} in {sorted(by_name)}\n{text}"
        assert by_name[name]["result"] == result, (name, text)
    for name, matrix in (case.get("matrix") or {}).items():
        got = by_name[name]["matrix"]
        assert got == matrix and all(type(got[k]) is type(v) for k, v in matrix.items()), {
            k: type(v) for k, v in got.items()
        }
    by_id = {j["id"]: j for j in record["jobs"]}
    for jid, want in (case.get("record") or {}).items():
        for key, value in want.items():
            assert by_id[jid].get(key) == value, (jid, key, by_id[jid])
    printed = _outputs(lines)
    for expected in case.get("output") or []:
        assert any(p.startswith(expected) for p in printed), f"{expected!r} not printed:\n{text}"
    for missing in case.get("absent") or []:
        assert missing not in text, f"{missing!r} in the log:\n{text}"
