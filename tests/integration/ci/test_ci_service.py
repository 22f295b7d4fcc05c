"""``run_event`` against a real git daemon, and the ``shipway ci`` commands."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from shipway.ci.service import run_event
from shipway.cli.main import cli
from shipway.demo.sample import app_files
from shipway.git.repo import Repo
from shipway.store.db import Store
from shipway.store.runs import get_run, list_runs

MakeRepo = Callable[[Path, dict[str, str]], tuple[Repo, str]]

DEMO = """\
name: CI
on:
  push: {branches: [main]}
  pull_request: {branches: [main]}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Run tests
        run: sh ./test.sh
      - name: Build and push image
        run: >-
          tool "${{ vars.REGISTRY }}/demo/hello:${{ github.sha }}"
          --label rev=${{ github.sha }} --token ${{ secrets.TOKEN }}
"""
PR_ONLY = """\
on: {pull_request: {branches: [main]}}
jobs:
  pr: {runs-on: x, steps: [{run: echo pr}]}
"""


def test_run_event_from_git_daemon(
    git_server: Any, store: Store, tmp_path: Path, new_repo: MakeRepo
) -> None:
    url = git_server.bare("ci-demo")
    repo, commit = new_repo(
        tmp_path / "src",
        {
            ".github/workflows/ci.yml": DEMO,
            ".github/workflows/pr.yaml": PR_ONLY,
            ".github/workflows/notes.txt": "not a workflow",
            "test.sh": "echo tests-ok; test -f test.sh\n",
        },
    )
    repo.run("remote", "add", "origin", url)
    repo.push("origin", "main")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "tool").write_text('#!/bin/sh\necho "tool $*"\n')
    (bindir / "tool").chmod(0o755)
    lines: list[str] = []
    records = run_event(
        store,
        repo=url,
        commit=commit,
        ref="refs/heads/main",
        event="push",
        payload={"ref": "refs/heads/main", "after": commit, "before": "0" * 40},
        workdir=tmp_path / "work",
        vars={"REGISTRY": "127.0.0.1:5000"},
        secrets={"TOKEN": "tok-123-secret"},
        env={"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"},
        on_line=lines.append,
    )
    assert [r["workflow"] for r in records] == ["CI"]
    rec = records[0]
    assert rec["conclusion"] == "success", "\n".join(lines)
    text = "\n".join(lines)
    assert "[build / Run tests] tests-ok" in text
    assert f"tool 127.0.0.1:5000/demo/hello:{commit} --label rev={commit} --token ***" in text
    stored, log = get_run(store, rec["id"])
    assert stored["conclusion"] == "success" and "tok-123-secret" not in log
    assert rec["id"] in [r["id"] for r in list_runs(store)]

    pr = run_event(
        store, repo=url, commit=commit, ref="refs/pull/1/merge", event="pull_request",
        payload={"action": "opened", "pull_request": {"base": {"ref": "main"}}},
        workdir=tmp_path / "work", vars={}, secrets={}, workflows=["pr.yaml"],
    )  # fmt: skip
    assert [(r["file"], r["conclusion"]) for r in pr] == [(".github/workflows/pr.yaml", "success")]


def _cli(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIPWAY_HOME": str(home)}
    return subprocess.run(
        [str(Path(sys.executable).parent / "shipway"), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_cli_run_logs_list(
    tmp_path: Path, shipway_home: Path, new_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    new_repo(
        src,
        {
            ".github/workflows/ci.yml": """\
                on: push
                jobs:
                  ok: {runs-on: x, steps: [{run: "echo hello ${{ secrets.PW }} ${{ vars.V }}"}]}
                  bad: {runs-on: x, needs: ok, steps: [{run: exit 4}]}
                """,
            "secrets.env": "PW='pw-value-77'\n",
        },
    )
    res = _cli(["ci", "run", "--secret-file", "secrets.env", "--var", "V=vv", "-o", "json"],
               src, shipway_home)  # fmt: skip
    assert res.returncode == 1, res.stderr
    record = json.loads(res.stdout)
    assert record["conclusion"] == "failure"
    assert [j["result"] for j in record["jobs"]] == ["success", "failure"]
    assert "[ok / Run echo hello *** vv] hello *** vv" in res.stderr
    assert "pw-value-77" not in res.stderr + res.stdout

    monkeypatch.chdir(src)
    runner = CliRunner()
    ok = runner.invoke(cli, ["ci", "run", "--job", "ok", "--secret", "PW=x"])
    assert ok.exit_code == 0, ok.output
    logs = runner.invoke(cli, ["ci", "logs", record["id"][:8]])
    assert logs.exit_code == 0 and "hello *** vv" in logs.stdout
    listed = runner.invoke(cli, ["ci", "list", "-o", "json"])
    assert {r["id"] for r in json.loads(listed.stdout)["items"]} >= {record["id"]}

    (src / ".github/workflows/ci.yml").write_text("on: push\njobs:\n  a:\n    steps: []\n")
    broken = _cli(["ci", "run"], src, shipway_home)
    assert broken.returncode == 2
    assert "error: .github/workflows/ci.yml:3:3: job 'a' has no 'runs-on'" in broken.stderr
    assert "Traceback" not in broken.stderr
    missing = _cli(["ci", "logs", "nope"], src, shipway_home)
    assert missing.returncode == 3 and "error:" in missing.stderr


DEMO_EXACT = app_files("1.0.0")[".github/workflows/ci.yml"]
"""The demo app's workflow, as ``shipway demo`` commits it."""


