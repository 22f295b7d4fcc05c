"""``-n/--namespace`` and ``-A`` on apply, get, delete and app, as kubectl and argocd take them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cli_runner import run as run_cli

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web{ns}}}
spec:
  source: {{repoURL: "git://127.0.0.1/config.git", path: app}}
  destination: {{name: local, namespace: {dest}}}
"""
PIPELINE = """\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {name: build}
spec: {source: {repoURL: "git://127.0.0.1/app.git"}}
"""
PROJECT = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: shop}
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``shipway ARGS`` with its stderr's white space folded (messages wrap to the terminal)."""
    code, out, err = run_cli(args, capsys)
    return code, out, " ".join(err.split())


def _write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


@pytest.fixture
def two_webs(shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``web`` in argocd (no namespace given), ``dev`` (from the file) and ``prod`` (from -n)."""
    plain = _write(tmp_path, "web.yaml", APP.format(ns="", dest="web"))
    dev = _write(tmp_path, "dev.yaml", APP.format(ns=", namespace: dev", dest="dev"))
    prod = _write(tmp_path, "prod.yaml", APP.format(ns="", dest="prod"))
    assert run(["apply", "-f", plain], capsys)[:2] == (0, "application/web created\n")
    assert run(["apply", "-f", dev], capsys)[:2] == (0, "application/web created\n")
    assert run(["apply", "-f", prod, "-n", "prod"], capsys)[:2] == (0, "application/web created\n")


def _names(out: str) -> list[tuple[str, str]]:
    return [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in json.loads(out)["items"]]


@pytest.mark.usefixtures("two_webs")
def test_get_by_namespace_and_across_all(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["get", "applications", "-o", "json"], capsys)
    assert (code, _names(out)) == (0, [("argocd", "web")])  # Applications default to argocd
    assert _names(run(["get", "apps", "-n", "dev", "-o", "json"], capsys)[1]) == [("dev", "web")]
    everything = run(["get", "apps", "-A", "-o", "json"], capsys)[1]
    assert _names(everything) == [("argocd", "web"), ("dev", "web"), ("prod", "web")]
    code, out, _ = run(["get", "apps", "-A"], capsys)
    rows = [line.split()[:2] for line in out.splitlines()]
    assert rows == [["NAMESPACE", "NAME"], ["argocd", "web"], ["dev", "web"], ["prod", "web"]]
    code, out, _ = run(["get", "app", "web", "-n", "prod", "-o", "yaml"], capsys)
    got = yaml.safe_load(out)
    got["metadata"].pop("creationTimestamp")
    assert (code, got["metadata"], got["spec"]["destination"]["namespace"]) == (
        0,
        {"name": "web", "namespace": "prod"},
        "prod",
    )
    code, _, err = run(["get", "app", "web", "-n", "qa"], capsys)
    assert code == 3 and "Application 'web' not found in namespace 'qa'" in err


@pytest.mark.usefixtures("two_webs")
def test_delete_in_one_namespace_leaves_the_others(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["delete", "application", "web", "-n", "dev"], capsys)[:2] == (
        0,
        "application/web deleted\n",
    )
    everything = run(["get", "apps", "-A", "-o", "json"], capsys)[1]
    assert _names(everything) == [("argocd", "web"), ("prod", "web")]
    assert run(["delete", "application", "web", "-n", "dev"], capsys)[0] == 3


def test_apply_refuses_a_namespace_mismatch_and_stores_nothing(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = _write(tmp_path, "a.yaml", PIPELINE + "---\n" + APP.format(ns=", namespace: a", dest="x"))
    code, _, err = run(["apply", "-f", f, "--namespace", "b"], capsys)
    assert code == 2
    assert (
        'the namespace from the provided object "a" does not match the namespace "b". '
        "You must pass '--namespace=a' to perform this operation." in err
    )
    assert "a.yaml:8:23:" in err  # the second document's metadata.namespace
    assert _names(run(["get", "pipelines", "-A", "-o", "json"], capsys)[1]) == []


def test_current_namespace_from_the_environment(
    shipway_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIPWAY_NAMESPACE", "team")
    f = _write(tmp_path, "p.yaml", PIPELINE + "---\n" + APP.format(ns="", dest="x"))
    assert run(["apply", "-f", f, "-o", "json"], capsys)[0] == 0
    assert _names(run(["get", "pipelines", "-o", "json"], capsys)[1]) == [("team", "build")]
    assert _names(run(["get", "apps", "-o", "json"], capsys)[1]) == [("argocd", "web")]
    monkeypatch.delenv("SHIPWAY_NAMESPACE")
    assert _names(run(["get", "pipelines", "-o", "json"], capsys)[1]) == []  # default is empty
    assert run(["get", "pipeline", "build", "-n", "team"], capsys)[0] == 0


def test_kargo_project_makes_its_namespace_exist(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["get", "namespaces", "-o", "name"], capsys)
    assert out.split() == ["namespace/argocd", "namespace/default"]
    assert run(["get", "ns", "shop"], capsys)[0] == 3
    assert run(["apply", "-f", _write(tmp_path, "p.yaml", PROJECT)], capsys)[1] == (
        "project/shop created\n"
    )
    assert "namespace/shop" in run(["get", "namespaces", "-o", "name"], capsys)[1].split()
    assert run(["get", "ns", "shop", "-o", "json"], capsys)[0] == 0
    code, out, _ = run(["get", "projects", "-A", "-o", "json"], capsys)
    assert [i["metadata"]["name"] for i in json.loads(out)["items"]] == ["shop"]
    # a Project holding resources is not deleted out from under them
    assert run(["apply", "-f", _write(tmp_path, "b.yaml", PIPELINE), "-n", "shop"], capsys)[0] == 0
    code, _, err = run(["delete", "project", "shop"], capsys)
    assert code == 4 and "Pipeline/build" in err
    assert run(["delete", "pipeline", "build", "-n", "shop"], capsys)[0] == 0
    assert run(["delete", "project", "shop"], capsys)[0] == 0


@pytest.mark.usefixtures("two_webs")
def test_app_commands_take_a_namespace(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["app", "list", "-o", "name"], capsys)
    assert out.split() == ["application/web"]
    code, out, _ = run(["app", "list", "-A", "-o", "name"], capsys)
    assert out.split() == ["application/web", "application/dev/web", "application/prod/web"]
    code, out, _ = run(["app", "list", "-n", "prod"], capsys)
    assert [line.split()[:3] for line in out.splitlines()[1:]] == [["prod/web", "local", "prod"]]
    for args in (["-n", "dev"], ["-N", "dev"], []):
        name = "web" if args else "dev/web"
        code, out, _ = run(["app", "get", name, *args, "--no-refresh", "-o", "json"], capsys)
        assert (code, json.loads(out)["metadata"]["namespace"]) == (0, "dev")
    code, out, _ = run(["app", "get", "web", "--no-refresh"], capsys)
    assert "Namespace:     web" in out  # the argocd one deploys into namespace web
    code, out, _ = run(["app", "history", "web", "-n", "prod", "-o", "json"], capsys)
    assert (code, json.loads(out)) == (0, {"apiVersion": "v1", "kind": "List", "items": []})
    code, _, err = run(["app", "get", "dev/web", "-n", "prod", "--no-refresh"], capsys)
    assert code == 2 and "not in namespace 'prod'" in err
    code, _, err = run(["app", "history", "web", "-n", "qa"], capsys)
    assert code == 3


@pytest.mark.usefixtures("two_webs")
def test_rbac_objects_of_apps_in_and_outside_argocd() -> None:
    from shipway.server.api import app_object
    from shipway.settings import load
    from shipway.store.db import open_store

    store = open_store(load())
    try:
        assert app_object(store, "web") == "default/web"  # Argo CD's project/app
        assert app_object(store, "dev_web") == "default/dev/web"  # project/namespace/app
        assert app_object(store, "prod/web") == "default/prod/web"
    finally:
        store.close()
