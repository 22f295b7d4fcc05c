"""The whole chain with signing on: CI builds and pushes, the controller signs and attests,
the policy requires the signature and the provenance, and only then does the sync apply.

Real pieces: the git daemon, shipway's CI engine running the workflow (``shipway image
build --push`` to the real registry), the registry's push notification as CNCF
distribution sends it, parsed and handed to the controller's signer (what the
controller's registry lane does first), a Kyverno ClusterPolicy stored as-is, and the
reconciler syncing an Application onto an in-process cluster. An image pushed outside
CI, and one CI built from another repository, are refused before anything is applied.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from security_images import push_image
from shipway import cluster
from shipway.ci.service import run_event
from shipway.cluster.memory import MemoryTarget
from shipway.controller import signing
from shipway.deploy import engine
from shipway.git.repo import Repo
from shipway.model.resources import parse_text
from shipway.security.sign import envelope as env
from shipway.security.sign import keys
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import resources as store_resources
from shipway.store.db import Store, open_store
from shipway.updater import webhooks

pytestmark = pytest.mark.integration

WORKFLOW = """\
on:
  push: {branches: [main]}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: >-
          shipway image build . -t "${{ vars.REGISTRY }}/chain/${{ vars.NAME }}:${{ github.sha }}"
          --label org.opencontainers.image.revision=${{ github.sha }} --push
