"""Stages from Kargo's documented examples (``tests/kargo_docs``) promoted for real: their
steps run against the local git daemon and an in-process cluster, as ``shipway promote``
runs them (``promote.start`` then the runner). Only the example's repository URL is
pointed at the local git server; the rest of each Stage is the corpus' text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from promote_helpers import write

from shipway import cluster
from shipway.cluster.memory import MemoryTarget
from shipway.git.repo import Repo, ls_remote
from shipway.model.resources import Resource, parse_text
from shipway.promote import runner
from shipway.promote import start as start_mod
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration

DOCS = Path(__file__).parents[2] / "kargo_docs"
DOC_REPO = "https://git.example.com/acme/guestbook-config.git"
IMAGE = "registry.example.com/acme/guestbook"
PROJECT = "kargo-docs"


@pytest.fixture
def env(shipway_home: Path) -> Iterator[tuple[Settings, Store]]:
    settings = Settings()
    store = open_store(settings)
    yield settings, store
    store.close()


@pytest.fixture
def memory(request: pytest.FixtureRequest) -> Iterator[str]:
    name = "mem-" + request.node.name[:40]
    cluster.register(name, MemoryTarget(name))
    yield name
    cluster.register(name, None)


def _seed(url: str, work: Path) -> str:
    """main: ``base/`` (a Deployment of IMAGE) and ``stages/test/``; the commit."""
    repo = Repo.init(work)
    repo.run("remote", "add", "origin", url)
    pod = {"terminationGracePeriodSeconds": 1,
           "containers": [{"name": "guestbook", "image": f"{IMAGE}:1.26.0"}]}  # fmt: skip
    write(work, "base/deployment.yaml", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "guestbook"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "guestbook"}},
                 "template": {"metadata": {"labels": {"app": "guestbook"}}, "spec": pod}},
    })  # fmt: skip
    write(work, "base/kustomization.yaml", {"resources": ["deployment.yaml"]})
    write(work, "stages/test/kustomization.yaml", {"resources": ["../../base"]})
    repo.add_all()
    sha = repo.commit("seed")
    repo.push("origin", "HEAD:refs/heads/main")
    return sha


def _docs_stage(file: str, name: str, url: str) -> Resource:
    """Stage ``name`` of the corpus file, its example repository pointed at ``url``."""
    text = (DOCS / file).read_text().replace(DOC_REPO, url)
    found = [r for r in parse_text(text, file) if r.kind == "Stage" and r.name == name]
    assert len(found) == 1, name
    return found[0]


def _world(store: Store, url: str, sha: str, target: str, stages: list[Resource]) -> str:
    """The project, its Warehouse, one Freight (IMAGE 1.27.0 and commit ``sha``), the
    authorized Application kargo-docs-test, and ``stages``; the Freight's name."""
    base = [r for r in parse_text((DOCS / "00-project.yaml").read_text(), "00-project.yaml")
            if r.kind in ("Project", "Warehouse")]  # fmt: skip
    freight = {
        "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Freight",
        "metadata": {"name": "a1b2c3d4e5f6", "namespace": PROJECT}, "alias": "calm-heron",
        "origin": {"kind": "Warehouse", "name": "guestbook"},
        "images": [{"repoURL": IMAGE, "tag": "1.27.0", "digest": "sha256:" + "b" * 64}],
        "commits": [{"repoURL": url, "id": sha, "branch": "main"}],
    }  # fmt: skip
    app = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "kargo-docs-test",
                     "annotations": {"kargo.akuity.io/authorized-stage": f"{PROJECT}:test"}},
        "spec": {"project": "default",
                 "source": {"repoURL": url, "path": ".", "targetRevision": "stage/test"},
                 "destination": {"name": target, "namespace": "default"}},
    }  # fmt: skip
    docs = [yaml.safe_dump(freight), yaml.safe_dump(app)]
    store_resources.apply(store, [*base, *parse_text("---\n".join(docs), "world.yaml"),
                                  *stages])  # fmt: skip
    return str(freight["metadata"]["name"])  # type: ignore[index]


def _promote(settings: Settings, store: Store, stage: str, freight: str) -> dict[str, Any]:
    started = start_mod.start(store, project=PROJECT, stage=stage, freight=freight,
                              actor="alice")  # fmt: skip
    return runner.run(store, settings, started.key, poll=0.05)


def _by_alias(status: dict[str, Any]) -> dict[str, str]:
    return {m["alias"]: m["status"] for m in status["stepExecutionMetadata"]}


