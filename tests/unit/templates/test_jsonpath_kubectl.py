"""shipway's JSONPath beside the real ``kubectl`` (from apt) on the same objects.

Lists: a fake API server (there is no real one here) serves ConfigMaps with
arbitrary status fields; ``kubectl get configmaps -o jsonpath=T`` prints what
kubectl makes of its own ``List`` (the one ``-o json`` prints), and shipway's
``jsonpath`` runs on that JSON. One object: ``kubectl annotate --local -f
OBJ.json key- -o jsonpath=T`` (no server at all). Templates that succeed run
in one kubectl call, joined by a separator; failing ones one by one, and the
reasons must be kubectl's. Where kubectl visits a map's keys in Go's random
order (``*`` and ``..`` over maps), the words are compared as a multiset.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_kube import resources
from fake_kube.server import FakeKube
from shipway.templates import jsonpath
from shipway.templates.errors import JSONPathError

SEP = "~~SEP~~"

ITEMS = [
    {"name": "web", "labels": {"app": "web", "tier": "front"}, "health": "Healthy", "n": 3,
     "f": 2.5, "ok": True, "tags": ["a", "b"], "team": "blue"},
    {"name": "api", "labels": {"app": "api"}, "health": "Degraded", "n": 1, "f": 1234567.5,
     "ok": False, "tags": [], "team": "red"},
    {"name": "db", "labels": {"app": "db"}, "health": "Healthy", "n": 2, "f": 1e-7, "ok": True,
     "tags": ["c"], "team": "<&>"},
]  # fmt: skip

ORDERED = [
    "{.items[*].metadata.name}",
    "{.kind} {.apiVersion} {.metadata}",
    '{range .items[*]}{.metadata.name}{"\\t"}{.status.health.status}{"\\n"}{end}',
    '{.items[?(@.status.health.status=="Healthy")].metadata.name}',
    "{.items[?(@.status.health.status!='Healthy')].metadata.name}",
    "{.items[?(@.status.n>1)].status.n}",
    "{.items[?(@.status.n >= 2)].metadata.name}",
    "{.items[?(@.status.n<=2)].metadata.name}",
    "{.items[?(@.status.n<2)].metadata.name}",
    "{.items[?(@.status.f>1.0)].metadata.name}",
    "{.items[?(@.status.ok==true)].metadata.name}",
    "{.items[?(@.status.ok!=true)].metadata.name}",
    "{.items[?(@.status.ok)].metadata.name}",
    "{.items[?(@.status.tags[0])].metadata.name}",
    "{.items[?(@.metadata.labels.tier)].metadata.name}",
    "{.items[0].metadata.name} {.items[-1].metadata.name} {.items[-3].metadata.name}",
    "{.items[1:].metadata.name}|{.items[:2].metadata.name}|{.items[::2].metadata.name}",
    "{.items[0:3:2].metadata.name}|{.items[1:1].metadata.name}|{.items[-2:].metadata.name}",
    "{.items[0,2].metadata.name}|{.items[2,0].status.n}",
    "{.items[*]['metadata.name', 'status.n']}",
    "{.items[*].metadata.labels}",
    "{.items[*].status.f}|{.items[*].status.ok}|{.items[*].status.tags}",
    "{.items[*].status.tags[*]}",
    "{.items[*].status.health.*}",
    "{.items[2].metadata.annotations.example\\.com/team}",
    "{.items[*].metadata.annotations['example\\.com/team']}",
    '{\'a\\\'b\'} {"\\u00e9\\x41\\101"} {"tab\\there"} {1}{-2}{+3}{2.50}{true}',
    "{.nosuch}|{.items[0].nosuch}|{.items[*].metadata.nosuch}|{.items[0].status.n.x}",
    "{range .items[*]}[{range .status.tags[*]}{@};{end}]{end}",
    "{range .items[*]}{.metadata.name}{end} after {.kind}",
    "{range .nosuch[*]}{.x}{end}empty",
    "{.items[0].metadata.name.*}",
    "{@.kind} {$.kind} {.items[0].status.team}",
    "plain text, no actions",
    "{.items[?(@.status.team=='<&>')].status}",
]
UNORDERED = [
    "{..name}",
    "{.items[0].status.*}",
    "{.items[*].metadata.labels.*}",
    "{..app}",
    "{.items[0]..n}",
]
FAILING = [
    "{.items[5]}",
    "{.items[0:4]}",
    "{.items[-4]}",
    "{.items[0:2:0]}",
    "{.items[2:1]}",
    "{.metadata[0]}",
    "{.kind[0]}",
    "{.metadata[?(@.x)]}",
    "{.items[?(@.status.n=='1')]}",
    "{.items[?(@.status.f>1)]}",
    "{.items[?(@.status.ok<true)]}",
    "{.items[?(@.status.tags==1)]}",
    "{.items[?(@.status.tags[*]=='a')]}",
    "{end}",
    "{nosuch}",
    "{.kind",
    "{.items[0}",
    "{.items[x]}",
    "{.items[*]['a',\"b\"]}",
    '{"abc}',
    "{.a,.b}",
    "{\t.a}",
    "{....a}",
    "{1.2.3}",
    "{.items[?(@.a=~'x')]}",
    "{.items[?(@.a=='x']}",
    "{.items[?(@.a=='x')}",
    "{'\\q'}",
    "{.items[:-]}",
]


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
            fake.store.create(kind, "default", {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": it["name"], "labels": it["labels"],
                             "annotations": {"example.com/team": it["team"]}},
                "status": {"health": {"status": it["health"]}, "n": it["n"], "f": it["f"],
                           "ok": it["ok"], "tags": it["tags"], "team": it["team"]},
            })  # fmt: skip
    config = tmp_path_factory.mktemp("kube") / "config.json"
    config.write_text(json.dumps(fake.kubeconfig()))
    yield {**os.environ, "KUBECONFIG": str(config)}
    fake.close()


def _get(env: dict[str, str], output: str) -> subprocess.CompletedProcess[str]:
    argv = [_kubectl(), "get", "configmaps", "-n", "default", "-o", output]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


def _ours(template: str, data: object) -> str:
    return jsonpath.compile(template).execute(data)


def _kubectl_reason(stderr: str) -> str:
    first = stderr.strip().splitlines()[0]
    if m := re.match(r'error: error executing jsonpath ".*?": Error executing template: (.*?)\. '
                     r"Printing more information", first):  # fmt: skip
        return "exec: " + m[1]
    if m := re.match(r"error: error parsing jsonpath .*?, (.*)$", first, re.DOTALL):
        return "parse: " + m[1]
    return "unknown: " + first


def _our_reason(template: str, data: object) -> str:
    try:
        out = _ours(template, data)
    except JSONPathError as exc:
        return f"{exc.phase}: {exc.reason}"
    return f"no error: {out!r}"


def _words(text: str) -> list[str]:
    return sorted(text.split())


@pytest.fixture(scope="module")
def listing(cluster: dict[str, str]) -> object:
    """The ``List`` kubectl makes of the ConfigMaps, as ``-o json`` prints it."""
    found = _get(cluster, "json")
    assert found.returncode == 0, found.stderr
    return json.loads(found.stdout)


def test_templates_print_what_kubectl_prints_for_a_list(
    cluster: dict[str, str], listing: dict[str, list[dict[str, dict[str, str]]]]
) -> None:
    data = listing
    assert [i["metadata"]["name"] for i in data["items"]] == ["api", "db", "web"]
    templates = ORDERED + UNORDERED
    theirs = _get(cluster, "jsonpath=" + SEP.join(templates))
    assert theirs.returncode == 0, theirs.stderr
    outputs = theirs.stdout.split(SEP)
    assert len(outputs) == len(templates)
    for template, expected in zip(templates, outputs, strict=True):
        got = _ours(template, data)
        if template in UNORDERED:
            assert _words(got) == _words(expected), template
        else:
            assert got == expected, template


@pytest.mark.parametrize("template", FAILING)
def test_failing_templates_fail_with_kubectls_reason(
    cluster: dict[str, str], listing: object, template: str
) -> None:
    data = listing
    theirs = _get(cluster, "jsonpath=" + template)
    assert theirs.returncode != 0, (template, theirs.stdout)
    assert _our_reason(template, data) == _kubectl_reason(theirs.stderr)


OBJECT = {
    "apiVersion": "v1",
    "kind": "Thing",
    "metadata": {"name": "one", "annotations": {"kept": "yes"}},
    "users": [{"name": "myself", "user": {}},
              {"name": "e2e", "user": {"username": "admin", "password": "secret"}}],
    "spec": {"replicas": 2, "ratio": 0.25, "empty": "", "none": None, "list": [[1, 2], [3]]},
}  # fmt: skip
OBJECT_TEMPLATES = [
    '{.users[?(@.name=="e2e")].user.password}',
    "{.users[0].name} {.users[*].user}",
    "{.spec.replicas} {.spec.ratio} [{.spec.empty}] {.spec.none} {.spec.list[*][0]}",
    "{.spec.list[1][0]} {.spec.list}",
    "{range .users[*]}{.name}={.user.username}{'\\n'}{end}",
    "{.metadata}",
    "{}",
]


def test_templates_print_what_kubectl_prints_for_one_object(tmp_path: Path) -> None:
    path = tmp_path / "thing.json"
    path.write_text(json.dumps(OBJECT))
    argv = [_kubectl(), "annotate", "--local", "-f", str(path), "nonexistent-", "-o",
            "jsonpath=" + SEP.join(OBJECT_TEMPLATES)]  # fmt: skip
    env = {**os.environ, "KUBECONFIG": os.devnull}
    theirs = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert theirs.returncode == 0, theirs.stderr
    outputs = theirs.stdout.split(SEP)
    for template, expected in zip(OBJECT_TEMPLATES, outputs, strict=True):
        assert _ours(template, OBJECT) == expected, template
