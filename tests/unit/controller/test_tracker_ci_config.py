"""A config commit a CI run pushed itself goes on that run's release, whatever the order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from shipway.controller.tracker import ReleaseTracker, built_images
from shipway.deploy.config_change import added_images
from shipway.model.release import Release
from shipway.settings import Settings
from shipway.store import releases
from shipway.store.db import Store, open_store

DIGEST = "sha256:" + "2" * 64
OTHER = "sha256:" + "3" * 64
REPO = "127.0.0.1:5000/acme/app"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def t(s: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(Settings(home=tmp_path, database_url=""))


def tekton_record(digest: str = DIGEST, ok: bool = True) -> dict[str, Any]:
    """A PipelineRun's record as the engine stores it: pipeline results, task outputs."""
    return {"id": "run1", "conclusion": "success" if ok else "failure",
            "results": {"image-digest": digest, "config-commit": "cfg1"},
            "jobs": [{"id": "build", "outputs": {"IMAGE_DIGEST": digest,
                                                 "IMAGE_URL": f"{REPO}:c1"}},
                     {"id": "update-config", "outputs": {"commit": "cfg1"}}]}  # fmt: skip


def deployed(tr: ReleaseTracker, health: str | None = None) -> None:
    more = {} if health is None else {"health": health, "health_finished": t(5)}
    tr.deployed("web-dev", "cfg1", sync_started=t(3), sync_finished=t(4), sync_ok=True, **more)


def check_linked(rel: Release) -> None:
    assert rel.status == "Succeeded"
    assert (rel.ci_run, rel.image, rel.config_commit, rel.revision) == (
        "run1", f"{REPO}@{DIGEST}", "cfg1", "cfg1")  # fmt: skip
    assert [s.status for s in rel.stages] == ["Succeeded"] * 5
    assert rel.stage("update").message == "config commit cfg1 made by CI run run1"
    assert rel.stage("update").finished == t(2)


def test_the_run_ends_before_its_config_commit_is_synced(store: Store) -> None:
    tr = ReleaseTracker(store)
    (rel,) = tr.ci_started("c1", "git://h/app.git", ["web-dev"])
    tr.ci_finished("c1", tekton_record())
    deployed(tr)
    linked = tr.config_committed("web-dev", "cfg1", t(2), {DIGEST: REPO})
    assert linked is not None and linked.id == rel.id
    deployed(tr, "Healthy")
    check_linked(releases.get(store, rel.id))
    assert len(releases.for_commit(store, "c1")) == 1


def test_the_config_commit_is_synced_before_the_run_ends(store: Store) -> None:
    tr = ReleaseTracker(store)
    (rel,) = tr.ci_started("c1", "git://h/app.git", ["web-dev"])
    deployed(tr, "Healthy")
    assert tr.config_committed("web-dev", "cfg1", t(2), {DIGEST: REPO}) is None
    assert releases.get(store, rel.id).config_commit is None
    tr.ci_finished("c1", tekton_record())
    check_linked(releases.get(store, rel.id))


def test_a_config_commit_of_another_digest_is_not_the_runs(store: Store) -> None:
    tr = ReleaseTracker(store)
    (rel,) = tr.ci_started("c1", "git://h/app.git", ["web-dev"])
    tr.ci_finished("c1", tekton_record())
    assert tr.config_committed("web-dev", "cfg1", t(2), {OTHER: REPO}) is None
    got = releases.get(store, rel.id)
    assert got.config_commit is None and got.stage("update").status == "Pending"


def test_a_failed_run_links_nothing(store: Store) -> None:
    tr = ReleaseTracker(store)
    (rel,) = tr.ci_started("c1", "git://h/app.git", ["web-dev"])
    tr.ci_finished("c1", tekton_record(ok=False))
    assert tr.config_committed("web-dev", "cfg1", t(2), {DIGEST: REPO}) is None
    assert releases.get(store, rel.id).status == "Failed"


def test_the_updaters_own_commit_is_left_to_the_updater(store: Store) -> None:
    tr = ReleaseTracker(store)
    (rel,) = tr.ci_started("c1", "git://h/app.git", ["web-dev"])
    tr.ci_finished("c1", tekton_record())
    tr.image_updated("web-dev", "c1", f"{REPO}@{DIGEST}", "cfg1", pushed_at=t(1),
                     update_started=t(1), update_finished=t(2))  # fmt: skip
    assert tr.config_committed("web-dev", "cfg1", t(2), {DIGEST: REPO}) is None
    assert releases.get(store, rel.id).stage("update").message == ""


def test_built_images_reads_results_and_outputs() -> None:
    assert built_images(tekton_record()) == {DIGEST: REPO}
    gha = {"jobs": [{"outputs": {"digest": DIGEST}}, {"outputs": {"note": "no digest"}}]}
    assert built_images(gha) == {DIGEST: ""}
    assert built_images({"results": {}, "jobs": []}) == {}


def test_added_images_reads_kustomize_and_pinned_references() -> None:
    patch = (
        "diff --git a/k.yaml b/k.yaml\n--- a/k.yaml\n+++ b/k.yaml\n@@ -3,3 +3,4 @@\n"
        f"-  newName: old\n+  newName: {REPO}\n+  digest: {DIGEST}\n"
        f"@@ -9 +10 @@\n-  image: x\n+  image: 127.0.0.1:5000/other@{OTHER}\n"
        f"@@ -20 +21 @@\n- digest: {'sha256:' + '4' * 64}\n"
    )
    assert added_images(patch) == {DIGEST: REPO, OTHER: "127.0.0.1:5000/other"}
    unchanged_name = (f"@@ -1,3 +1,3 @@\n - name: app\n   newName: {REPO}\n-  newTag: x\n"
                      f"+  digest: {DIGEST}\n")  # fmt: skip
    assert added_images(unchanged_name) == {DIGEST: REPO}