def test_the_documented_stage_template_promotes_end_to_end(env, git_server, memory,
                                                           tmp_path: Path) -> None:  # fmt: skip
    # working-with-stages: Stage vars, a template with its own vars, kustomize-set-image
    # without a tag (the Freight's), kustomize-build to one file, git-push, argocd-update
    settings, store = env
    url = git_server.bare("docs-stage-template")
    sha = _seed(url, tmp_path / "seed")
    stage = _docs_stage("30-stages.yaml", "test", url)
    freight = _world(store, url, sha, memory, [stage])

    status = _promote(settings, store, "test", freight)

    assert status["phase"] == "Succeeded", status.get("message")
    assert set(_by_alias(status).values()) == {"Succeeded"}
    head = ls_remote(url)["refs/heads/stage/test"]
    assert status["state"]["commit"]["commit"] == head
    check = Repo.clone(url, tmp_path / "check", branch="stage/test")
    rendered = yaml.safe_load((check.path / "manifests.yaml").read_text())
    image = rendered["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"{IMAGE}:1.27.0"
    assert f"- {IMAGE}:1.27.0" in check.run("log", "-1", "--format=%B")
    app = store_resources.get(store, "Application", "kargo-docs-test")
    assert app.status["sync"]["revision"] == head
    assert app.status["health"]["status"] == "Healthy"


def test_documented_clone_outputs_expressions_and_rollback_steps(
    env, git_server, memory, tmp_path: Path
) -> None:
    # git-clone with recurseSubmodules, a checkout alias and authorship (output commits);
    # expressions: vars from ctx, quote(), ctx.meta; a step only for rollbacks, skipped
    settings, store = env
    url = git_server.bare("docs-clone-outputs")
    sha = _seed(url, tmp_path / "seed")
    stages = [_docs_stage("60-steps-git.yaml", "clone-submodules", url),
              _docs_stage("62-steps-misc.yaml", "expressions-ctx", url),
              _docs_stage("62-steps-misc.yaml", "rollback-alert", url)]  # fmt: skip
    freight = _world(store, url, sha, memory, stages)

    cloned = _promote(settings, store, "clone-submodules", freight)
    assert cloned["phase"] == "Succeeded", cloned.get("message")
    commits = cloned["state"]["clone"]["commits"]
    assert commits == {"source": sha}  # ./out is a new orphan branch: no commit yet
    assert cloned["state"]["step-1"] == {"source": sha}

    typed = _promote(settings, store, "expressions-ctx", freight)
    assert typed["phase"] == "Succeeded", typed.get("message")
    want = {"numField": 42, "strField": "42", "project": PROJECT, "step": "typed",
            "branch": "stage/expressions-ctx"}  # fmt: skip
    assert typed["state"]["typed"] == want

    alert = _promote(settings, store, "rollback-alert", freight)
    assert alert["phase"] == "Succeeded", alert.get("message")
    assert _by_alias(alert) == {"step-0": "Skipped"}  # not a rollback: the page is not sent


def test_documented_pull_request_flow_with_labels(env, git_server, tmp_path: Path) -> None:
    # git-clone (clone-stage-branch), then git-push's generateTargetBranch example with
    # git-open-pr's labels and the wait guarded by status('open-pr') (push-generated), through
    # the forge fake over the real git daemon; the PR is merged the way a person would
    import threading
    import uuid

    from forge_server import TOKEN, ForgeServer
    from shipway.git.forge import open_forge

    settings, store = env
    project = f"acme/docs-{uuid.uuid4().hex[:6]}"
    url = git_server.bare(project)
    sha = _seed(url, tmp_path / "seed")
    Repo(tmp_path / "seed").push("origin", "HEAD:refs/heads/stage/prod")
    srv = ForgeServer()
    srv.add_repo(project, git_server.base / f"{project}.git")
    try:
        clone = _docs_stage("60-steps-git.yaml", "clone-stage-branch", url).spec
        flow = _docs_stage("60-steps-git.yaml", "push-generated", url).spec
        edit = {"uses": "yaml-update", "config": {"path": "./out/base/kustomization.yaml",
                                                  "updates": [{"key": "namePrefix",
                                                               "value": "prod-"}]}}  # fmt: skip
        (tmp_path / "seed/base/kustomization.yaml").write_text(
            "namePrefix: ''\nresources: [deployment.yaml]\n")  # fmt: skip
        seeded = Repo(tmp_path / "seed")
        seeded.add_all()
        seeded.commit("prefix")
        seeded.push("origin", "HEAD:refs/heads/stage/prod")
        steps = [*clone["promotionTemplate"]["spec"]["steps"], edit,
                 *flow["promotionTemplate"]["spec"]["steps"]]  # fmt: skip
        freight = {"name": "c0ffee123456", "origin": {"kind": "Warehouse", "name": "guestbook"},
                   "commits": [{"repoURL": url, "id": sha}]}  # fmt: skip
        key = runner.create(store, project=PROJECT, name="prod.01pr.c0ffee1", stage="prod",
                            freight=freight, steps=steps,
                            vars=clone["promotionTemplate"]["spec"]["vars"])  # fmt: skip

        def forge(repo_url: str, provider: str | None) -> Any:
            return open_forge("github", srv.api("github"), project, TOKEN)

        done: dict[str, Any] = {}
        worker = threading.Thread(target=lambda: done.update(
            runner.run(store, settings, key, forge=forge, poll=0.02)))  # fmt: skip
        worker.start()
        for _ in range(500):  # the PR is opened, then labelled: wait for both
            pulls = srv.open_pulls("github", project)
            if (pulls and pulls[0].get("labels")) or not worker.is_alive():
                break
            worker.join(0.02)
        (pr,) = srv.open_pulls("github", project)
        assert [lbl["name"] for lbl in pr["labels"]] == ["infra", "needs-review"]
        assert pr["title"] == "Deploy to prod" and pr["base"]["ref"] == "stage/prod"
        merged = forge(url, "github").merge(pr["number"])
        worker.join(30)
        assert done["phase"] == "Succeeded", done.get("message")
        assert done["state"]["wait-for-pr"]["commit"] == merged.merge_commit
        assert ls_remote(url)["refs/heads/stage/prod"] == merged.merge_commit
        assert _by_alias(done)["wait-for-pr"] == "Succeeded"
    finally:
        srv.stop()


def test_documented_http_step_with_a_secret_and_a_quoted_json_body(env, shipway_home: Path,
                                                                   git_server) -> None:  # fmt: skip
    # http's Slack example: secret('slack').token from a generic-credentials Secret kept as
    # shipway keeps Secret manifests, a JSON body built by quote(); a real loopback server
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    seen: list[tuple[str, Any]] = []

    class Chat(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.headers["Authorization"], json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, *_args: Any) -> None:
            pass

    srv = HTTPServer(("127.0.0.1", 0), Chat)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        settings, store = env
        secret = shipway_home / "secrets" / PROJECT / "slack.yaml"
        secret.parent.mkdir(parents=True)
        secret.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "slack", "namespace": PROJECT,
                         "labels": {"kargo.akuity.io/cred-type": "generic"}},
            "stringData": {"token": "xoxb-docs"}}))  # fmt: skip
        url = git_server.bare("docs-http")
        text = (DOCS / "62-steps-misc.yaml").read_text().replace(
            "https://chat.example.com", f"http://127.0.0.1:{srv.server_address[1]}")  # fmt: skip
        (stage,) = [r for r in parse_text(text, "62.yaml") if r.name == "http-slack"]
        freight = _world(store, url, "0" * 40, "none", [stage])

        status = _promote(settings, store, "http-slack", freight)

        assert status["phase"] == "Succeeded", status.get("message")
        ((auth, body),) = seen
        assert auth == "Bearer xoxb-docs"
        assert body["channel"] == "C123456" and body["blocks"][0]["type"] == "section"
    finally:
        srv.shutdown()


