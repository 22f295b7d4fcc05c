"""``repo.GetCommitMetadata`` in a template and a trigger, read from a repository the git
daemon serves (through the renderer's config mirror)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from notify_receivers import Receiver
from test_delivery import _cm

from shipway.git.repo import Repo
from shipway.model.resources import Resource
from shipway.notify import worker
from shipway.settings import Settings
from shipway.store import outbox, resources
from shipway.store.db import Store, open_store

ANN = "notifications.argoproj.io/subscribe."
TEMPLATE = """\
message: "{{(call .repo.GetCommitMetadata .app.status.sync.revision).Message}}"
webhook:
  hook:
    method: POST
    body: '{"author": "{{(call .repo.GetCommitMetadata .app.status.sync.revision).Author}}",
      "tags": "{{join "," (call .repo.GetCommitMetadata .app.status.sync.revision).Tags}}",
      "year": "{{(call .repo.GetCommitMetadata .app.status.sync.revision).Date.Year}}"}'
"""
TRIGGER = """\
- when: app.status.sync.status == 'Synced' and
    repo.GetCommitMetadata(app.status.sync.revision).Message contains 'release'
  oncePer: app.status.sync.revision
  send: [commit]
"""


@pytest.fixture
def store(shipway_home: Path) -> Store:
    return open_store(Settings(home=shipway_home))


def _commit(work: Path, message: str, tag: str = "") -> str:
    (work / "file.txt").write_text(message)
    work_repo = Repo(work)
    work_repo.run("add", "file.txt")
    who = {"GIT_AUTHOR_NAME": "Ada Lovelace", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_DATE": "2024-05-06T07:08:09Z"}  # fmt: skip
    work_repo.run("commit", "-q", "-m", message, env=who)
    if tag:
        work_repo.run("tag", tag)
    work_repo.run("push", "-q", "--tags", "origin", "HEAD:main")
    return work_repo.head()


def _app(store: Store, url: str, revision: str) -> None:
    ann = {f"{ANN}on-commit.hook": ""}
    body: dict[str, Any] = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                            "metadata": {"name": "shop", "annotations": ann},
                            "spec": {"project": "default", "source": {"repoURL": url}}}  # fmt: skip
    resources.apply(store, [Resource("argoproj.io/v1alpha1", "Application", "shop", "argocd",
                                     body)])  # fmt: skip
    status = {"sync": {"status": "Synced", "revision": revision}}
    resources.set_status(store, "Application", "shop", status, "argocd")


def test_commit_metadata_in_trigger_and_template(
    store: Store, webhook: Receiver, git_server: Any, tmp_path: Path
) -> None:
    url = git_server.bare(f"notify-meta-{uuid.uuid4().hex[:6]}")
    work = tmp_path / "work"
    Repo.init(work)
    Repo(work).run("remote", "add", "origin", url)
    chore = _commit(work, "chore: tidy")
    _cm(store, {"service.webhook.hook": f"url: {webhook.url}\n",
                "template.commit": TEMPLATE, "trigger.on-commit": TRIGGER})  # fmt: skip
    _app(store, url, chore)
    assert worker.run_pass(store, secrets={}).sent == 0  # the message has no 'release'
    release = _commit(work, "release 1.2: faster checkout", tag="v1.2")  # after the mirror
    _app(store, url, release)
    assert worker.run_pass(store, secrets={}).sent == 1
    got = json.loads(webhook.requests[0].body)
    assert got == {"author": "Ada Lovelace <ada@example.com>", "tags": "v1.2",
                   "year": "2024"}  # fmt: skip
    # an unknown commit: the template fails and names it
    _app(store, url, "0" * 40)
    worker.run_pass(store, secrets={})
    app = resources.find(store, "Application", "shop", "argocd")
    assert app is not None
    cond = [c for c in app.status.get("conditions") or [] if c["type"] == worker.CONDITION]
    assert cond and "0000000000" in cond[0]["message"], app.status
    assert [d.state for d in outbox.list_outbox(store, app_name="shop")] == ["sent"]