"""
SOURCE_KEY = "{{ buildDefinition.externalParameters.workflow.repository }}"


@pytest.fixture
def store(shipway_home: Path) -> Iterator[Store]:
    s = open_store(Settings())
    yield s
    s.close()


@pytest.fixture
def target() -> Iterator[tuple[str, MemoryTarget]]:
    name = "mem-supply-chain"
    mem = MemoryTarget(name)
    cluster.register(name, mem)
    yield name, mem
    cluster.register(name, None)


def ci_build(store: Store, git_server: Any, registry: Any, tmp_path: Path, name: str) -> str:
    """Push an app repo to the git daemon and run its workflow; the image reference built."""
    url = git_server.bare(f"chain-{name}")
    work = Repo.init(tmp_path / f"src-{name}")
    files = {".github/workflows/ci.yml": WORKFLOW, "index.html": f"{name}\n",
             "Dockerfile": "FROM scratch\nCOPY index.html /www/index.html\n"}  # fmt: skip
    for rel, text in files.items():
        (work.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (work.path / rel).write_text(text)
    work.add_all()
    commit = work.commit("app")
    work.run("remote", "add", "origin", url)
    work.push("origin", "HEAD:refs/heads/main")
    lines: list[str] = []
    (record,) = run_event(
        store, repo=url, commit=commit, ref="refs/heads/main", event="push",
        payload={"ref": "refs/heads/main", "after": commit, "before": "0" * 40,
                 "repository": {"clone_url": url, "name": name}},  # as the controller sends
        workdir=tmp_path / f"ci-{name}", vars={"REGISTRY": registry.host, "NAME": name},
        secrets={}, on_line=lines.append,
        env={"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip
    assert record["conclusion"] == "success", "\n".join(lines)
    return f"{registry.host}/chain/{name}:{commit}"


def notify(host: str, image: str) -> list[webhooks.PushEvent]:
    """The registry's push notification for ``image``, as distribution sends it, parsed."""
    repo, _, tag = image.removeprefix(host + "/").partition(":")
    head = httpx.head(f"http://{host}/v2/{repo}/manifests/{tag}", timeout=10, headers={
        "Accept": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    body = {"events": [{"action": "push", "request": {"host": host}, "target": {
        "mediaType": head.headers["content-type"], "repository": repo, "tag": tag,
        "digest": head.headers["docker-content-digest"]}}]}  # fmt: skip
    return webhooks.parse_distribution(json.dumps(body).encode())


def policy(host: str, pub: Path, source: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": "built-here"},
        "spec": {"validationFailureAction": "Enforce", "rules": [{
            "name": "signed-with-provenance",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "verifyImages": [{
                "imageReferences": [f"{host}/chain/*"],
                "attestors": [{"entries": [{"keys": {"publicKeys": pub.read_text()}}]}],
                "attestations": [
                    {"type": env.SLSA_PROVENANCE_V1, "conditions": [{"all": [
                        {"key": SOURCE_KEY, "operator": "Equals", "value": source}]}]},
                    {"type": env.CYCLONEDX_PREDICATE,
                     "conditions": [{"all": [{"key": "{{ bomFormat }}", "operator": "Equals",
                                              "value": "CycloneDX"}]}]},
                ],
            }]}]},
    })  # fmt: skip


def deploy(store: Store, config: Repo, url: str, target: str, image: str, msg: str) -> None:
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
    (config.path / "web.yaml").write_text(yaml.safe_dump(dep))  # fmt: skip
    config.add_all()
    config.commit(msg)
    config.push("origin", "HEAD:refs/heads/main")
    app = textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: chain-web}}
        spec:
          project: default
          source: {{repoURL: "{url}", path: ".", targetRevision: main}}
          destination: {{name: {target}, namespace: default}}
        """)
    store_resources.apply(store, parse_text(app, "app.yaml"))


def test_ci_built_images_are_signed_and_attested_and_only_they_deploy(
    store: Store, git_server: Any, registry: Any, target: tuple[str, MemoryTarget],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "pw")
    key, pub = keys.generate(tmp_path / "controller")
    settings = dataclasses.replace(Settings(), signing_key=str(key))
    name, mem = target

    built = ci_build(store, git_server, registry, tmp_path, "web")
    other = ci_build(store, git_server, registry, tmp_path, "fork")
    outsider = f"{registry.host}/chain/web:hand-pushed"
    push_image(registry.host, "chain/web", "hand-pushed", {"www/index.html": b"not from CI\n"})
    for image in (built, other, outsider):
        signing.sign_pushed(settings, store, notify(registry.host, image))
    signed = [e.involved.name for e in store_events.query(store) if e.reason == "ImageSigned"]
    assert len(signed) == 2 and not any("hand-pushed" in s for s in signed)

    source = f"{git_server.url('chain-web')}"
    store_resources.apply(store, parse_text(policy(registry.host, pub, source), "policy.yaml"))
    config_url = git_server.bare("chain-config")
    config = Repo.init(tmp_path / "config")
    config.run("remote", "add", "origin", config_url)

    deploy(store, config, config_url, name, outsider, "hand-pushed image")
    res = engine.reconcile(store, "chain-web", settings=settings)
    assert res.phase == "Failed"
    assert "refused by policy: policy built-here/signed-with-provenance" in res.message
    assert f"image {outsider}" in res.message and "no signatures found" in res.message
    assert mem.live("chain-web") == {}, "nothing was applied"

    deploy(store, config, config_url, name, other, "built from another repository")
    res = engine.reconcile(store, "chain-web", settings=settings)
    assert res.phase == "Failed"
    assert f"attestation {env.SLSA_PROVENANCE_V1}" in res.message
    assert git_server.url("chain-fork") in res.message, res.message
    assert mem.live("chain-web") == {}, "nothing was applied"

    deploy(store, config, config_url, name, built, "the CI build")
    res = engine.reconcile(store, "chain-web", settings=settings)
    assert res.phase == "Succeeded", res.message
    assert res.policy["images"][built]["verified"] is True
    assert res.policy["images"][built]["by"] == [  # what the release record says was verified
        "built-here/signed-with-provenance: verified: signature, "
        f"attestation {env.SLSA_PROVENANCE_V1}, attestation {env.CYCLONEDX_PREDICATE}"
    ]
    (dep,) = [o for k, o in mem.live("chain-web").items() if k.endswith("/Deployment/default/web")]
    digest = res.policy["images"][built]["digest"]  # mutateDigest: runs what was verified
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == f"{built}@{digest}"