def test_documented_metadata_status_and_semver_functions(env, git_server, memory) -> None:
    # expressions: freightStatus() (the approval-bypass gate), freightMetadata(),
    # stageMetadata() with ?? and ?., asYAML/asJSON, semverParse()/semverDiff()
    from shipway.promote import records

    settings, store = env
    url = git_server.bare("docs-functions")
    stages = [_docs_stage("62-steps-misc.yaml", n, url)
              for n in ("freight-status", "metadata-functions", "semver-functions")]  # fmt: skip
    freight = _world(store, url, "0" * 40, memory, stages)

    plain = _promote(settings, store, "freight-status", freight)
    assert plain["phase"] == "Succeeded", plain.get("message")
    assert plain["state"]["freight-status"]["wasBypassed"] is False
    assert _by_alias(plain)["step-1"] == "Skipped"

    def approve(st: dict[str, Any]) -> dict[str, Any]:
        return {
            **st,
            "approvedFor": {"prod": {"approvedAt": "2026-01-02T03:04:05Z"}},
            "metadata": {"category": "web", "config": {"settings": {"timeoutSeconds": 30}}},
        }

    records.update(store, "Freight", freight, PROJECT, approve)
    bypassed = _promote(settings, store, "freight-status", freight)
    assert bypassed["phase"] == "Failed"
    assert "approvedFor.prod.approvedAt = 2026-01-02T03:04:05Z" in bypassed["message"]

    records.update(store, "Stage", "metadata-functions", PROJECT,
                   lambda st: {**st, "metadata": {"aws-region": "eu-west-1"}})  # fmt: skip
    meta = _promote(settings, store, "metadata-functions", freight)
    assert meta["phase"] == "Succeeded", meta.get("message")
    read = meta["state"]["read"]
    assert read == {"category": "web", "settings": "default-settings", "nested": 30,
                    "region": "eu-west-1", "tier": "default-tier"}  # fmt: skip
    assert yaml.safe_load(meta["state"]["render"]["yaml"]) == read
    assert json.loads(meta["state"]["render"]["json"]) == read

    ver = _promote(settings, store, "semver-functions", freight)
    assert ver["phase"] == "Succeeded", ver.get("message")
    assert ver["state"]["versions"] == {"next": "1.27.0", "major": 1, "diff": "Minor"}
    assert ver["state"]["direct-push"] == {"message": f"Minor update of {IMAGE}"}
