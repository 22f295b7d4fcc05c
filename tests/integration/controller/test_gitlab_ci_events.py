"""The controller runs a checkout's ``.gitlab-ci.yml`` for pushes and merge requests.

Real git daemon, real git, the GitLab runner on the host executor, the forge
test server for commit statuses: a push runs the pipeline with
``CI_PIPELINE_SOURCE=push`` (its ``rules`` see it), posts the statuses and links
the run from the release; a pull request runs it as a merged results pipeline
(``merge_request_event``); a broken file is a failed run naming where.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from forge_server import TOKEN, ForgeServer
from shipway.ci.service import run_event
from shipway.controller.core import Controller
from shipway.controller.hooks import RefUpdate
from shipway.git.repo import Repo
from shipway.model.errors import InputError
from shipway.model.resources import parse_text
from shipway.settings import Settings
from shipway.store import releases, runs
from shipway.store import resources as resource_store
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration

GITLAB_CI = """\
stages: [test, deploy]
variables:
  GREETING: from-yaml
unit:
  stage: test
  script:
    - B=${CI_COMMIT_BRANCH:-none} T=${CI_MERGE_REQUEST_TARGET_BRANCH_NAME:-none}
    - echo "source=$CI_PIPELINE_SOURCE branch=$B mr=${CI_MERGE_REQUEST_IID:-none} target=$T"
    - test -f app.txt
mr-only:
  stage: test
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  script: [echo "mr-check $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"]
deploy:
  stage: deploy
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  script: [echo "deploying to $REGISTRY with $GREETING"]
"""


def _pipeline(url: str, forge: str = "") -> str:
    return f"""\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {{name: app}}
