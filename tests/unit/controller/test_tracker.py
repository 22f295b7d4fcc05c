"""The release tracker links facts that arrive in any order onto one release."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from shipway.controller.tracker import ReleaseTracker
from shipway.model.release import Release
from shipway.settings import Settings
from shipway.store import releases
from shipway.store.db import Store, open_store

IMAGE = "127.0.0.1:5000/demo/hello@sha256:" + "1" * 64
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def t(s: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(Settings(home=tmp_path, database_url=""))


def updated(tr: ReleaseTracker, commit: str | None, config: str | None, at: float = 1,
            image: str = IMAGE) -> Release:  # fmt: skip
    """The updater pushed ``image`` (built from ``commit``) as ``config`` at ``at`` (1 s)."""
    return tr.image_updated("hello-dev", commit, image, config, pushed_at=t(at),
                            update_started=t(at), update_finished=t(at + 1))  # fmt: skip


def deployed(tr: ReleaseTracker, config: str, health: str | None = None, at: float = 4) -> None:
    """``config`` synced (2 s to 3 s), and with ``health`` judged so at ``at``."""
    more = {} if health is None else {"health": health, "health_finished": t(at)}
    tr.deployed("hello-dev", config, sync_started=t(2), sync_finished=t(3), sync_ok=True, **more)


def test_in_order_facts_complete_the_release(store: Store) -> None:
    tr = ReleaseTracker(store)
    (rel,) = tr.ci_started("c1", "git://h/app.git", ["hello-dev"])
    tr.ci_finished("c1", {"id": "run1", "conclusion": "success"})
    updated(tr, "c1", "cfg1")
    deployed(tr, "cfg1")
    assert releases.get(store, rel.id).status == "Running"
    deployed(tr, "cfg1", "Healthy")
    got = releases.get(store, rel.id)
    assert got.status == "Succeeded"
    assert (got.ci_run, got.image, got.config_commit, got.revision) == (
        "run1",
        IMAGE,
        "cfg1",
        "cfg1",
    )
    assert [s.status for s in got.stages] == ["Succeeded"] * 5


def test_deploy_heard_before_the_updater_returned(store: Store) -> None:
    tr = ReleaseTracker(store)
    (rel,) = tr.ci_started("c2", "git://h/app.git", ["hello-dev"])
    deployed(tr, "cfg2", "Healthy")
    updated(tr, "c2", "cfg2")
    tr.ci_finished("c2", {"id": "run2", "conclusion": "success"})
    got = releases.get(store, rel.id)
    assert got.status == "Succeeded", got.to_dict()


def test_unhealthy_fails_the_health_stage(store: Store) -> None:
    tr = ReleaseTracker(store)
    (rel,) = tr.ci_started("c3", "git://h/app.git", ["hello-dev"])
    tr.ci_finished("c3", {"id": "run3", "conclusion": "success"})
    updated(tr, "c3", "cfg3")
    deployed(tr, "cfg3", "Degraded", at=9)
    got = releases.get(store, rel.id)
    assert got.status == "Failed"
    assert got.failed_stage == "health"


def test_failed_ci_fails_the_release(store: Store) -> None:
    tr = ReleaseTracker(store)
    (rel,) = tr.ci_started("c4", "git://h/app.git", ["hello-dev"])
    tr.ci_finished("c4", {"id": "run4", "conclusion": "failure"})
    got = releases.get(store, rel.id)
    assert got.failed_stage == "ci"
    assert "run4" in got.message


def test_image_pushed_by_hand_makes_its_own_release(store: Store) -> None:
    tr = ReleaseTracker(store)
    rel = updated(tr, None, "cfg5")
    assert rel.stage("ci").status == "Skipped"
    assert releases.get(store, rel.id).image == IMAGE


def _freight(store: Store, name: str, digest: str) -> None:
    from shipway.model.resources import Resource
    from shipway.store import resources as store_resources

    repo, _, _ = IMAGE.partition("@")
    body = {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Freight",
            "metadata": {"name": name, "namespace": "shop"}, "alias": f"{name}-alias",
            "origin": {"kind": "Warehouse", "name": "web"},
            "images": [{"repoURL": repo, "tag": "c1", "digest": digest}]}  # fmt: skip
    store_resources.apply(store, [Resource(api_version=body["apiVersion"], kind="Freight",
                                           name=name, namespace="shop", body=body)])  # fmt: skip


def test_the_freight_of_the_image_is_linked_whichever_comes_first(store: Store) -> None:
    tr = ReleaseTracker(store)
    link = {"project": "shop", "name": "f1", "alias": "f1-alias", "warehouse": "web"}
    _freight(store, "f0", "sha256:" + "0" * 64)  # another image's Freight
    _freight(store, "f1", IMAGE.partition("@")[2])  # the Freight first, then the updater
    (early,) = tr.ci_started("c1", "git://h/app.git", ["hello-dev"])
    updated(tr, "c1", "cfg1")
    assert releases.get(store, early.id).freight == link

    other = IMAGE.replace("1" * 64, "2" * 64)
    (late,) = tr.ci_started("c2", "git://h/app.git", ["hello-dev"])
    updated(tr, "c2", "cfg2", at=3, image=other)
    assert releases.get(store, late.id).freight == {}
    _freight(store, "f2", other.partition("@")[2])  # a Warehouse poll made it later
    tr.freight_created("shop", "f2")
    assert releases.get(store, late.id).freight["name"] == "f2"
    assert releases.get(store, early.id).freight == link  # untouched
    tr.freight_created("shop", "gone")  # deleted since: nothing to link


def test_the_same_image_heard_again_keeps_the_release_progress(store: Store) -> None:
    """A later registry event of the image's repository (its SBOM pushed as a tag) runs the
    updater again, which finds the config current: the release keeps its config commit and
    still completes when the sync of that commit is reported."""
    tr = ReleaseTracker(store)
    (rel,) = tr.ci_started("c9", "git://h/app.git", ["hello-dev"])
    tr.ci_finished("c9", {"id": "run9", "conclusion": "success"})
    updated(tr, "c9", "cfg9")
    updated(tr, "c9", None, at=3)
    mid = releases.get(store, rel.id)
    assert (mid.config_commit, mid.stage("update").message) == ("cfg9", "")
    deployed(tr, "cfg9", "Healthy", at=5)
    got = releases.get(store, rel.id)
    assert got.status == "Succeeded", got.to_dict()


def test_the_commit_time_reaches_every_release_of_the_commit(store: Store) -> None:
    """The commit's time (read in CI's checkout) is on its releases, and on a later app's
    release of that commit (a promotion's), so lead time runs from the commit everywhere."""
    tr = ReleaseTracker(store)
    (dev,) = tr.ci_started("c1", "git://h/app.git", ["hello-dev"])
    made = T0 - dt.timedelta(hours=3)
    tr.commit_made("c1", made)
    tr.commit_made("c1", T0)  # a second reading does not move it
    assert releases.get(store, dev.id).commit_time == made
    prod = tr.image_updated("hello-prod", "c1", IMAGE, "cfg9", pushed_at=t(1),
                            update_started=t(1), update_finished=t(2))  # fmt: skip
    assert prod.id != dev.id and releases.get(store, prod.id).commit_time == made
    other = tr.image_updated("hello-prod", "c2", IMAGE, "cfg10", pushed_at=t(1),
                             update_started=t(1), update_finished=t(2))  # fmt: skip
    assert other.commit_time is None  # nothing knows c2's time: DORA uses the creation
