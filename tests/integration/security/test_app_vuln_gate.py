"""An Application's vulnerability gate at sync, its ignore rules, and the release record.

Real registry and git daemon; the OSV records are the tests' own; the target is the
in-process cluster. An Application annotated ``shipway.dev/vulnerability-gate: HIGH``
refuses an image with unignored findings at or above HIGH, naming them; the
``shipway-policies`` ConfigMap's ``.trivyignore.yaml``, ``.grype.yaml`` and OpenVEX keys
are read as-is; the gate's counts land on the release record and in ``release get``.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from security_records import RECORDS

from security_images import push_image, sample_files
from shipway import cluster
from shipway.cli.main import main
from shipway.cluster.memory import MemoryTarget
from shipway.controller.tracker import ReleaseTracker
from shipway.deploy import engine
from shipway.git.repo import Repo
from shipway.model.resources import parse_text
from shipway.security import vuln
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration

LODASH = "GHSA-35jh-r3h4-6jhm (lodash 4.17.20, HIGH)"
MINIMIST = "GHSA-xvch-5gv4-984h (minimist 1.2.5, CRITICAL)"


@pytest.fixture
def store(shipway_home: Path) -> Iterator[Store]:
    s = open_store(Settings())
    yield s
    s.close()


@pytest.fixture
def target() -> Iterator[tuple[str, MemoryTarget]]:
    name = "mem-vuln-gate"
    mem = MemoryTarget(name)
    cluster.register(name, mem)
    yield name, mem
    cluster.register(name, None)


def import_records(tmp_path: Path) -> None:
    osv_dir = tmp_path / "osv"
    osv_dir.mkdir()
    for rec in RECORDS:
        (osv_dir / f"{rec['id']}.json").write_text(json.dumps(rec))
    with vuln.VulnDB(create=True) as db:
        db.import_path(osv_dir)


def config_repo(git_server: Any, tmp_path: Path, image: str) -> tuple[str, str]:
    """A config repo whose Deployment runs ``image``: ``(url, commit)``."""
    url = git_server.bare("vuln-gate-config")
    work = Repo.init(tmp_path / "config")
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }
    (work.path / "web.yaml").write_text(yaml.safe_dump(dep))
    work.add_all()
    commit = work.commit("web")
    work.run("remote", "add", "origin", url)
    work.push("origin", "HEAD:refs/heads/main")
    return url, commit


def application(url: str, target: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata:
          name: gated
          annotations:
            shipway.dev/vulnerability-gate: HIGH
        spec:
          project: default
          source: {{repoURL: "{url}", path: ".", targetRevision: main}}
          destination: {{name: {target}, namespace: default}}
        """)


def policies_configmap(data: dict[str, str]) -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "shipway-policies", "namespace": "argocd"},
        "data": {"lint": "off", **data},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def openvex(repository: str) -> str:
    """Minimist is not reachable in any image of ``repository`` (Trivy's product form)."""
    return json.dumps(
        {
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://example.com/vex/web-1",
            "author": "platform team",
            "timestamp": "2026-01-01T00:00:00Z",
            "version": 1,
            "statements": [
                {
                    "vulnerability": {"name": "CVE-2021-44906"},
                    "products": [
                        {
                            "@id": f"pkg:oci/web?repository_url={repository}",
                            "subcomponents": [{"@id": "pkg:npm/minimist"}],
                        }
                    ],
                    "status": "not_affected",
                    "justification": "vulnerable_code_not_in_execute_path",
                }
            ],
        },
        indent=2,
    )


