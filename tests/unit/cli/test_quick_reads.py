"""The quick reads (``shipway.cli.quick``, no click) print exactly what the click commands
print, for every form they answer; every other form is left to click, with nothing printed;
and started as the script they never import click."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shipway.cli import quick
from shipway.cli.root import run as click_run
from shipway.model.release import Release
from shipway.settings import Settings
from shipway.store import releases, runs
from shipway.store.db import open_store

APPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, labels: {env: prod}}
spec:
  source: {repoURL: "git://127.0.0.1/config.git", path: web}
  destination: {name: local, namespace: web}
  syncPolicy: {automated: {prune: true}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: api, namespace: team, labels: {env: dev}}
spec:
  source: {repoURL: "git://127.0.0.1/config.git", path: api}
  destination: {name: local, namespace: api}
"""

SAME = [
    ["get", "applications"], ["get", "apps", "-A"], ["get", "application", "-o", "name"],
    ["get", "applications", "-A", "-o", "json"], ["get", "applications", "-owide"],
    ["get", "applications", "-A", "-l", "env in (prod,qa)"], ["get", "app", "-n", "team"],
    ["get", "applications", "--output=yaml", "-A"], ["get", "applications", "--no-headers"],
    ["get", "applications", "-A", "--sort-by", ".metadata.name", "-o", "name"],
    ["get", "applications", "-A", "--field-selector", "metadata.name!=web", "-o", "name"],
    ["get", "clusters"], ["get", "clusters", "-o", "custom-columns=N:.metadata.name"],
    ["--core", "get", "applications", "-A"],
    ["app", "list"], ["app", "list", "-A", "-o", "name"], ["app", "list", "-N", "team"],
    ["app", "list", "-A", "-l", "env=dev", "-o", "json"], ["app", "list", "-o", "wide"],
    ["release", "list"], ["release", "list", "--app", "web", "--limit", "1"],
    ["release", "list", "-o", "json"], ["release", "list", "--limit=2", "-o", "name"],
    ["ci", "list"], ["ci", "list", "--limit", "1", "-o", "name"], ["ci", "list", "-o", "yaml"],
    ["release", "list", "-n", "team"], ["release", "list", "-n", "argocd", "-o", "name"],
    ["release", "list", "-A", "-n", "team"], ["release", "list", "--app", "api", "-n", "team"],
    ["release", "list", "-n", "nowhere"], ["ci", "list", "-A", "-o", "name"],
    ["get", "applications", "-o", "bogus"], ["get", "nosuchkind"],
    ["app", "list", "-l", "env in prod"], ["get", "applications", "-o", "jsonpath={.items[0"],
    ["get", "pipelines"], ["get", "apps", "-l", "env=none"], ["get", "stages", "-A"],
    ["get", "clusterpromotiontasks", "-o", "wide"], ["get", "pipelines", "-o", "name"],
]  # fmt: skip
ELSEWHERE = [
    ["get", "applications", "web"], ["get", "events"], ["get", "ns"], ["get"],
    ["app", "list", "--server", "http://127.0.0.1:1"], ["ci", "list", "--limit", "x"],
    ["get", "applications", "-h"], ["release", "list", "--bogus"], ["app", "list", "extra"],
    ["get", "applications", "-o"], ["app", "sync", "web"], ["get", "applications", "-w"],
    ["get", "applications", "--", "x"], ["get", "applications", "-Ao", "name"],
    ["ci", "list", "-n", "x"], ["ci", "list", "-l", "a=b"], ["release", "list", "-l", "a=b"],
]  # fmt: skip


