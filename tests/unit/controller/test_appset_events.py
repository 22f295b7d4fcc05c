"""Which events refresh which ApplicationSets: pushes to a git generator's repository, pull
request events on a pullRequest generator's project (per forge), nested generators included."""

from __future__ import annotations

from pathlib import Path

import yaml

from shipway.controller import appsets
from shipway.controller.core import Controller
from shipway.controller.hooks import GitPush, RefUpdate
from shipway.git.webhooks import GitEvent
from shipway.model.resources import parse_text
from shipway.settings import Settings
from shipway.store import resources as repo
from shipway.store.db import open_store

URL = "git://127.0.0.1:1/config.git"
TEMPLATE = {"metadata": {"name": "x-{{number}}"},
            "spec": {"source": {"repoURL": URL, "path": "p"},
                     "destination": {"name": "local"}}}  # fmt: skip


def _set(name: str, generators: list[dict[str, object]]) -> str:
    return yaml.safe_dump({"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
                           "metadata": {"name": name},
                           "spec": {"generators": generators, "template": TEMPLATE}})  # fmt: skip


SETS = [
    _set("git", [{"git": {"repoURL": URL + "/", "directories": [{"path": "*"}]}}]),
    _set(
        "nested",
        [
            {
                "matrix": {
                    "generators": [
                        {"pullRequest": {"gitlab": {"project": "Team/Web"}}},
                        {
                            "git": {
                                "repoURL": "git://elsewhere/x.git",
                                "files": [{"path": "a.json"}],
                            }
                        },
                    ]
                }
            }
        ],
    ),
    _set("gh", [{"pullRequest": {"github": {"owner": "team", "repo": "web"}}}]),
]


def test_push_and_pull_request_events(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url="")
    store = open_store(settings)
    ctl = Controller(settings, store)
    try:
        repo.apply(store, [r for text in SETS for r in parse_text(text, "sets.yaml")])
        news, _ = ctl.push_work(GitPush(URL, [RefUpdate("refs/heads/main", "0" * 40, "a" * 40)]))
        assert [n.payload["name"] for n in news if n.kind == appsets.KIND] == ["git"]

        def pr(forge: str, url: str) -> list[str]:
            event = GitEvent(forge=forge, kind="pull_request", repo_urls=(url,), number=3,
                             action="opened", head_sha="b" * 40)  # fmt: skip
            return [n.payload["name"] for n in appsets.event_items(store, event)]

        assert pr("gitlab", "https://gitlab.example/team/web.git") == ["nested"]
        assert pr("github", "https://github.com/team/web") == ["gh"]
        assert pr("gitea", "https://gitea.example/team/web") == []  # no gitea generator
        push = GitEvent(forge="github", kind="push", repo_urls=(URL,), ref="refs/heads/main",
                        before="0" * 40, after="c" * 40)  # fmt: skip
        items = appsets.event_items(store, push)
        assert [n.payload["name"] for n in items] == ["git"]
        assert items[0].dedupe != news[-1].dedupe  # another commit: another refresh
    finally:
        ctl.shutdown()
        store.close()