def test_demo_workflow_builds_and_pushes(
    git_server: Any, registry: Any, store: Store, tmp_path: Path, new_repo: MakeRepo
) -> None:
    """The demo's workflow, unchanged: checkout, tests, `shipway image build --push`."""
    url = git_server.bare("demo-hello")
    repo, commit = new_repo(
        tmp_path / "src",
        {
            ".github/workflows/ci.yml": DEMO_EXACT,
            "test.sh": "echo 'tests ok'\n",
            "Dockerfile": "FROM scratch\nCOPY test.sh /test.sh\n",
        },
    )
    repo.run("remote", "add", "origin", url)
    repo.push("origin", "main")
    bindir = str(Path(sys.executable).parent)
    lines: list[str] = []
    (record,) = run_event(
        store,
        repo=url,
        commit=commit,
        ref="refs/heads/main",
        event="push",
        payload={"ref": "refs/heads/main", "after": commit, "before": "0" * 40},
        workdir=tmp_path / "work",
        vars={"REGISTRY": registry.host},
        secrets={},
        env={"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "SOURCE_DATE_EPOCH": "0"},
        on_line=lines.append,
    )
    assert record["conclusion"] == "success", "\n".join(lines)
    tags = httpx.get(f"{registry.url}/v2/demo/hello/tags/list", timeout=10).json()["tags"]
    assert tags == [commit]
    assert [s["conclusion"] for s in record["jobs"][0]["steps"]] == ["success"] * 3


DOCS_IGNORED = """\
on:
  push:
    branches: [main]
    paths-ignore: ["docs/**"]
jobs:
  t: {runs-on: x, steps: [{run: echo code-changed}]}
"""


def test_run_event_paths_filter(store: Store, tmp_path: Path, new_repo: MakeRepo) -> None:
    repo, first = new_repo(tmp_path / "src", {".github/workflows/ci.yml": DOCS_IGNORED})
    (tmp_path / "src/docs").mkdir()
    (tmp_path / "src/docs/x.md").write_text("docs\n")
    repo.add_all()
    docs_only = repo.commit("docs")
    (tmp_path / "src/app.py").write_text("print(1)\n")
    repo.add_all()
    code = repo.commit("code")

    def push(before: str, after: str) -> list[dict[str, Any]]:
        return run_event(
            store, repo=str(repo.path), commit=after, ref="refs/heads/main", event="push",
            payload={"ref": "refs/heads/main", "before": before, "after": after},
            workdir=tmp_path / "work", vars={}, secrets={},
        )  # fmt: skip

    assert push(first, docs_only) == []
    assert [r["conclusion"] for r in push(docs_only, code)] == ["success"]


def test_cli_gives_docker_steps_podmans_docker_api(
    tmp_path: Path, shipway_home: Path, new_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipway.runtime import docker_api, services
    from shipway.settings import Settings

    src = tmp_path / "src"
    new_repo(src, {".github/workflows/d.yml": DOCKER_STEP})
    monkeypatch.chdir(src)
    try:
        res = CliRunner().invoke(cli, ["ci", "run", "-o", "json"])
    finally:
        services.stop(Settings(home=shipway_home).run_dir, docker_api.SERVICE)
    assert res.exit_code == 0, res.output
    assert "host=unix://" in res.output
    assert re.search(r"server=\d+\.\d+", res.output), res.output


DOCKER_STEP = """\
on: push
jobs:
  d:
    runs-on: x
    steps:
      - run: |
          echo "host=$DOCKER_HOST"
          echo "server=$(docker version --format '{{.Server.Version}}')"
"""


def test_cli_dispatch_inputs(tmp_path: Path, shipway_home: Path, new_repo: MakeRepo) -> None:
    src = tmp_path / "src"
    new_repo(
        src,
        {
            ".github/workflows/d.yml": """\
                on:
                  workflow_dispatch:
                    inputs:
                      level: {type: choice, options: [info, debug], default: info}
                      count: {type: number, default: 3}
                jobs:
                  a:
                    runs-on: x
                    steps:
                      - run: echo got=${{ inputs.level }}/${{ inputs.count }}
                      - run: echo event=${{ github.event.inputs.count }}/${{ toJSON(inputs.count) }}
                """,
        },
    )
    ok = _cli(["ci", "run", "--event", "workflow_dispatch", "--input", "level=debug"],
              src, shipway_home)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "got=debug/3" in ok.stderr
    assert "event=3/3" in ok.stderr  # defaults reach github.event.inputs too, as strings
    bad = _cli(["ci", "run", "--event", "workflow_dispatch", "--input", "level=loud"],
               src, shipway_home)  # fmt: skip
    assert bad.returncode == 1
    assert "'loud' is not one of its options" in bad.stderr
    malformed = _cli(["ci", "run", "--event", "workflow_dispatch", "--input", "level"],
                     src, shipway_home)  # fmt: skip
    assert malformed.returncode == 2, malformed.stderr


def test_secrets_do_not_stay_on_disk(run_wf: Any, tmp_path: Path) -> None:
    workflow = """\
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - run: echo "v=${{ secrets.PW }}" >> "$GITHUB_OUTPUT"; echo ok > kept.txt
        """
    record, _lines = run_wf(workflow, secrets={"PW": "on-disk-secret-913"})
    assert record["conclusion"] == "success"
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()
                 and b"on-disk-secret-913" in p.read_bytes()]  # fmt: skip
    assert leftovers == []
    assert not list(tmp_path.glob("run-*/jobs"))  # workspaces go with the run
    record, _lines = run_wf(workflow, secrets={"PW": "x"}, keep_workspace=True)
    assert [p.name for p in tmp_path.glob("run-*/jobs/*/workspace/kept.txt")] == ["kept.txt"]


def test_ctrl_c_cancels_the_run_and_keeps_its_record(
    tmp_path: Path, shipway_home: Path, new_repo: MakeRepo
) -> None:
    src = tmp_path / "src"
    pidfile = tmp_path / "step.pid"
    new_repo(
        src,
        {
            ".github/workflows/ci.yml": f"""\
                on: push
                jobs:
                  a:
                    runs-on: x
                    steps:
                      - run: echo $$ > {pidfile}; echo started; sleep 60
                      - run: echo not-run
                      - if: always()
                        run: echo cleanup-ran
                """,
        },
    )
    env = {**os.environ, "SHIPWAY_HOME": str(shipway_home)}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "shipway"), "ci", "run", "-o",
                             "json"], cwd=src, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while not (pidfile.is_file() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    step_pid = int(pidfile.read_text())
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "received SIGINT: cancelling the run" in err
    record = json.loads(out)
    assert record["conclusion"] == "cancelled"
    steps = [(s["name"], s["conclusion"]) for s in record["jobs"][0]["steps"]]
    assert steps[1:] == [("Run echo not-run", "skipped"), ("Run echo cleanup-ran", "success")]
    with pytest.raises(ProcessLookupError):
        os.kill(step_pid, 0)  # the step's process is gone with the run
