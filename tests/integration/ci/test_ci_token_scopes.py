"""Token scopes through the engine and native actions; environments' wait timer; groups.

Reusable workflows only lower the caller's scopes; shipway records each job's
scopes with the token's hash; native docker actions check them when the
GITHUB_TOKEN logs in to ghcr.io (aliased to the real local registry); a wait
timer delays a job; job-level ``concurrency`` goes through the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from shipway.ci.plan.environments import parse_all
from shipway.store import ci_coord
from shipway.store.db import Store

Runner = Callable[..., tuple[dict[str, Any], list[str]]]

CALLER = """\
on: push
permissions: {contents: write, packages: write}
jobs:
  call:
    permissions: {contents: read, packages: write}
    uses: ./.github/workflows/called.yml
  plain:
    runs-on: x
    steps: [{run: "true"}]
"""

CALLED = """\
on: workflow_call
jobs:
  inherits:
    runs-on: x
    steps: [{run: "true"}]
  asks-more:
    runs-on: x
    permissions: write-all
    steps: [{run: "true"}]
"""


def test_called_workflow_keeps_or_lowers_and_tokens_are_recorded(
    run_wf: Runner, store: Store
) -> None:
    token = "tok-1234567890"
    rec, lines = run_wf(CALLER, {".github/workflows/called.yml": CALLED},
                        secrets={"GITHUB_TOKEN": token})  # fmt: skip
    assert rec["conclusion"] == "success", lines
    jobs = {j["id"]: j for j in rec["jobs"]}
    assert jobs["call/inherits"]["permissions"]["contents"] == "read"
    assert jobs["call/inherits"]["permissions"]["packages"] == "write"
    assert jobs["call/inherits"]["caller"] == "call" and jobs["call"]["result"] == "success"
    asks = jobs["call/asks-more"]["permissions"]
    assert asks["contents"] == "read" and asks["issues"] == "none"  # capped by the caller
    assert jobs["plain"]["permissions"]["contents"] == "write"  # the workflow's own
    issued = {t["job"]: t for t in ci_coord.tokens(store, rec["id"])}
    assert issued["plain-0"]["permissions"] == jobs["plain"]["permissions"]
    assert issued["call-inherits-0"]["permissions"]["contents"] == "read"
    assert {t["state"] for t in issued.values()} == {"expired"}  # every job has ended
    assert ci_coord.token_scopes(store, token, "plain-0") is None
    assert ci_coord.token_scopes(store, token) is None
    assert ci_coord.token_scopes(store, "another-token") is None
    assert (ci_coord.token_info(store, token) or {})["state"] == "expired"
    assert any(
        ln.startswith("[call / asks-more] GITHUB_TOKEN Permissions: Contents: read") for ln in lines
    )


def test_wait_timer_delays_then_runs(run_wf: Runner) -> None:
    envs = parse_all({"slow": {"waitTimer": 0.005}})
    rec, lines = run_wf(
        "on: push\njobs:\n  d:\n    runs-on: x\n    environment: slow\n"
        "    steps: [{run: echo deployed}]\n",
        environments=envs,
    )
    assert rec["conclusion"] == "success"
    waited = next(i for i, line in enumerate(lines) if "Waiting for 0.005 minute(s)" in line)
    ran = next(i for i, line in enumerate(lines) if line.endswith("deployed"))
    assert waited < ran
    assert rec["jobs"][0]["environment"] == {"name": "slow", "url": ""}


def test_job_level_group_in_one_run_through_the_store(run_wf: Runner) -> None:
    rec, lines = run_wf(
        """\
        on: push
        jobs:
          a:
            runs-on: x
            concurrency: one
            steps: [{run: echo a-start; sleep 0.5; echo a-end}]
          b:
            runs-on: x
            concurrency: one
            steps: [{run: echo b-start; sleep 0.5; echo b-end}]
        """
    )
    assert rec["conclusion"] == "success"
    order = [line.split()[-1] for line in lines if line.split()[-1][1:] in ("-start", "-end")]
    assert order in (["a-start", "a-end", "b-start", "b-end"],
                     ["b-start", "b-end", "a-start", "a-end"])  # fmt: skip


PUSH = """\
on: push
jobs:
  {job}:
    runs-on: x
    permissions: {perms}
    steps:
      - uses: actions/checkout@v4
      - uses: docker/login-action@v3
        with:
          registry: ghcr.io
          username: ${{{{ github.actor }}}}
          password: ${{{{ secrets.GITHUB_TOKEN }}}}
      - uses: docker/build-push-action@v6
        with:
          context: .
          push: true
          tags: ghcr.io/demo/{job}:1
"""


def test_ghcr_login_and_push_with_the_token_need_packages_scopes(
    run_wf: Runner, registry: Any
) -> None:
    files = {"Dockerfile": "FROM scratch\nCOPY README /README\n"}
    extra = {"secrets": {"GITHUB_TOKEN": "ghs_token_42"},
             "env": {"SHIPWAY_REGISTRY_ALIASES": f"ghcr.io={registry.host}"}}  # fmt: skip
    rec, lines = run_wf(PUSH.format(job="none", perms="{contents: read}"), files, **extra)
    assert rec["conclusion"] == "failure"
    assert "docker/login-action: login to" in "\n".join(lines)
    assert "denied: permission_denied: read_package" in "\n".join(lines)
    assert "ghs_token_42" not in "\n".join(lines)

    rec, lines = run_wf(PUSH.format(job="reader", perms="{packages: read}"), files, **extra)
    text = "\n".join(lines)
    assert rec["conclusion"] == "failure"
    steps = [s["conclusion"] for s in rec["jobs"][0]["steps"]]
    assert steps[:3] == ["success", "success", "failure"]  # login allowed, push refused
    assert "denied: permission_denied: write_package" in text
    assert "packages: read; add 'permissions: packages: write'" in text

    rec, lines = run_wf(PUSH.format(job="writer", perms="{packages: write}"), files, **extra)
    assert rec["conclusion"] == "success", "\n".join(lines)
    tags = httpx.get(f"{registry.url}/v2/demo/writer/tags/list", timeout=10).json()["tags"]
    assert tags == ["1"]
    missing = httpx.get(f"{registry.url}/v2/demo/reader/tags/list", timeout=10)
    assert missing.status_code == 404


def test_a_password_that_is_not_the_token_is_not_checked(run_wf: Runner, registry: Any) -> None:
    rec, lines = run_wf(
        PUSH.format(job="other", perms="{}").replace("secrets.GITHUB_TOKEN", "secrets.PW"),
        {"Dockerfile": "FROM scratch\nCOPY README /README\n"},
        secrets={"GITHUB_TOKEN": "ghs_token_42", "PW": "pw"},
        env={"SHIPWAY_REGISTRY_ALIASES": f"ghcr.io={registry.host}"},
    )
    assert rec["conclusion"] == "success", "\n".join(lines)
