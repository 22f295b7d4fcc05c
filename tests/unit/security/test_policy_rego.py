"""conftest-style Rego with regopy, and `shipway policy test|lint` as conftest and kube-linter."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cli_runner import run
from shipway.model.errors import InputError
from shipway.security.policy import rego

V0 = """package main

deny[msg] {
  input.kind == "Deployment"
  not input.spec.template.spec.securityContext.runAsNonRoot
  msg := "Containers must not run as root"
}

warn[msg] {
  input.kind == "Service"
  msg := sprintf("Service %s is exposed", [input.metadata.name])
}
"""

V1 = """package main
import rego.v1

violation contains {"msg": msg, "details": {}} if {
  input.kind == "Deployment"
  not input.spec.selector.matchLabels.app
  msg := "Deployment must have an app selector"
}

deny_latest contains msg if {
  some c in input.spec.template.spec.containers
  endswith(c.image, ":latest")
  msg := sprintf("image %s uses latest", [c.image])
}

exception contains rules if {
  input.metadata.name == "legacy"
  rules := ["latest"]
}
"""

OTHER = """package k8s.extra
import rego.v1

deny contains "extra says no" if input.kind == "Service"
"""

MANIFESTS = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {}}
  template:
    spec:
      containers: [{name: web, image: "nginx:latest"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: legacy}
spec:
  selector: {matchLabels: {app: legacy}}
  template:
    spec:
      securityContext: {runAsNonRoot: true}
      containers: [{name: web, image: "nginx:latest"}]
---
apiVersion: v1
kind: Service
metadata: {name: svc}
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    pol = tmp_path / "policy"
    pol.mkdir()
    (pol / "base.rego").write_text(V0)
    (pol / "v1.rego").write_text(V1)
    (pol / "extra.rego").write_text(OTHER)
    (pol / "base_test.rego").write_text("package main\n\ntest_x if { false }\n")
    (tmp_path / "m.yaml").write_text(MANIFESTS)
    return tmp_path


def test_both_syntaxes_exceptions_and_namespaces(tree: Path) -> None:
    ps = rego.load([tree / "policy"])
    assert all(not name.endswith("_test.rego") for name, _ in ps.modules)
    docs = [(f"m.yaml#{i}", d) for i, d in enumerate(_docs(tree / "m.yaml"))]
    main_only = rego.evaluate(ps, docs, ["main"])
    by_file = {o.file: o for o in main_only}
    assert sorted(f.message for f in by_file["m.yaml#0"].failures) == [
        "Containers must not run as root",
        "Deployment must have an app selector",
        "image nginx:latest uses latest",
    ]
    legacy = by_file["m.yaml#1"]
    assert legacy.failures == []
    assert [f.message for f in legacy.exceptions] == ["image nginx:latest uses latest"]
    assert [f.message for f in by_file["m.yaml#2"].warnings] == ["Service svc is exposed"]
    every = rego.evaluate(ps, docs, None)
    assert {o.namespace for o in every} == {"main", "k8s.extra"}


def _docs(path: Path) -> list[dict[str, object]]:
    from shipway.model import bounded

    return [d for d in bounded.load_yaml_all(path.read_text(), str(path)) if isinstance(d, dict)]


def test_syntax_errors_name_file_line_and_column_all_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rego"
    bad.write_text("package main\n\ndeny[msg] { input.x == }\n\nwarn[m] { m := }\n")
    ps = rego.load([bad])
    with pytest.raises(InputError) as info:
        rego.evaluate(ps, [("x", {})], ["main"])
    text = str(info.value)
    assert f"{bad}:3:21" in text and f"{bad}:5:13" in text


def test_policy_test_prints_conftest_lines_and_exits_1(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        ["policy", "test", "-p", str(tree / "policy"), "-f", str(tree / "m.yaml")], capsys
    )
    assert code == 1
    m = str(tree / "m.yaml")
    assert f"FAIL - {m} - main - Containers must not run as root" in out
    assert f"WARN - {m} - main - Service svc is exposed" in out
    assert f"EXCP - {m} - main - image nginx:latest uses latest" in out
    assert out.rstrip().endswith("3 failures, 1 exception")
    code, out, _ = run(
        [
            "policy",
            "test",
            "-p",
            str(tree / "policy"),
            "-f",
            str(tree / "m.yaml"),
            "-o",
            "json",
            "--all-namespaces",
        ],
        capsys,
    )
    results = json.loads(out)
    assert {r["namespace"] for r in results} == {"main", "k8s.extra"}
    assert any(f["msg"] == "extra says no" for r in results for f in r["failures"])


def test_warnings_only_pass_unless_fail_on_warn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "w.rego").write_text('package main\nimport rego.v1\nwarn contains "w" if true\n')
    (tmp_path / "m.yaml").write_text("kind: ConfigMap\nmetadata: {name: c}\n")
    args = ["policy", "test", "-p", str(tmp_path / "w.rego"), "-f", str(tmp_path / "m.yaml")]
    assert run(args, capsys)[0] == 0
    assert run([*args, "--fail-on-warn"], capsys)[0] == 1
    code, _, err = run(["policy", "test", "-p", str(tmp_path / "none"), "-f", "x"], capsys)
    assert code == 2 and "no such policy" in err


def test_policy_lint_exits_1_and_names_file_object_and_check(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["policy", "lint", "-f", str(tree / "m.yaml")], capsys)
    assert code == 1
    assert f"{tree / 'm.yaml'}: (Deployment/web)" in out and "(check: latest-tag)" in out
    code, out, _ = run(["policy", "lint", "-f", str(tree / "m.yaml"), "-o", "json"], capsys)
    assert {f["check"] for f in json.loads(out)["items"]} >= {"latest-tag", "run-as-non-root"}
    code, _, err = run(["policy", "lint", "-f", str(tree / "m.yaml"), "--exclude", "nope"], capsys)
    assert code == 2 and "unknown check" in err


def test_conftest_invocations_files_as_arguments_stdin_and_line_order(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    m = str(tree / "m.yaml")
    both = tree / "both.rego"
    both.write_text('package main\nimport rego.v1\ndeny contains "no" if input.kind == "Service"\n'
                    'warn contains "hm" if input.kind == "Service"\n')  # fmt: skip
    code, out, _ = run(["policy", "test", "-p", str(both), m], capsys)
    assert code == 1
    lines = [line for line in out.splitlines() if " - " in line]
    assert lines == [f"WARN - {m} - main - hm", f"FAIL - {m} - main - no"], "conftest's order"
    monkeypatch.chdir(tree)  # conftest's default policy directory: ./policy
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO((tree / "m.yaml").read_bytes())))
    code, out, err = run(["policy", "test", "-"], capsys)
    assert code == 1, err
    assert "FAIL - - main - Containers must not run as root" in out  # stdin: "-"
    code, _, err = run(["policy", "test"], capsys)
    assert code == 2 and "give the manifests" in err
    code, out, _ = run(["policy", "lint", m], capsys)
    assert code == 1 and "(check: latest-tag)" in out