def _call(
    fn: object, args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[object, str, str]:
    try:
        result = fn(args)  # type: ignore[operator]
        code: object = 0 if result is not False else "elsewhere"
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    ages = re.compile(r"\b\d+(s|m|h|d)\b")  # AGE columns: the two runs may straddle a second
    return code, ages.sub("AGE", out), " ".join(err.split())


@pytest.fixture
def stored(shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "apps.yaml").write_text(APPS)
    assert _call(click_run, ["apply", "-f", str(tmp_path / "apps.yaml")], capsys)[0] == 0
    st = open_store(Settings())
    try:
        for i in range(3):
            releases.save(
                st, Release(id=f"r{i}", app=("web", "team_api")[i % 2], commit=f"{i:040x}")
            )
            record = {"id": f"run-{i}", "workflow": "ci.yml", "event": "push",
                      "conclusion": "success", "jobs": [{"name": "build"}]}  # fmt: skip
            runs.save_run(st, record, "log")
    finally:
        st.close()


@pytest.mark.parametrize("args", SAME, ids=" ".join)
def test_quick_prints_what_click_prints(
    stored: None,
    args: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIPWAY_COLOR", "never")
    monkeypatch.delenv("COLUMNS", raising=False)
    fast = _call(quick.run, args, capsys)
    assert fast[0] != "elsewhere", "quick left it to click"
    assert fast == _call(click_run, args, capsys)


@pytest.mark.parametrize("args", ELSEWHERE, ids=" ".join)
def test_other_forms_are_left_to_click(
    stored: None, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _call(quick.run, args, capsys) == ("elsewhere", "", "")


def test_a_login_context_leaves_the_lists_to_click(
    stored: None, shipway_home: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("SHIPWAY_SERVER", "http://127.0.0.1:1")
    assert _call(quick.run, ["app", "list"], capsys)[0] == "elsewhere"
    monkeypatch.setenv("SHIPWAY_CORE", "1")  # unless --core says the local store
    assert _call(quick.run, ["app", "list", "-o", "name"], capsys)[:2] == (
        0, "application/web\n")  # fmt: skip


def test_the_script_answers_without_click(stored: None) -> None:
    code = (
        "import sys\n"
        "from shipway.cli.quick import run\n"
        "assert run(['app', 'list', '-A', '-o', 'json'])\n"
        "print(json.dumps(sorted(m for m in ('click', 'rich', 'yaml', 'sqlalchemy', 'alembic',"
        " 'httpx', 'pydantic') if m in sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr) == []
    assert len(json.loads(done.stdout)["items"]) == 2


def test_a_reader_gone_is_exit_1_and_silent_on_both_paths(stored: None) -> None:
    shipway = str(Path(sys.executable).with_name("shipway"))
    click_path = [sys.executable, "-c", "import sys\nfrom shipway.cli.main import main\n"
                  "main(sys.argv[1:])"]  # fmt: skip
    for argv in ([shipway], click_path):  # the script answers it quickly; main(argv) via click
        proc = subprocess.Popen([*argv, "app", "list", "-A", "-o", "json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # before the command writes a byte
        assert (proc.wait(timeout=60), proc.stderr.read()) == (1, b""), argv
        proc.stderr.close()


@pytest.mark.parametrize(("args", "said"), [
    (["get", "pipelines"], "No resources found in default namespace."),
    (["get", "apps", "-l", "env=none", "-o", "wide"], "No resources found in argocd namespace."),
    (["get", "stages", "-A"], "No resources found"),
    (["get", "clusterpromotiontasks"], "No resources found"),  # cluster-scoped
])  # fmt: skip
def test_an_empty_get_prints_no_header_only_kubectls_line(
    stored: None, args: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for fn in (quick.run, click_run):
        assert _call(fn, args, capsys) == (0, "", said)


def test_release_and_ci_lists_have_kubectls_age_column(
    shipway_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    monkeypatch.setenv("SHIPWAY_COLOR", "never")
    monkeypatch.delenv("COLUMNS", raising=False)
    at = dt.datetime.now(dt.UTC)
    st = open_store(Settings())
    try:
        releases.save(st, Release(id="old", app="web", commit="a" * 40,
                                  created=at - dt.timedelta(hours=3, minutes=20)))  # fmt: skip
        started = (at - dt.timedelta(days=3, hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
        runs.save_run(
            st,
            {
                "id": "run-1",
                "workflow": "ci.yml",
                "event": "push",
                "conclusion": "success",
                "jobs": [],
                "started": started,
            },
            "log",
        )
        runs.save_run(st, {"id": "run-0", "workflow": "ci.yml", "event": "push",
                           "conclusion": "success", "jobs": []}, "log")  # fmt: skip
    finally:
        st.close()
    for fn in (quick.run, click_run):  # both paths (``_call`` masks ages: read them here)
        fn(["release", "list"])
        head, row = capsys.readouterr().out.splitlines()
        assert head.split()[-2:] == ["DURATION", "AGE"] and row.split()[-1] == "3h20m", row
        fn(["ci", "list"])
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].split()[-2:] == ["JOBS", "AGE"]
        assert {ln.split()[0]: ln.split()[-1] for ln in lines[1:]} == {
            "run-1": "3d4h",
            "run-0": "<unknown>",
        }


def test_empty_release_and_ci_lists_say_so_as_kubectl(
    stored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (["release", "list", "--app", "nothing"], ["ci", "list", "--limit", "0"]):
        for fn in (quick.run, click_run):
            assert _call(fn, args, capsys) == (0, "", "No resources found"), (fn, args)
    code, out, _ = _call(quick.run, ["release", "list", "--app", "nothing", "-o", "json"], capsys)
    assert (code, json.loads(out)["items"]) == (0, [])
