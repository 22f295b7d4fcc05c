"""Helm charts end to end: charts pushed to the real registry as OCI artifacts and served
by a loopback classic chart repository (index.yaml, basic auth from a cred-type helm
Secret), Warehouse discovery making Freight with charts, and a promotion with chartFrom,
helm-update-chart and helm-update-image on the local git daemon (comments kept), the
Chart.lock and helm-template refusals when helm is not on PATH."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import shutil
import tarfile
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from promote_helpers import remote_refs

from shipway.git.repo import Repo
from shipway.images.registry import RegistryClient
from shipway.model.resources import parse_text
from shipway.promote import charts, runner, warehouse
from shipway.settings import Settings
from shipway.store import resources as store
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration

HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_chart(client: RegistryClient, repository: str, name: str, version: str) -> str:
    """Push a minimal chart as Helm does (config + one tgz layer); the tag is the version
    with ``+`` written ``_``. Returns the manifest digest."""
    chart_yaml = f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(f"{name}/Chart.yaml")
        info.size = len(chart_yaml)
        tar.addfile(info, io.BytesIO(chart_yaml))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = json.dumps({"apiVersion": "v2", "name": name, "version": version}).encode()
    for blob in (layer, config):
        client.upload_blob(repository, _digest(blob), blob)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": HELM_CONFIG, "digest": _digest(config), "size": len(config)},
        "layers": [{"mediaType": HELM_LAYER, "digest": _digest(layer), "size": len(layer)}],
    }).encode()  # fmt: skip
    return client.put_manifest(repository, version.replace("+", "_"), manifest, OCI_MANIFEST)


class _Repo:
    """A classic chart repository on loopback: ``index.yaml`` from ``versions``."""

    def __init__(self, auth: tuple[str, str] | None = None) -> None:
        self.versions: dict[str, list[str]] = {}
        self.body: bytes | None = None
        self.requests = 0
        repo = self
        want = "Basic " + base64.b64encode(":".join(auth).encode()).decode() if auth else None

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                repo.requests += 1
                if want and self.headers.get("Authorization") != want:
                    self.send_response(401)
                    self.end_headers()
                    return
                if self.path.rstrip("/") != "/charts/index.yaml":
                    self.send_response(404)
                    self.end_headers()
                    return
                body = repo.body if repo.body is not None else repo.index()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-yaml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/charts"

    def index(self) -> bytes:
        entries = {
            name: [{"name": name, "version": v, "apiVersion": "v2",
                    "urls": [f"{name}-{v}.tgz"]} for v in vs]
            for name, vs in self.versions.items()
        }  # fmt: skip
        return yaml.safe_dump({"apiVersion": "v1", "entries": entries}).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def classic() -> Iterator[_Repo]:
    repo = _Repo()
    yield repo
    repo.close()


@pytest.fixture
def db(shipway_home: Path) -> Iterator[Store]:
    s = open_store(Settings())
    store.apply(s, parse_text("apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\n"
                              "metadata: {name: demo}\n", "p.yaml"))  # fmt: skip
    yield s
    s.close()


def _warehouse(db: Store, name: str, subs: str) -> None:
    text = (
        f"apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\n"
        f"metadata: {{name: {name}, namespace: demo}}\nspec:\n  subscriptions:\n{subs}"
    )
    store.apply(db, parse_text(text, "w.yaml"))  # fmt: skip


def test_oci_and_classic_discovery_make_freight_with_charts(
    registry: Any, classic: _Repo, db: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = f"charts-{uuid.uuid4().hex[:8]}/web"
    client = RegistryClient(registry.host)
    for v in ("1.0.0", "1.4.0", "1.5.0+build.7", "2.0.0", "1.6.0-rc.1"):
        push_chart(client, path, "web", v)
    classic.versions = {"api": ["0.9.0", "0.10.0", "v0.11.0", "1.0.0", "not-semver"],
                        "other": ["9.9.9"]}  # fmt: skip
    oci = f"oci://{registry.host}/{path}"
    _warehouse(db, "charts", f"  - chart: {{repoURL: '{oci}', semverConstraint: ^1.0.0}}\n"
               f"  - chart: {{repoURL: '{classic.url}', name: api, semverConstraint: <1.0.0, "
               "discoveryLimit: 2}\n")  # fmt: skip

    res = warehouse.refresh_named(db, "charts", "demo", workdir=tmp_path)

    assert res.error is None and res.created
    [f] = store.list_kind(db, "Freight", "demo")
    # the OCI tag 1.5.0_build.7 is read back as 1.5.0+build.7; prereleases stay out of ^1.0.0
    assert f.body["charts"] == [
        {"repoURL": oci, "version": "1.5.0+build.7"},
        {"repoURL": classic.url, "name": "api", "version": "v0.11.0"},
    ]
    found = store.get(db, "Warehouse", "charts", "demo").status["discoveredArtifacts"]
    assert found["charts"][0]["versions"] == ["1.5.0+build.7", "1.4.0", "1.0.0"]
    assert found["charts"][1] == {"repoURL": classic.url, "name": "api",
                                  "semverConstraint": "<1.0.0",
                                  "versions": ["v0.11.0", "0.10.0"]}  # fmt: skip

    # the same contents make no new Freight; a new chart version does, with another name
    assert not warehouse.refresh_named(db, "charts", "demo", workdir=tmp_path).created
    push_chart(client, path, "web", "1.7.0")
    again = warehouse.refresh_named(db, "charts", "demo", workdir=tmp_path)
    assert again.created and again.freight != f.name
    newer = store.get(db, "Freight", again.freight or "", "demo")
    assert newer.body["charts"][0]["version"] == "1.7.0"

    # with a cred-type helm Secret for the registry (a regular expression), the chart is
    # listed through a client holding those credentials (this registry asks for none)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "reg", "labels": {"kargo.akuity.io/cred-type": "helm"}},
        "stringData": {
            "repoURL": r"^oci://127\.0\.0\.1:\d+/charts-",
            "repoURLIsRegex": "true",
            "username": "u",
            "password": "p",
        },
    }
    where = Settings().home / "secrets" / "demo"
    where.mkdir(parents=True, exist_ok=True)
    (where / "reg.yaml").write_text(yaml.safe_dump(secret))
    push_chart(client, path, "web", "1.8.0")
    seen: list[Any] = []
    real_init = RegistryClient.__init__

    def spy(self: RegistryClient, host: str, **kw: Any) -> None:
        seen.append(kw.get("credentials"))
        real_init(self, host, **kw)

    monkeypatch.setattr(RegistryClient, "__init__", spy)
    third = warehouse.refresh_named(db, "charts", "demo", workdir=tmp_path)
    monkeypatch.undo()
    assert [(c.username, c.password) for c in seen if c is not None] == [("u", "p")]
    assert third.error is None and third.created
    assert store.get(db, "Freight", third.freight or "", "demo").body["charts"][0] == {
        "repoURL": oci,
        "version": "1.8.0",
    }


def test_registry_notification_of_a_chart_push_makes_freight(
    registry: Any, shipway_home: Path
) -> None:
    # the registry's notification to the controller's /hooks/registry, no poll (interval 24h)
    from fastapi.testclient import TestClient

    from shipway.controller.core import Controller
    from shipway.server.app import create_app

    path = f"charts-{uuid.uuid4().hex[:8]}/push"
    client = RegistryClient(registry.host)
    push_chart(client, path, "push", "0.1.0")
    settings = Settings(home=shipway_home)
    db = open_store(settings)
    store.apply(db, parse_text("apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\n"
                               "metadata: {name: demo}\n", "p.yaml"))  # fmt: skip
    text = (
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\n"
        "metadata: {name: pushed, namespace: demo}\nspec:\n  interval: 24h\n"
        f"  subscriptions:\n  - chart: {{repoURL: 'oci://{registry.host}/{path}'}}\n"
    )
    store.apply(db, parse_text(text, "w.yaml"))  # fmt: skip
    controller = Controller(settings, db)
    controller.start_workers()
    try:
        digest = push_chart(client, path, "push", "0.2.0+meta")
        envelope = {"events": [{
            "id": uuid.uuid4().hex, "action": "push", "timestamp": "2026-01-02T00:00:01Z",
            "target": {"mediaType": OCI_MANIFEST, "repository": path, "tag": "0.2.0_meta",
                       "digest": digest},
            "request": {"host": registry.host}}]}  # fmt: skip
        resp = TestClient(create_app(controller)).post(
            "/hooks/registry", content=json.dumps(envelope).encode(),
            headers={"Content-Type": "application/vnd.docker.distribution.events.v1+json",
                     "Authorization": f"Bearer {controller.tokens.registry()}"},
        )  # fmt: skip
        assert resp.status_code == 202, resp.text
        assert controller.wait_idle()
    finally:
        controller.shutdown()
    [f] = store.list_kind(db, "Freight", "demo")
    assert f.body["charts"] == [{"repoURL": f"oci://{registry.host}/{path}",
                                 "version": "0.2.0+meta"}]  # fmt: skip
    db.close()


def test_classic_repository_credentials_errors_and_size_bound(
    db: Store, shipway_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _Repo(auth=("kargo", "s3cret"))
    try:
        repo.versions = {"api": ["1.0.0", "1.1.0"]}
        _warehouse(db, "private", f"  - chart: {{repoURL: '{repo.url}', name: api}}\n")
        denied = warehouse.refresh_named(db, "private", "demo", workdir=tmp_path)
        assert denied.error and "HTTP 401" in denied.error and repo.url in denied.error
        status = store.get(db, "Warehouse", "private", "demo").status
        assert status["conditions"][0]["status"] == "False"

        secret = {"apiVersion": "v1", "kind": "Secret",
                  "metadata": {"name": "charts", "namespace": "demo",
                               "labels": {"kargo.akuity.io/cred-type": "helm"}},
                  "stringData": {"repoURL": repo.url + "/", "username": "kargo",
                                 "password": "s3cret"}}  # fmt: skip
        where = shipway_home / "secrets" / "demo"
        where.mkdir(parents=True, exist_ok=True)
        (where / "charts.yaml").write_text(yaml.safe_dump(secret))
        ok = warehouse.refresh_named(db, "private", "demo", workdir=tmp_path)
        assert ok.error is None and ok.created
        f = store.get(db, "Freight", ok.freight or "", "demo")
        assert f.body["charts"] == [{"repoURL": repo.url, "name": "api", "version": "1.1.0"}]

        with pytest.raises(Exception, match="chart 'nope' is not in"):
            charts.versions(repo.url, "nope", creds=lambda _u: ("kargo", "s3cret"))
        repo.body = b"entries: [unclosed"
        with pytest.raises(Exception, match="not YAML"):
            charts.versions(repo.url, "api", creds=lambda _u: ("kargo", "s3cret"))
        repo.body = None
        monkeypatch.setattr(charts, "INDEX_LIMIT", 64)
        with pytest.raises(Exception, match="index larger than 64 bytes"):
            charts.versions(repo.url, "api", creds=lambda _u: ("kargo", "s3cret"))
    finally:
        repo.close()


CHART_YAML = """\
apiVersion: v2
name: umbrella   # the app's chart
version: 0.1.0
dependencies:
# the web tier, from the registry
- repository: {oci_reg}
  name: web
  version: 1.0.0   # bumped by promotions
