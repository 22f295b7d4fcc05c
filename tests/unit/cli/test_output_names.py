"""``-o name`` and ``-o json`` outside the lists: names where there are objects, kubectl's
refusal where there are none (never the command's table), a ``List`` for several results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_runner import run
from shipway.cli import output as out
from shipway.model.errors import InputError

CERTS = """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: one, namespace: default}
status: {conditions: [{type: Ready, status: "True"}]}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: two, namespace: default}
status: {conditions: [{type: Ready, status: "False", reason: Failed, message: no}]}
"""
APPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source: {repoURL: "git://127.0.0.1/config.git", path: web}
  destination: {name: local, namespace: web}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: api}
spec:
  source: {repoURL: "git://127.0.0.1/config.git", path: api}
  destination: {name: local, namespace: api}
"""
REFUSED = (
    'error: unable to match a printer suitable for the output format "name", allowed formats '
    "are: custom-columns,custom-columns-file,json,jsonpath,jsonpath-as-json,jsonpath-file,"
    "wide,yaml"
)


def test_name_is_refused_where_the_output_names_no_objects(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "certs.yaml").write_text(CERTS)
    for args in (["metrics", "dora"], ["app", "health", "-f", str(tmp_path / "certs.yaml")],
                 ["vuln", "db", "status"], ["image", "tags", "127.0.0.1:9/none"]):  # fmt: skip
        code, got, err = run([*args, "-o", "name"], capsys)
        assert (code, got, err.strip()) == (2, "", REFUSED), args
    # the other formats still work there
    code, got, _ = run(["metrics", "dora", "-o", "jsonpath={.releases}"], capsys)
    assert (code, got) == (0, "0")


def test_several_results_are_a_list_and_named_objects_print_kind_and_name(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "certs.yaml").write_text(CERTS)
    code, got, _ = run(["app", "health", "-f", str(tmp_path / "certs.yaml"), "-o", "json"], capsys)
    data = json.loads(got)
    assert (data["apiVersion"], data["kind"]) == ("v1", "List")
    assert [i["status"] for i in data["items"]] == ["Healthy", "Degraded"]

    (tmp_path / "apps.yaml").write_text(APPS)
    code, got, _ = run(["apply", "-f", str(tmp_path / "apps.yaml"), "-o", "name"], capsys)
    assert (code, got.splitlines()) == (0, ["application/web", "application/api"])
    code, got, _ = run(["apply", "-f", str(tmp_path / "apps.yaml"), "-o", "json"], capsys)
    data = json.loads(got)
    assert data["kind"] == "List"
    assert [(i["name"], i["result"]) for i in data["items"]] == [("web", "unchanged"),
                                                                 ("api", "unchanged")]  # fmt: skip
    code, got, _ = run(["account", "create", "bob", "--no-password", "-o", "name"], capsys)
    assert (code, got) == (0, "account/bob\n")
    code, got, _ = run(["account", "token", "create", "bob", "-o", "name"], capsys)
    listed = json.loads(run(["account", "token", "list", "bob", "-o", "json"], capsys)[1])
    assert (code, got) == (0, f"token/{listed['items'][0]['id']}\n")


def test_emit_names_records_by_their_kind_word_and_refuses_the_rest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert out.emit({"id": "r-1", "app": "web"}, "name", name="release")
    assert out.emit([{"id": "a"}, {"id": "b"}], "name", name="run")
    assert capsys.readouterr().out == "release/r-1\nrun/a\nrun/b\n"
    with pytest.raises(InputError, match='output format "name"'):
        out.emit({"releases": 3}, "name")
    with pytest.raises(InputError):  # nothing printed before the refusal
        out.emit([{"id": "a"}, {"n": 1}], "name")
    assert capsys.readouterr().out == ""
    assert out.emit([{"id": "a"}], "json")
    assert json.loads(capsys.readouterr().out) == {"apiVersion": "v1", "kind": "List",
                                                   "items": [{"id": "a"}]}  # fmt: skip
