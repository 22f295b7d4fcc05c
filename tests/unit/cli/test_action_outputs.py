"""``-o`` of the commands that act on one Application (``app wait``, ``app delete``):
``-o name`` is ``application/NAME``, ``-o json|yaml`` the Application, the table its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cli_runner import run

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source: {repoURL: "git://127.0.0.1:9/config.git", path: web}
  destination: {name: local, namespace: web}
"""


def test_app_wait_and_delete_print_the_application(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.yaml").write_text(APP)
    assert run(["apply", "-f", str(tmp_path / "app.yaml")], capsys)[0] == 0
    # the same exit code in every format; the line names the health the object holds
    code, got, _ = run(["app", "wait", "web", "--timeout", "0.2"], capsys)
    health = got.removeprefix("application/web ").strip()
    assert code == (0 if health == "Healthy" else 1), got
    code_json, got, _ = run(["app", "wait", "web", "--timeout", "0.2", "-o", "json"], capsys)
    data = json.loads(got)
    assert (code_json, data["kind"], data["metadata"]["name"]) == (code, "Application", "web")
    assert data["status"]["health"]["status"] == health
    assert run(["app", "wait", "web", "--timeout", "0.2", "-o", "name"], capsys)[:2] == (
        code,
        "application/web\n",
    )

    code, got, _ = run(["app", "delete", "web", "--no-cascade", "-o", "yaml"], capsys)
    assert (code, yaml.safe_load(got)["metadata"]["name"]) == (0, "web")
    code, _, err = run(["app", "get", "web", "--no-refresh"], capsys)
    assert code == 3, err
    assert run(["apply", "-f", str(tmp_path / "app.yaml")], capsys)[0] == 0
    code, got, _ = run(["app", "delete", "web", "--no-cascade", "-o", "name"], capsys)
    assert (code, got) == (0, "application/web\n")
    assert run(["apply", "-f", str(tmp_path / "app.yaml")], capsys)[0] == 0
    code, got, _ = run(["app", "delete", "web", "--no-cascade"], capsys)
    assert (code, got) == (0, "application/web deleted\n")
    code, got, err = run(["app", "delete", "web", "-o", "bogus"], capsys)
    assert code == 2 and got == "", err