def test_an_app_refuses_unignored_findings_and_the_release_keeps_the_counts(
    store: Store,
    git_server: Any,
    registry: Any,
    target: tuple[str, MemoryTarget],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name, mem = target
    import_records(tmp_path)
    digest = push_image(registry.host, "gate/web", "1.0.0", sample_files())
    image = f"{registry.host}/gate/web:1.0.0"
    url, commit = config_repo(git_server, tmp_path, image)
    store_resources.apply(store, parse_text(application(url, name), "app.yaml"))

    res = engine.reconcile(store, "gated", settings=Settings())
    assert res.phase == "Failed"
    assert f"image {image} has 2 finding(s) at or above HIGH: " in res.message, res.message
    assert LODASH in res.message and MINIMIST in res.message
    assert mem.live("gated") == {}, "nothing was applied"
    assert res.policy["vulnerabilities"][image]["CRITICAL"] == 1
    assert res.policy["vulnerabilities"][image]["HIGH"] == 1
    # app diff says what the gates would say, this app's vulnerability gate included
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["app", "diff", "gated"])
    assert exited.value.code == 1  # out of sync: nothing was applied
    shown = capsys.readouterr().out
    assert f"REFUSED: image {image} has 2 finding(s) at or above HIGH: " in shown, shown

    # the Trivy file ignores lodash; minimist's finding still refuses
    trivy = "vulnerabilities:\n  - id: CVE-2021-23337\n    statement: lodash template unused\n"
    warn = ('package main\nimport rego.v1\n'
            'warn contains "no team label" if not input.metadata.labels.team\n')  # fmt: skip
    cm = policies_configmap({".trivyignore.yaml": trivy, "labels.rego": warn})
    store_resources.apply(store, parse_text(cm, "c"))
    res = engine.reconcile(store, "gated", settings=Settings())
    assert res.phase == "Failed"
    assert f"has 1 finding(s) at or above HIGH: {MINIMIST}" in res.message, res.message
    assert res.policy["vulnerabilities"][image]["ignored"] == 1
    with pytest.raises(SystemExit):
        main(["app", "diff", "gated"])
    shown = capsys.readouterr().out
    assert f"REFUSED: image {image} has 1 finding(s) at or above HIGH: {MINIMIST}" in shown
    assert "WARN: Deployment/" in shown and "no team label" in shown, shown

    # a grype rule that does not load refuses, naming the key, line and column
    grype = "ignore:\n  - vulnerability: GHSA-xvch-5gv4-984h\n    namespace: npm\n"
    cm = policies_configmap({".trivyignore.yaml": trivy, ".grype.yaml": grype})
    store_resources.apply(store, parse_text(cm, "c"))
    res = engine.reconcile(store, "gated", settings=Settings())
    assert res.phase == "Failed"
    assert "vulnerability ignore rules do not load: shipway-policies/.grype.yaml:3:5: " \
           "namespace is not supported" in res.message, res.message  # fmt: skip

    # OpenVEX says minimist's code is not reachable in this image: the sync goes
    vex = openvex(f"{registry.host}/gate/web")
    cm = policies_configmap({".trivyignore.yaml": trivy, "web.openvex.json": vex})
    store_resources.apply(store, parse_text(cm, "c"))
    res = engine.reconcile(store, "gated", settings=Settings())
    assert res.phase == "Succeeded", res.message
    assert any(k.endswith("/Deployment/default/web") for k in mem.live("gated"))
    counts = res.policy["vulnerabilities"][image]
    assert counts["ignored"] == 2 and "HIGH" not in counts and "CRITICAL" not in counts

    # the release of that config commit keeps what the gate saw; release get shows it
    tracker = ReleaseTracker(store)
    at = dt.datetime.now(dt.UTC)
    rel = tracker.image_updated("gated", None, f"{registry.host}/gate/web@{digest}", commit,
                                pushed_at=at, update_started=at, update_finished=at)  # fmt: skip
    tracker.deployed("gated", res.revision, sync_started=at, sync_finished=at, sync_ok=True,
                     sync_message=res.message, policy=res.policy)  # fmt: skip
    main(["release", "get", rel.id])
    shown = capsys.readouterr().out
    kept = ", ".join(f"{n} {sev}" for sev, n in counts.items() if sev != "ignored")
    assert f"vulnerabilities {image}: {kept}, 2 ignored" in shown, shown
    main(["release", "get", rel.id, "-o", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["security"]["policy"]["vulnerabilities"][image] == counts
