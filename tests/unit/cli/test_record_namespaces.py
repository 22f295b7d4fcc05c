"""``release list`` and ``ci list`` with kubectl's scope options: a release is in its
Application's namespace (``-n``, ``-A``); CI runs have no namespace and neither record
carries labels, so ``-n`` (``ci list``) and ``-l`` are refused with the reason, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_runner import run
from shipway.model.release import Release
from shipway.settings import Settings
from shipway.store import releases, runs
from shipway.store.db import open_store


@pytest.fixture
def stored(shipway_home: Path) -> None:
    st = open_store(Settings())
    try:
        for rid, app in (("r1", "web"), ("r2", "team_api"), ("r3", "team_web"),
                         ("r4", "teamx_web"), ("r5", "t%_a")):  # fmt: skip
            releases.save(st, Release(id=rid, app=app, commit="c" * 40))
        runs.save_run(st, {"id": "run-1", "workflow": "ci.yml", "event": "push",
                           "conclusion": "success", "jobs": []}, "log")  # fmt: skip
    finally:
        st.close()


def _ids(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    code, got, err = run(["release", "list", *args, "-o", "json"], capsys)
    assert code == 0, err
    return sorted(r["id"] for r in json.loads(got)["items"])


def test_release_list_namespaces(stored: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert _ids(capsys) == ["r1", "r2", "r3", "r4", "r5"]  # every namespace, as before
    assert _ids(capsys, "-A") == ["r1", "r2", "r3", "r4", "r5"]
    assert _ids(capsys, "-n", "team") == ["r2", "r3"]  # not teamx's
    assert _ids(capsys, "-n", "argocd") == ["r1"]
    assert _ids(capsys, "-n", "t%") == ["r5"]  # LIKE's wildcards taken literally
    assert _ids(capsys, "-n", "t") == []
    assert _ids(capsys, "--namespace", "team", "--app", "web") == ["r3"]
    assert _ids(capsys, "-A", "-n", "team") == ["r1", "r2", "r3", "r4", "r5"]
    code, got, err = run(["release", "list", "-n", "nowhere"], capsys)
    assert (code, got, err) == (0, "", "No resources found in nowhere namespace.\n")


def test_what_records_lack_is_refused(stored: None, capsys: pytest.CaptureFixture[str]) -> None:
    for args, why in ((["ci", "list", "-n", "team"], "CI runs have no namespace"),
                      (["ci", "list", "--namespace=team"], "CI runs have no namespace"),
                      (["ci", "list", "-l", "a=b"], "CI runs carry no labels"),
                      (["release", "list", "-l", "a=b"], "releases carry no labels")):  # fmt: skip
        code, got, err = run(args, capsys)
        assert (code, got) == (2, ""), args
        assert why in err and "No such option" not in err, err
    code, got, _ = run(["ci", "list", "-A", "-o", "name"], capsys)
    assert (code, got) == (0, "run/run-1\n")
    code, got, _ = run(["ci", "list", "--field-selector", "workflow=ci.yml", "-o", "name"], capsys)
    assert (code, got) == (0, "run/run-1\n")