spec:
  source: {{repoURL: "{url}", branches: [main]}}
  runner: {{executor: host}}
  vars: {{REGISTRY: "127.0.0.1:5999"}}
  applications: [hello-dev]
{forge}"""


@pytest.fixture
def store(shipway_home: Path) -> Iterator[Store]:
    st = open_store(Settings(home=shipway_home))
    yield st
    st.close()


@pytest.fixture
def repo(git_server: Any, tmp_path: Path) -> Iterator[tuple[Repo, str]]:
    url = git_server.bare(f"gl-app-{tmp_path.name}")
    work = Repo.clone(url, tmp_path / "work")
    for rel, text in {".gitlab-ci.yml": GITLAB_CI, "app.txt": "v1\n"}.items():
        (work.path / rel).write_text(text)
    work.run("add", "-A")
    work.run("commit", "-q", "-m", "base")
    work.run("push", "-q", "origin", "HEAD:main")
    yield work, url


def _commit(work: Repo, file: str, text: str, push_to: str) -> str:
    (work.path / file).write_text(text)
    work.run("add", "-A")
    work.run("commit", "-q", "-m", f"change {file}")
    work.run("push", "-q", "origin", f"HEAD:{push_to}")
    return work.run("rev-parse", "HEAD").strip()


def _controller(store: Store, home: Path, monkeypatch: pytest.MonkeyPatch) -> Controller:
    ctl = Controller(Settings(home=home, controller_url="http://controller.test"), store)
    monkeypatch.setattr(ctl.ci, "step_env", lambda pipe: {"PATH": "/usr/bin:/bin"})
    return ctl


def test_a_push_runs_the_gitlab_pipeline_with_statuses_and_release(
    repo: tuple[Repo, str], git_server: Any, shipway_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    work, url = repo
    store = open_store(Settings(home=shipway_home))
    forge = ForgeServer()
    try:
        forge.add_repo("team/app", git_server.base / url.rsplit("/", 1)[1])
        monkeypatch.setenv("CI_FORGE_TOKEN", TOKEN)
        spec = f"  forge: {{kind: gitea, apiURL: '{forge.api('gitea')}', project: team/app, "
        spec += "tokenEnv: CI_FORGE_TOKEN}\n"
        resource_store.apply(store, parse_text(_pipeline(url, spec), "pipeline.yaml"))
        before = work.run("rev-parse", "HEAD").strip()
        sha = _commit(work, "app.txt", "v2\n", "main")
        ctl = _controller(store, shipway_home, monkeypatch)
        pipe = resource_store.get(store, "Pipeline", "app")

        ctl.ci.run_push(pipe, RefUpdate("refs/heads/main", before, sha))

        (run,) = [r for r in runs.list_runs(store) if r.get("commit") == sha]
        assert run["conclusion"] == "success", run
        assert run["syntax"] == "gitlab" and run["event"] == "push"
        assert run["pipeline"] == "app"
        assert [(j["name"], j["status"]) for j in run["jobs"]] == [
            ("unit", "success"),
            ("deploy", "success"),
        ]
        _record, log = runs.get_run(store, run["id"])
        assert "[unit] source=push branch=main mr=none target=none" in log
        assert "[deploy] deploying to 127.0.0.1:5999 with from-yaml" in log
        got = [(s, body["context"], body["state"]) for _k, _p, s, body in forge.state.statuses]
        assert got == [
            (sha, "shipway/ci", "pending"),
            (sha, ".gitlab-ci.yml (push)", "success"),
            (sha, "shipway/ci", "success"),
        ]
        (release,) = releases.for_commit(store, sha)
        assert release.ci_run == run["id"]
        assert release.stage("ci").status == "Succeeded"
        made = work.run("show", "-s", "--format=%cI", sha).strip()
        assert release.commit_time == dt.datetime.fromisoformat(made)  # DORA's lead time start
        work_ci = shipway_home / "work" / "ci"
        assert not list(work_ci.glob("event-*/source"))  # the checkout went, as for Actions
        assert not list(work_ci.glob(f"event-*/{run['id']}"))
    finally:
        forge.stop()
        store.close()


def test_a_failing_job_fails_the_release_and_names_the_run(
    repo: tuple[Repo, str], shipway_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, url = repo
    store = open_store(Settings(home=shipway_home))
    resource_store.apply(store, parse_text(_pipeline(url), "pipeline.yaml"))
    before = work.run("rev-parse", "HEAD").strip()
    work.run("rm", "-q", "app.txt")
    sha = _commit(work, "other.txt", "x\n", "main")
    ctl = _controller(store, shipway_home, monkeypatch)

    ctl.ci.run_push(resource_store.get(store, "Pipeline", "app"), RefUpdate("refs/heads/main",
                                                                        before, sha))  # fmt: skip

    (run,) = [r for r in runs.list_runs(store) if r.get("commit") == sha]
    assert run["conclusion"] == "failure"
    assert [(j["name"], j["status"]) for j in run["jobs"]] == [
        ("unit", "failed"),
        ("deploy", "skipped"),
    ]
    (release,) = releases.for_commit(store, sha)
    assert release.stage("ci").status == "Failed"
    assert run["id"] in release.stage("ci").message
    store.close()


def test_a_pull_request_runs_a_merged_results_pipeline(
    repo: tuple[Repo, str], store: Store, tmp_path: Path
) -> None:
    work, url = repo
    work.run("checkout", "-q", "-b", "feature")
    head = _commit(work, "feature.txt", "new\n", "feature")
    payload = {"action": "opened", "number": 7,
               "pull_request": {"number": 7, "head": {"ref": "feature", "sha": head},
                                "base": {"ref": "main"}}}  # fmt: skip
    lines: list[str] = []

    records = run_event(store, repo=url, commit=head, ref="refs/pull/7/merge",
                        event="pull_request", payload=payload, workdir=tmp_path / "w",
                        vars={}, secrets={}, merge_into="main", on_line=lines.append,
                        pipeline="app")  # fmt: skip

    (run,) = records
    assert run["conclusion"] == "success", "\n".join(lines)
    assert run["event"] == "merge_request_event"
    assert run["commit"] != head  # the merge of the head into main
    assert [j["name"] for j in run["jobs"]] == ["unit", "mr-only"]  # no deploy: no branch
    assert "[unit] source=merge_request_event branch=none mr=7 target=main" in lines
    assert "[mr-only] mr-check feature" in lines


def test_a_broken_pipeline_file_is_a_failed_run_naming_where(
    repo: tuple[Repo, str], store: Store, tmp_path: Path
) -> None:
    work, url = repo
    sha = _commit(work, ".gitlab-ci.yml", "unit:\n  stage: test\n  scripts: [true]\n", "main")

    records = run_event(store, repo=url, commit=sha, ref="refs/heads/main", event="push",
                        payload={"ref": "refs/heads/main", "after": sha}, workdir=tmp_path / "w",
                        vars={}, secrets={})  # fmt: skip

    (run,) = records
    assert run["conclusion"] == "failure" and run["jobs"] == []
    assert ".gitlab-ci.yml:" in run["error"] and "scripts" in run["error"]
    stored, _log = runs.get_run(store, run["id"])
    assert stored["error"] == run["error"]


def test_a_pull_request_on_podman_runs_image_less_jobs_in_the_runner_image(
    repo: tuple[Repo, str], store: Store, tmp_path: Path
) -> None:
    work, url = repo
    work.run("checkout", "-q", "-b", "untrusted")
    (work.path / ".gitlab-ci.yml").write_text(
        "where:\n  script:\n    - test -f /run/.containerenv && echo in-a-container\n"
        "    - echo dir=$CI_PROJECT_DIR; test -f feature.txt\n"
    )
    head = _commit(work, "feature.txt", "new\n", "untrusted")
    payload = {"number": 8, "pull_request": {"number": 8, "head": {"ref": "untrusted",
               "sha": head}, "base": {"ref": "main"}}}  # fmt: skip
    lines: list[str] = []

    records = run_event(store, repo=url, commit=head, ref="refs/pull/8/merge",
                        event="pull_request", payload=payload, workdir=tmp_path / "w",
                        vars={}, secrets={}, merge_into="main", on_line=lines.append,
                        runner={"executor": "podman"})  # fmt: skip

    (run,) = records
    assert run["conclusion"] == "success", "\n".join(lines)
    assert "[where] in-a-container" in lines
    assert any(line.startswith("[where] dir=/builds/") for line in lines)  # not the host's


def test_the_pipelines_runner_concurrent_runs_jobs_at_once(
    repo: tuple[Repo, str], store: Store, tmp_path: Path
) -> None:
    work, url = repo
    flag = tmp_path / "b-ran"
    wait = f"i=0; until test -f {flag}; do i=$((i+1)); test $i -lt 300 || break; sleep 0.1; done"
    sha = _commit(work, ".gitlab-ci.yml", f"a:\n  script: ['{wait}', 'test -f {flag}']\n"
                                          f"b:\n  script: ['touch {flag}']\n", "main")  # fmt: skip
    with pytest.raises(InputError, match="concurrent"):  # the Pipeline's schema bounds it
        resource_store.apply(
            store,
            parse_text(
                _pipeline(url).replace("executor: host}", "executor: host, concurrent: 0}"),
                "p.yaml",
            ),
        )

    records = run_event(
        store,
        repo=url,
        commit=sha,
        ref="refs/heads/main",
        event="push",
        payload={"ref": "refs/heads/main", "after": sha},
        workdir=tmp_path / "w",
        vars={},
        secrets={},
        runner={"executor": "host", "concurrent": 2},
    )

    (run,) = records
    assert [(j["name"], j["status"]) for j in run["jobs"]] == [("a", "success"), ("b", "success")]