- repository: {classic}
  name: api
  version: "0.9.0"
"""
VALUES = """\
# values for test
image:
  repository: registry.example/web
  tag: 0.0.1   # set by Kargo
sidecar:
  image: "registry.example/web:0.0.1"
"""


def _seed(url: str, work: Path, oci_reg: str, classic_url: str, lock: bool = False) -> None:
    repo = Repo.init(work)
    repo.run("remote", "add", "origin", url)
    chart = work / "charts" / "umbrella"
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART_YAML.format(oci_reg=oci_reg, classic=classic_url))
    (chart / "values-test.yaml").write_text(VALUES)
    if lock:
        (chart / "Chart.lock").write_text("dependencies: []\ndigest: sha256:00\n")
    repo.add_all()
    repo.commit("seed")
    repo.push("origin", "HEAD:refs/heads/main")


def _freight(oci: str, classic_url: str) -> dict[str, Any]:
    return {
        "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Freight",
        "metadata": {"name": "c0ffee000001", "namespace": "demo"}, "alias": "calm-otter",
        "origin": {"kind": "Warehouse", "name": "charts"},
        "images": [{"repoURL": "registry.example/web", "tag": "1.2.3",
                    "digest": "sha256:" + "b" * 64}],
        "charts": [{"repoURL": oci, "version": "1.5.0"},
                   {"repoURL": classic_url, "name": "api", "version": "0.11.0"}],
    }  # fmt: skip


def _steps(url: str, oci_reg: str, classic_url: str) -> list[dict[str, Any]]:
    return [
        {"uses": "git-clone", "config": {"repoURL": url,
                                         "checkout": [{"branch": "main", "path": "./src"}]}},
        {"uses": "helm-update-chart", "as": "chart", "config": {
            "path": "./src/charts/umbrella",
            "charts": [
                {"repository": oci_reg, "name": "web",
                 "version": "${{ chartFrom('" + oci_reg + "' + '/web').Version }}"},
                {"repository": classic_url, "name": "api"},  # the Freight's version
            ]}},
        {"uses": "helm-update-image", "as": "image", "config": {
            "path": "./src/charts/umbrella/values-test.yaml",
            "images": [
                {"image": "registry.example/web", "key": "image.tag", "value": "Tag"},
                {"image": "registry.example/web", "key": "sidecar.image",
                 "value": "ImageAndDigest"}]}},
        {"uses": "git-commit", "config": {"path": "./src", "message":
            "${{ outputs.chart.commitMessage }}\n\n${{ outputs.image.commitMessage }}"}},
        {"uses": "git-push", "as": "push", "config": {"path": "./src"}},
    ]  # fmt: skip


def _promote(db: Store, name: str, steps: list[dict[str, Any]],
             freight: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    key = runner.create(db, project="demo", name=name, stage="test", freight=freight,
                        steps=steps)  # fmt: skip
    return runner.run(db, Settings(), key, poll=0.05)


def test_promotion_with_chart_from_and_the_helm_update_steps(
    git_server: Any, db: Store, tmp_path: Path
) -> None:
    url = git_server.bare(f"helm-{uuid.uuid4().hex[:6]}")
    oci_reg, classic_url = "oci://charts.example/acme", "https://charts.example/classic"
    _seed(url, tmp_path / "seed", oci_reg, classic_url)

    status = _promote(db, "helm1", _steps(url, oci_reg, classic_url),
                      _freight(oci_reg + "/web", classic_url))  # fmt: skip

    assert status["phase"] == "Succeeded", status.get("message")
    check = Repo.clone(url, tmp_path / "check")
    chart = (check.path / "charts/umbrella/Chart.yaml").read_text()
    expected = CHART_YAML.format(oci_reg=oci_reg, classic=classic_url)
    expected = expected.replace("version: 1.0.0   # bumped", "version: 1.5.0   # bumped")
    assert chart == expected.replace('version: "0.9.0"', 'version: "0.11.0"')
    values = (check.path / "charts/umbrella/values-test.yaml").read_text()
    assert values == VALUES.replace("tag: 0.0.1   #", "tag: 1.2.3   #").replace(
        '"registry.example/web:0.0.1"', '"registry.example/web@sha256:' + "b" * 64 + '"'
    )
    message = check.run("log", "-1", "--format=%B")
    assert "Updated chart dependencies for ./src/charts/umbrella" in message
    assert "- web: 1.0.0 -> 1.5.0" in message and "- image.tag: 1.2.3" in message


def test_chart_lock_and_helm_template_refused_without_helm(
    git_server: Any, db: Store, tmp_path: Path
) -> None:
    if shutil.which("helm"):
        pytest.skip("helm is on PATH here: the refusals are for machines without it")
    url = git_server.bare(f"helm-lock-{uuid.uuid4().hex[:6]}")
    oci_reg, classic_url = "oci://charts.example/acme", "https://charts.example/classic"
    _seed(url, tmp_path / "seed", oci_reg, classic_url, lock=True)
    before = remote_refs(url)

    status = _promote(db, "helm2", _steps(url, oci_reg, classic_url),
                      _freight(oci_reg + "/web", classic_url))  # fmt: skip
    assert status["phase"] == "Failed"
    assert "Chart.lock" in status["message"] and "helm is not on PATH" in status["message"]
    assert remote_refs(url) == before  # nothing pushed

    steps = [_steps(url, oci_reg, classic_url)[0],
             {"uses": "helm-template", "config": {"path": "./src/charts/umbrella",
                                                  "outPath": "./out/all.yaml"}}]  # fmt: skip
    status = _promote(db, "helm3", steps, _freight(oci_reg + "/web", classic_url))
    assert status["phase"] == "Failed"
    assert "helm-template needs the helm binary" in status["message"]


DOCS = Path(__file__).parents[2] / "kargo_docs"
DOC_REPO = "https://git.example.com/acme/guestbook-config.git"


def test_the_documented_helm_update_chart_stage_promotes(
    git_server: Any, db: Store, tmp_path: Path
) -> None:
    # helm-update-chart's classic example from the corpus, run as `shipway promote` runs it
    # (promote.start then the runner): chartFrom(vars.chartRepo, name) reads the Freight
    from shipway.promote import start as start_mod

    url = git_server.bare(f"docs-chart-{uuid.uuid4().hex[:6]}")
    classic_url = "https://charts.example.com/acme"
    work = tmp_path / "seed"
    repo = Repo.init(work)
    repo.run("remote", "add", "origin", url)
    (work / "charts/umbrella").mkdir(parents=True)  # cloned to ./src
    chart_text = ("apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n"
                  f"- repository: {classic_url}  # ours\n  name: guestbook-chart\n"
                  "  version: 2.0.0\n")  # fmt: skip
    (work / "charts/umbrella/Chart.yaml").write_text(chart_text)
    repo.add_all()
    repo.commit("seed")
    repo.push("origin", "HEAD:refs/heads/main")

    text = (DOCS / "25-warehouse-charts.yaml").read_text().replace(DOC_REPO, url)
    docs = parse_text(text, "25-warehouse-charts.yaml")
    stage = next(r for r in docs if r.kind == "Stage" and r.name == "update-chart-classic")
    wh = next(r for r in docs if r.kind == "Warehouse" and r.name == "classic-chart")
    project = parse_text("apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\n"
                         "metadata: {name: kargo-docs}\n", "p.yaml")  # fmt: skip
    freight = {
        "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Freight",
        "metadata": {"name": "d0c5c4a27000", "namespace": "kargo-docs"}, "alias": "tidy-yak",
        "origin": {"kind": "Warehouse", "name": "classic-chart"},
        "charts": [{"repoURL": classic_url, "name": "guestbook-chart", "version": "2.3.1"}],
    }  # fmt: skip
    store.apply(db, [*project, wh, stage, *parse_text(yaml.safe_dump(freight), "f.yaml")])

    started = start_mod.start(db, project="kargo-docs", stage="update-chart-classic",
                              freight="tidy-yak", actor="alice")  # fmt: skip
    status = runner.run(db, Settings(), started.key, poll=0.05)

    assert status["phase"] == "Succeeded", status.get("message")
    assert status["freight"]["charts"] == freight["charts"]
    msg = status["state"]["step-2"]["commitMessage"]
    assert "- guestbook-chart: 2.0.0 -> 2.3.1" in msg
