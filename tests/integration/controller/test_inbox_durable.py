"""No lost and no doubled work: a real controller killed, flooded, and left deaf to pushes."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from controller_proc import AppRepo, ControllerProc

from shipway.controller import catchup
from shipway.store import inbox

pytestmark = pytest.mark.integration

SLOW_WORKFLOW = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo started >> {marks}; sleep 3; echo "built $GITHUB_SHA"
"""


def test_a_push_accepted_before_a_sigkill_runs_once_after_the_restart(
    controller: ControllerProc, app_repo: AppRepo
) -> None:
    ctl = controller.start(SHIPWAY_CONTROLLER_WORKERS="0")  # accepts, takes nothing
    sha = app_repo.commit("v1")
    assert ctl.git_hook(app_repo.url, [app_repo.update(sha)]).status_code == 202
    for _ in range(2):  # told three times: still one push
        assert ctl.git_hook(app_repo.url, [app_repo.update(sha)]).status_code == 200
    # the same sha pushed with another 'before' is another event, but the same CI work
    assert ctl.git_hook(app_repo.url, [app_repo.update(sha, "1" * 40)]).status_code == 202
    assert inbox.counts(ctl.store) == {"pending": 2}
    ctl.kill()

    ctl.start()
    (run,) = ctl.wait_runs(sha, 1)
    ctl.wait_idle()
    assert run["conclusion"] == "success"
    assert len(ctl.runs_of(sha)) == 1
    (release,) = ctl.releases_of(sha)
    assert release.stage("ci").status == "Succeeded"


def test_a_run_killed_midway_is_finished_by_the_restart_not_run_again(
    controller: ControllerProc, app_repo: AppRepo, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    (app_repo.work.path / ".github/workflows/ci.yml").write_text(SLOW_WORKFLOW.format(marks=marks))
    sha = app_repo.commit("slow")
    ctl = controller.start()
    assert ctl.git_hook(app_repo.url, [app_repo.update(sha)]).status_code == 202
    deadline = time.monotonic() + 60
    while not marks.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marks.exists(), ctl.log()
    ctl.kill()  # the step is running: accepted, taken, started, not finished

    ctl.start()
    (run,) = ctl.wait_runs(sha, 1)
    ctl.wait_idle()
    assert run["conclusion"] == "success", run
    assert len(ctl.runs_of(sha)) == 1
    assert len(ctl.releases_of(sha)) == 1
    assert ctl.releases_of(sha)[0].stage("ci").status == "Succeeded"


def test_500_concurrent_webhooks_with_replays_and_duplicates_make_one_run_and_one_release(
    controller: ControllerProc, app_repo: AppRepo
) -> None:
    old = app_repo.work.run("rev-parse", "HEAD").strip()
    tip = app_repo.commit("v1")
    ctl = controller.start()
    forge_body = json.dumps(
        {
            "ref": "refs/heads/main",
            "before": old,
            "after": tip,
            "repository": {"clone_url": app_repo.url},
        }
    ).encode()
    sig = "sha256=" + hmac.new(ctl.tokens.forge().encode(), forge_body, hashlib.sha256).hexdigest()
    jobs: list[tuple[str, str]] = (
        [("git", "")] * 200  # the same push, told 200 times
        + [("git", f"{n:040x}") for n in range(50)]  # the same sha, 50 other 'before's
        + [("forge", f"delivery-{n % 30}") for n in range(150)]  # 30 deliveries, each 5 times
        + [("stale", "")] * 50  # an old sha: not the tip
        + [("anonymous", "")] * 50  # no token
    )
    random.Random(7).shuffle(jobs)

    def send(job: tuple[str, str], client: httpx.Client) -> int:
        kind, delivery = job
        if kind == "forge":
            headers = {
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": sig,
            }
            url = f"{ctl.url}/hooks/forge"
            return client.post(url, content=forge_body, headers=headers).status_code
        sha = old if kind == "stale" else tip
        token = "" if kind == "anonymous" else None
        update = app_repo.update(sha, delivery or old)
        return ctl.git_hook(app_repo.url, [update], token, client).status_code

    limits = httpx.Limits(max_connections=50)
    with httpx.Client(limits=limits, timeout=60) as client, ThreadPoolExecutor(50) as pool:
        codes = Counter(pool.map(lambda j: send(j, client), jobs))
    # new events: one push told by the hook, 50 other moves to the same sha, one forge push
    assert codes == {202: 1 + 50 + 1, 200: 199 + 149, 409: 50, 401: 50}, codes

    ctl.wait_runs(tip, 1)
    ctl.wait_idle()
    assert len(ctl.runs_of(tip)) == 1
    assert len(ctl.releases_of(tip)) == 1
    assert ctl.runs_of(old) == []
    items = Counter((i["kind"], i["state"]) for i in inbox.items(ctl.store, limit=5000))
    assert items[("ci", "done")] == 1 and items[("git", "done")] == 51
    assert items[("forge", "done")] == 1


def test_pushes_made_while_nobody_listened_are_run_once(
    controller: ControllerProc, app_repo: AppRepo
) -> None:
    base = app_repo.work.run("rev-parse", "HEAD").strip()
    ctl = controller.start()
    deadline = time.monotonic() + 30
    while catchup.marked(ctl.store, "app", "main") != base and time.monotonic() < deadline:
        time.sleep(0.1)
    assert catchup.marked(ctl.store, "app", "main") == base  # first sight: marked, not run
    assert ctl.runs_of(base) == []
    ctl.stop()

    missed = app_repo.commit("while down")  # no hook tells anyone
    ctl.start()
    (run,) = ctl.wait_runs(missed, 1)
    assert run["conclusion"] == "success"
    ctl.stop()

    ctl.resync = 1.0  # now on every polling pass, with the controller up
    ctl.start()
    later = app_repo.commit("while up, hook lost")
    ctl.wait_runs(later, 1)
    time.sleep(2.5)  # two more passes find nothing new
    ctl.wait_idle()
    assert len(ctl.runs_of(missed)) == 1 and len(ctl.runs_of(later)) == 1
    assert len(ctl.releases_of(missed)) == 1 and len(ctl.releases_of(later)) == 1
    assert len(ctl.events("MissedPush")) == 2
