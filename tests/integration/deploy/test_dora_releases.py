"""DORA from release records the controller's own writers made: the release tracker (fed as
the controller feeds it, the commit time read from a real git checkout), real syncs to a
cluster target, a real ``rollback``, then ``shipway metrics dora`` in another process."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_helpers import application, commit, write

from shipway import cluster
from shipway.cluster.memory import MemoryTarget
from shipway.controller.ci_runs import CiRuns
from shipway.controller.tracker import ReleaseTracker
from shipway.deploy import engine, history
from shipway.git.repo import Repo
from shipway.model import dora
from shipway.model.release import ROLLED_BACK, SUCCEEDED, now
from shipway.settings import Settings
from shipway.store import events, releases
from shipway.store import resources as store_resources
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration

SHIPWAY = str(Path(sys.executable).with_name("shipway"))
IMAGE = "127.0.0.1:5000/demo/web@sha256:"


@pytest.fixture
def memory() -> Iterator[MemoryTarget]:
    target = MemoryTarget("mem-dora")
    cluster.register("mem-dora", target)
    yield target
    cluster.register("mem-dora", None)


def _source_commit(src: Repo, hours_ago: float, n: int) -> str:
    """A source commit whose committer date is ``hours_ago`` hours back."""
    when = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)).isoformat()
    (src.path / "app.txt").write_text(f"v{n}\n")
    src.run("add", "-A")
    env = {**os.environ, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "-m",
                    f"v{n}"], cwd=src.path, env=env, check=True)  # fmt: skip
    return src.run("rev-parse", "HEAD").strip()


def _release(store: Store, tracker: ReleaseTracker, src: Repo, sha: str, config: str,
             n: int) -> None:  # fmt: skip
    """What the controller tells the tracker for one push, from CI to healthy."""
    tracker.ci_started(sha, str(src.path), ["web"])
    timer = CiRuns._commit_timer(tracker, sha)  # the controller's reader, on a real checkout
    assert timer is not None
    timer(src.path)
    tracker.ci_finished(sha, {"id": f"run{n}", "conclusion": "success"})
    t = now()
    tracker.image_updated("web", sha, IMAGE + str(n) * 64, config, pushed_at=t,
                          update_started=t, update_finished=t)  # fmt: skip
    res = engine.reconcile(store, "web")
    assert res.phase == "Succeeded" and res.revision == config
    done = now()
    tracker.deployed("web", config, sync_started=t, sync_finished=done, sync_ok=True,
                     health="Healthy", health_finished=done)  # fmt: skip


def test_dora_of_releases_the_pipeline_wrote_and_a_rollback(
    shipway_home: Path, config_repo: tuple[str, Repo], memory: MemoryTarget, tmp_path: Path
) -> None:
    url, work = config_repo
    store = open_store(Settings(home=shipway_home))
    app = application(url, "web", "app")
    app.body["spec"]["destination"] = {"name": "mem-dora", "namespace": "default"}
    store_resources.apply(store, [app])
    src = Repo.init(tmp_path / "source")
    tracker = ReleaseTracker(store)

    write(work.path, "app/cm.yaml", {"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "web"}, "data": {"v": "1"}})  # fmt: skip
    s1 = _source_commit(src, 2, 1)
    _release(store, tracker, src, s1, commit(work, "v1"), 1)
    write(work.path, "app/cm.yaml", {"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "web"}, "data": {"v": "2"}})  # fmt: skip
    s2 = _source_commit(src, 1, 2)
    _release(store, tracker, src, s2, commit(work, "v2"), 2)
    (first,) = releases.for_commit(store, s1)
    (second,) = releases.for_commit(store, s2)
    assert first.status == second.status == SUCCEEDED
    made = src.run("show", "-s", "--format=%cI", s1).strip()
    assert first.commit_time == dt.datetime.fromisoformat(made)  # read from git

    back = history.rollback(store, "web")
    assert back.phase == "Succeeded"
    second = releases.get(store, second.id)
    assert second.status == ROLLED_BACK and second.rolled_back is not None
    assert releases.get(store, first.id).status == SUCCEEDED  # the one rolled back to
    (rolled,) = [e for e in events.query(store, kind="Application") if e.reason == "RolledBack"]
    assert rolled.release_id == second.id

    out = subprocess.run([SHIPWAY, "metrics", "dora", "--app", "web", "-o", "json"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert (d["releases"], d["deployments"], d["failures"]) == (2, 2, 1)
    assert d["changeFailureRate"] == 0.5
    live = [dora.live_at(r) for r in (first, second)]
    assert None not in live
    leads = sorted((t - r.commit_time).total_seconds() for t, r in zip(live, (first, second),
                   strict=True) if t and r.commit_time)  # fmt: skip
    assert leads[0] > 3500 and leads[1] > 7100  # from the commits, not from CI's start
    assert d["leadTimeSeconds"]["median"] == pytest.approx(sum(leads) / 2)
    went = live[1]
    assert went is not None
    restore = (second.rolled_back - went).total_seconds()
    assert d["timeToRestoreSeconds"] == {"median": pytest.approx(restore), "restored": 1,
                                         "unrestored": 0}  # fmt: skip
    store.close()
