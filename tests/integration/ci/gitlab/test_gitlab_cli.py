"""``shipway ci run`` on a checkout with ``.gitlab-ci.yml``: the record, the store, errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shipway.cli.main import cli
from shipway.model.errors import InputError

pytestmark = pytest.mark.integration

PIPELINE = """\
stages: [build, test]
variables: {WHO: yaml}
build:
  stage: build
  script: ['echo "who=$WHO branch=$CI_COMMIT_BRANCH sha=$CI_COMMIT_SHORT_SHA"']
flaky:
  stage: test
  script: [exit 3]
  allow_failure: {exit_codes: [3]}
deploy:
  stage: test
  script: [echo deploying]
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      when: manual
"""


def _invoke(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(cwd)
    res = CliRunner().invoke(cli, args)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res


def test_gitlab_pipeline_runs_and_is_stored(
    tmp_path: Path, shipway_home: Path, new_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "app"
    new_repo(src, {".gitlab-ci.yml": PIPELINE})
    res = _invoke(["ci", "run", "--var", "WHO=cli", "-o", "json"], src, monkeypatch)
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=src, capture_output=True, text=True,
                         check=True).stdout.strip()  # fmt: skip
    assert (record["syntax"], record["conclusion"], record["gitlab_status"]) == (
        "gitlab", "success", "success")  # fmt: skip
    jobs = {j["name"]: j for j in record["jobs"]}
    assert {n: (j["status"], j["result"]) for n, j in jobs.items()} == {
        "build": ("success", "success"), "flaky": ("failed", "failure"),
        "deploy": ("manual", "skipped")}  # fmt: skip
    assert jobs["flaky"]["allow_failure_applied"] is True
    assert f"who=cli branch=main sha={sha[:8]}" in res.stderr
    listed = _invoke(["ci", "list", "-o", "json"], src, monkeypatch)
    assert [r["id"] for r in json.loads(listed.stdout)["items"]] == [record["id"]]
    logs = _invoke(["ci", "logs", record["id"]], src, monkeypatch)
    assert "[build] who=cli" in logs.output


def test_gitlab_errors_exit_2_with_every_problem(
    tmp_path: Path, shipway_home: Path, new_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "bad"
    new_repo(src, {".gitlab-ci.yml": "include: ci/x.yml\njob:\n  script: [x]\n  needs: [nope]\n",
                   "ci/x.yml": "other:\n  script: [y]\n  retry: 9\n"})  # fmt: skip
    with pytest.raises(InputError) as info:  # the entry point prints it and exits 2
        _invoke(["ci", "run"], src, monkeypatch)
    assert info.value.exit_code == 2
    assert str(info.value).splitlines() == [
        ".gitlab-ci.yml:4:11: job job: undefined need: nope",
        "ci/x.yml:3:3: jobs:other:retry config should be an integer between 0 and 2",
    ]


def test_concurrency_runs_a_stages_jobs_at_once(
    tmp_path: Path, shipway_home: Path, new_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "par"
    flag = tmp_path / "b-ran"
    wait = f"i=0; until test -f {flag}; do i=$((i+1)); test $i -lt 300 || break; sleep 0.1; done"
    new_repo(src, {".gitlab-ci.yml": f"a:\n  script:\n    - '{wait}'\n    - test -f {flag}\n"
                                     f"b:\n  script: ['touch {flag}']\n"})  # fmt: skip
    res = _invoke(["ci", "run", "--concurrency", "2", "-o", "json"], src, monkeypatch)
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    assert [(j["name"], j["status"]) for j in record["jobs"]] == [("a", "success"),
                                                                   ("b", "success")]  # fmt: skip
    bad = _invoke(["ci", "run", "--concurrency", "0"], src, monkeypatch)
    assert bad.exit_code == 2 and "--concurrency" in bad.output
