"""``-o custom-columns`` and ``--sort-by`` beside the real ``kubectl`` on the same objects.

A fake API server (no real one runs here) serves ConfigMaps; kubectl prints
``get configmaps -o custom-columns=SPEC [--sort-by P]`` and shipway's output
module prints the same spec over the ``List`` kubectl's ``-o json`` gives:
the text must be identical (tabwriter widths, ``<none>``, Go's ``%v`` of maps,
lists and numbers, natural order, objects without the field first).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import click
import pytest
from click.testing import CliRunner

from fake_kube import resources
from fake_kube.server import FakeKube
from shipway.cli import output as out

ITEMS = [
    {"name": "web-10", "labels": {"app": "web", "tier": "front"}, "n": 3, "f": 2.5,
     "tags": ["a", "b"], "ok": True, "phase": "Running"},
    {"name": "web-9", "labels": {"app": "web"}, "n": 12, "f": 1234567.5, "tags": [],
     "ok": False, "phase": "Pending"},
    {"name": "api", "labels": {"app": "api"}, "n": 1, "f": 1e-7, "tags": ["c"], "ok": True},
    {"name": "db-a", "labels": {}, "n": 100, "f": 0.5, "tags": ["x", "y", "z"], "ok": False,
     "phase": "a long phase name with spaces"},
]  # fmt: skip

COLUMNS = [
    "NAME:.metadata.name",
    "NAME:.metadata.name,APP:.metadata.labels.app,N:.status.n",
    "NAME:metadata.name,LABELS:.metadata.labels,TAGS:.status.tags,OK:.status.ok",
    "F:{.status.f},PHASE:.status.phase,ALL:.status.tags[*]",
    "X:.nosuch,Y:.status.n",
    "A:.metadata.name,B:.status",
]
SORTS = [".metadata.name", "{.status.n}", ".status.f", ".status.phase", ".metadata.labels.app"]


def _kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is not installed: run scripts/setup.sh")
    return found


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    fake = FakeKube()
    kind = resources.BY_PATH[("", "v1", "configmaps")]
    with fake.store.lock:
        for it in ITEMS:
            status = {k: it[k] for k in ("n", "f", "tags", "ok", "phase") if k in it}
            fake.store.create(kind, "default", {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": it["name"], "labels": it["labels"]}, "status": status,
            })  # fmt: skip
    config = tmp_path_factory.mktemp("kube") / "config.json"
    config.write_text(json.dumps(fake.kubeconfig()))
    yield {**os.environ, "KUBECONFIG": str(config)}
    fake.close()


def _kube(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [_kubectl(), "get", "configmaps", "-n", "default", *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def listed(cluster: dict[str, str]) -> list[dict[str, Any]]:
    found = _kube(cluster, "-o", "json")
    assert found.returncode == 0, found.stderr
    items: list[dict[str, Any]] = json.loads(found.stdout)["items"]
    return items


def _ours(items: list[dict[str, Any]], *args: str) -> str:
    @click.command()
    @out.list_options
    @click.pass_context
    def show(ctx: click.Context, /, **_: Any) -> None:
        out.report(items, out.Options.of(ctx), table=out.rows_table(["name"], lambda i: [i]),
                   name="configmap")  # fmt: skip

    res = CliRunner(env={"COLUMNS": "", "SHIPWAY_COLOR": "never"}).invoke(show, list(args))
    assert res.exception is None, res.exception
    return res.output


@pytest.mark.parametrize("spec", COLUMNS)
def test_custom_columns_print_what_kubectl_prints(
    cluster: dict[str, str], listed: list[dict[str, Any]], spec: str
) -> None:
    theirs = _kube(cluster, "-o", f"custom-columns={spec}")
    assert theirs.returncode == 0, theirs.stderr
    assert _ours(listed, "-o", f"custom-columns={spec}") == theirs.stdout
    theirs = _kube(cluster, "-o", f"custom-columns={spec}", "--no-headers")
    assert _ours(listed, "-o", f"custom-columns={spec}", "--no-headers") == theirs.stdout


@pytest.mark.parametrize("sort", SORTS)
def test_sort_by_orders_as_kubectl(
    cluster: dict[str, str], listed: list[dict[str, Any]], sort: str
) -> None:
    spec = "NAME:.metadata.name,N:.status.n,PHASE:.status.phase"
    theirs = _kube(cluster, "-o", f"custom-columns={spec}", "--sort-by", sort)
    assert theirs.returncode == 0, theirs.stderr
    assert _ours(listed, "-o", f"custom-columns={spec}", "--sort-by", sort) == theirs.stdout


def _our_error(items: list[dict[str, Any]], *args: str) -> str:
    @click.command()
    @out.list_options
    @click.pass_context
    def show(ctx: click.Context, /, **_: Any) -> None:
        out.report(items, out.Options.of(ctx), table=out.rows_table(["name"], lambda i: [i]),
                   name="configmap")  # fmt: skip

    res = CliRunner().invoke(show, list(args))
    assert res.exception is not None and getattr(res.exception, "exit_code", 0) == 2
    return str(res.exception)


def test_failures_say_what_kubectl_says(
    cluster: dict[str, str], listed: list[dict[str, Any]]
) -> None:
    theirs = _kube(cluster, "-o", "custom-columns=N:.status.tags[0]")
    assert theirs.returncode == 1
    reason = theirs.stderr.strip().removeprefix("error: ")
    assert reason == "array index out of bounds: index 0, length 0"
    assert reason in _our_error(listed, "-o", "custom-columns=N:.status.tags[0]")
    theirs = _kube(cluster, "-o", "custom-columns=N:.metadata.name", "--sort-by", ".nosuch")
    assert theirs.returncode == 1
    assert "couldn't find any field with path" in theirs.stderr
    assert "couldn't find any field with path" in _our_error(listed, "--sort-by", ".nosuch")
