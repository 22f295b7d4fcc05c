"""``shipway apply/get/delete`` as a user runs them: output, exit codes, all-or-nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_runner import run

GOOD = """\
apiVersion: shipway.dev/v1alpha1
kind: Cluster
metadata: {name: edge}
spec: {type: podman}
"""
BAD = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: broken}
spec:
  destination: {name: local}
"""


def test_apply_get_delete(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "c.yaml").write_text(GOOD)
    assert run(["apply", "-f", str(tmp_path / "c.yaml")], capsys)[1] == "cluster/edge created\n"
    code, out, _ = run(["get", "clusters", "-o", "json"], capsys)
    assert code == 0
    assert [i["metadata"]["name"] for i in json.loads(out)["items"]] == ["edge", "local"]
    assert run(["delete", "cluster", "edge"], capsys)[:2] == (0, "cluster/edge deleted\n")
    code, _, err = run(["get", "cluster", "edge"], capsys)
    assert code == 3
    assert "Cluster/edge" in err
    assert run(["apply", "-f", str(tmp_path / "c.yaml")], capsys)[0] == 0
    assert run(["delete", "cluster", "edge", "-o", "name"], capsys)[:2] == (0, "cluster/edge\n")
    code, _, err = run(["delete", "cluster", "edge", "-o", "json"], capsys)
    assert code == 2  # kubectl delete takes -o name only


def test_a_bad_file_in_a_directory_stores_nothing(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "res"
    d.mkdir()
    (d / "a-good.yaml").write_text(GOOD)
    (d / "b-bad.yaml").write_text(BAD)
    code, _, err = run(["apply", "-f", str(d)], capsys)
    assert code == 2
    assert "b-bad.yaml:4:1" in err.replace("\n", "")
    assert "needs 'source' or 'sources'" in err.replace("\n", "")
    code, out, _ = run(["get", "clusters", "-o", "json"], capsys)
    assert [i["metadata"]["name"] for i in json.loads(out)["items"]] == ["local"]


def test_unknown_kind_is_bad_input(shipway_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["get", "widgets"], capsys)
    assert code == 2
    assert "unknown kind" in err


def test_local_cluster_exists_without_configuration(
    shipway_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["get", "cluster", "local", "-o", "json"], capsys)
    assert code == 0
    assert json.loads(out)["spec"] == {"type": "podman"}
    code, out, _ = run(["get", "clusters", "-o", "json"], capsys)
    assert [i["metadata"]["name"] for i in json.loads(out)["items"]] == ["local"]
