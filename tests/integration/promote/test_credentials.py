"""Kargo's credentials as its users keep them: ``v1`` Secrets labelled
``kargo.akuity.io/cred-type``, applied with ``shipway apply`` unchanged, stored with their
values never shown, and used by Warehouses and promotion steps against servers that ask
for a login: a registry with htpasswd, and git smart HTTP that refuses anonymous requests."""

from __future__ import annotations

import base64
import io
import json
import stat
import uuid
import warnings
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from private_git import PrivateGit, serve
from updater_helpers import push_image

from shipway.cli.main import main
from shipway.git.repo import Repo
from shipway.images.credentials import Credentials
from shipway.images.registry import RegistryClient
from shipway.promote import runner, warehouse
from shipway.runtime import services
from shipway.settings import Settings
from shipway.store import resources as store
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration

PASSWORD = "s3cr3t-pat-0123456789"


def _bcrypt(password: str) -> str:
    with warnings.catch_warnings():  # crypt is deprecated; the simplest bcrypt at hand
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


@pytest.fixture(scope="module")
def locked_registry(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    d = tmp_path_factory.mktemp("locked-registry")
    (d / "htpasswd").write_text(f"kargo:{_bcrypt(PASSWORD)}\n")
    services.registry(run_dir, d / "data", htpasswd=d / "htpasswd", name="registry-kargo-creds")
    yield f"127.0.0.1:{services.load(run_dir, 'registry-kargo-creds').port}"  # type: ignore[union-attr]
    services.stop(run_dir, "registry-kargo-creds")


@pytest.fixture
def private_git(tmp_path: Path) -> Iterator[PrivateGit]:
    with serve(tmp_path / "private", "kargo", PASSWORD) as git:
        yield git


@dataclass
class Ran:
    exit_code: int
    output: str


def sh(*args: str) -> Ran:
    """The CLI's ``main`` as a user runs it (its error handling and exit codes)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return Ran(code, out.getvalue() + err.getvalue())


def _apply(text: str, tmp_path: Path) -> Ran:
    path = tmp_path / f"{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(text)
    res = sh("apply", "-f", str(path))
    assert res.exit_code == 0, res.output
    return res


def _secret(name: str, cred_type: str, repo_url: str, *, regex: bool = False,
            password: str = PASSWORD, namespace: str = "kargo-demo") -> str:  # fmt: skip
    extra = '\n  repoURLIsRegex: "true"' if regex else ""
    return f"""\
apiVersion: v1
kind: Secret
metadata:
  name: {name}
  namespace: {namespace}
  labels:
    kargo.akuity.io/cred-type: {cred_type}
stringData:
  repoURL: {repo_url}{extra}
  username: kargo
  password: {password}
"""


PROJECT = """\
apiVersion: v1
kind: Namespace
metadata:
  name: kargo-demo
  labels: {kargo.akuity.io/project: "true"}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata:
  name: kargo-demo
"""


def test_applied_secrets_are_stored_and_never_shown(shipway_home: Path, tmp_path: Path) -> None:
    token = base64.b64encode(b"generic-token-value").decode()
    out = _apply(PROJECT + "---\n" + _secret("repo-creds", "git", "https://git.example/a.git")
                 + f"""---
apiVersion: v1
kind: Secret
metadata: {{name: slack, namespace: kargo-demo, labels: {{kargo.akuity.io/cred-type: generic}}}}
data:
  token: {token}
""", tmp_path)  # fmt: skip
    assert "namespace/kargo-demo created" in out.output
    assert "secret/repo-creds created" in out.output and "secret/slack created" in out.output
    shown = [
        sh("get", "secrets", "-n", "kargo-demo").output,
        sh("get", "secrets", "-A", "-o", "wide").output,
        sh("get", "secret", "repo-creds", "-n", "kargo-demo", "-o", "yaml").output,
        sh("get", "secrets", "-n", "kargo-demo", "-o", "json").output,
        sh("get", "secret", "slack", "-n", "kargo-demo", "-o", "jsonpath={.data}").output,
        sh("describe", "secret", "repo-creds", "-n", "kargo-demo").output,
    ]
    for text in shown:
        assert PASSWORD not in text and "generic-token-value" not in text and token not in text
    listed = json.loads(shown[3])
    assert listed["kind"] == "List"
    creds = next(i for i in listed["items"] if i["metadata"]["name"] == "repo-creds")
    assert creds["stringData"] == {"password": "*** REDACTED ***",
                                   "repoURL": "https://git.example/a.git",
                                   "username": "kargo"}  # fmt: skip
    assert "data" not in creds and creds["type"] == "Opaque"
    assert "git" in shown[1] and "https://git.example/a.git" in shown[1]
    # stored as the API server stores it: stringData folded into base64 data
    db = open_store(Settings())
    body = store.get(db, "Secret", "repo-creds", "kargo-demo").body
    assert base64.b64decode(body["data"]["password"]).decode() == PASSWORD
    assert "stringData" not in body
    db.close()
    mode = stat.S_IMODE((shipway_home / "shipway.db").stat().st_mode)
    assert mode == 0o600, oct(mode)
    ns = sh("get", "namespace", "kargo-demo", "-o", "json")
    assert json.loads(ns.output)["metadata"]["labels"] == {"kargo.akuity.io/project": "true"}
    held = sh("delete", "namespace", "kargo-demo")
    assert held.exit_code == 4 and "Secret/repo-creds" in held.output
    assert sh("delete", "secret", "slack", "-n", "kargo-demo").exit_code == 0
    again = _apply(_secret("repo-creds", "git", "https://git.example/a.git"), tmp_path)
    assert "secret/repo-creds unchanged" in again.output


def test_bad_secrets_are_refused_where_they_are(shipway_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("""\
apiVersion: v1
kind: Secret
metadata: {name: bad, namespace: kargo-demo}
data:
  password: not base64!
strngData: {a: b}
""")
    res = sh("apply", "-f", str(path))
    assert res.exit_code == 2
    assert f"{path}:5:" in res.output and "illegal base64 data" in res.output
    assert f"{path}:6:" in res.output and "strngData" in res.output
    assert PASSWORD not in res.output


def _warehouse(subs: str) -> str:
    return f"""\
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: shop, namespace: kargo-demo}}
spec:
  subscriptions:
{subs}"""


def test_image_subscription_logs_in_with_the_image_secret(
    locked_registry: str, shipway_home: Path, tmp_path: Path
) -> None:
    repo = f"kargo/app-{uuid.uuid4().hex[:6]}"
    with RegistryClient(locked_registry, credentials=Credentials("kargo", PASSWORD)) as client:
        digest = push_image(client, repo, "1.0.0", created="2026-01-01T00:00:00Z")
    _apply(
        PROJECT
        + "---\n"
        + _warehouse(f"  - image: {{repoURL: {locked_registry}/{repo}, constraint: ^1.0.0}}\n"),
        tmp_path,
    )
    db = open_store(Settings())
    denied = warehouse.refresh_named(db, "shop", "kargo-demo", workdir=tmp_path / "wh")
    assert denied.error and "unauthorized" in denied.error and not denied.created
    # a Secret for another repository and a wrong one that only a regex would match: the
    # exact repoURL wins over the pattern, whatever the names' order
    _apply(_secret("a-wrong-pattern", "image", f"^{locked_registry}/", regex=True,
                   password="wrong") + "---\n"
           + _secret("z-exact", "image", f"{locked_registry}/{repo}"), tmp_path)  # fmt: skip
    found = warehouse.refresh_named(db, "shop", "kargo-demo", workdir=tmp_path / "wh")
    assert found.error is None and found.created, found.error
    [freight] = store.list_kind(db, "Freight", "kargo-demo")
    assert freight.body["images"] == [
        {"repoURL": f"{locked_registry}/{repo}", "tag": "1.0.0", "digest": digest}
    ]
    db.close()


def _seed(git: PrivateGit, name: str, work: Path) -> str:
    url = git.bare(name)
    repo = Repo.init(work)
    (work / "values.yaml").write_text("image:\n  tag: 0.1.0\n")
    repo.add_all()
    sha = repo.commit("seed")
    repo.push(str(git.path(name)), "HEAD:refs/heads/main")  # the seed goes in by the file path
    assert sha
    return url


def _steps(url: str) -> list[dict[str, Any]]:
    return [
        {"uses": "git-clone", "config": {"repoURL": url,
                                         "checkout": [{"branch": "main", "path": "./out"}]}},
        {"uses": "yaml-update", "config": {"path": "./out/values.yaml",
                                           "updates": [{"key": "image.tag", "value": "1.0.0"}]}},
        {"uses": "git-commit", "as": "commit", "config": {"path": "./out", "message": "1.0.0"}},
        {"uses": "git-push", "config": {"path": "./out"}},
    ]  # fmt: skip


def _freight() -> dict[str, Any]:
    return {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Freight",
            "metadata": {"name": "c0ffee000001", "namespace": "kargo-demo"},
            "alias": "calm-otter", "origin": {"kind": "Warehouse", "name": "shop"},
            "images": [{"repoURL": "reg.example/app", "tag": "1.0.0",
                        "digest": "sha256:" + "b" * 64}]}  # fmt: skip


def _promote(db: Store, url: str, name: str) -> dict[str, Any]:
    key = runner.create(db, project="kargo-demo", name=name, stage="test", freight=_freight(),
                        steps=_steps(url))  # fmt: skip
    return runner.run(db, Settings(), key, poll=0.05)


def test_git_subscription_and_steps_use_the_git_secret(
    private_git: PrivateGit, shipway_home: Path, tmp_path: Path
) -> None:
    url = _seed(private_git, "config", tmp_path / "seed")
    _apply(PROJECT + "---\n" + _warehouse(f"  - git: {{repoURL: {url}, branch: main}}\n"),
           tmp_path)  # fmt: skip
    db = open_store(Settings())
    denied = warehouse.refresh_named(db, "shop", "kargo-demo", workdir=tmp_path / "wh")
    assert denied.error and "could not read Username" in denied.error and not denied.created
    refused = _promote(db, url, "test.01anon.c0ffee0")
    assert refused["phase"] in ("Failed", "Errored")
    first = refused["stepExecutionMetadata"][0]
    assert first["alias"] == "step-0" and first["status"] in ("Failed", "Errored")
    assert url in first["message"], first
    assert all(not s for s in private_git.seen)  # nothing was sent without a Secret

    # Kargo's own example: one Secret for every repository of the host, by pattern; kept by
    # an operator in the shared resources namespace, searched after the project's
    _apply(_secret("host-wide", "git", f"^{private_git.base}/", regex=True,
                   namespace="kargo-shared-resources"), tmp_path)  # fmt: skip
    found = warehouse.refresh_named(db, "shop", "kargo-demo", workdir=tmp_path / "wh")
    assert found.error is None and found.created, found.error
    [freight] = store.list_kind(db, "Freight", "kargo-demo")
    head = Repo(private_git.path("config")).head("refs/heads/main")
    assert freight.body["commits"][0]["id"] == head

    done = _promote(db, url, "test.01auth.c0ffee0")
    assert done["phase"] == "Succeeded", done.get("message")
    pushed = Repo(private_git.path("config"))
    assert pushed.head("refs/heads/main") != head
    assert "tag: 1.0.0" in pushed.show("refs/heads/main", "values.yaml")
    assert any(s for s in private_git.seen)
    db.close()


def test_a_secret_shipway_cannot_use_fails_naming_it(
    private_git: PrivateGit, shipway_home: Path, tmp_path: Path
) -> None:
    url = _seed(private_git, "config-ssh", tmp_path / "seed")
    _apply(PROJECT + f"""---
apiVersion: v1
kind: Secret
metadata:
  name: ssh-only
  namespace: kargo-demo
  labels: {{kargo.akuity.io/cred-type: git}}
stringData:
  repoURL: {url}
  sshPrivateKey: |
    -----BEGIN OPENSSH PRIVATE KEY-----
    not-a-real-key
    -----END OPENSSH PRIVATE KEY-----
""", tmp_path)  # fmt: skip
    db = open_store(Settings())
    done = _promote(db, url, "test.01ssh.c0ffee0")
    assert done["phase"] == "Failed"
    message = done["stepExecutionMetadata"][0]["message"]
    assert "Secret kargo-demo/ssh-only" in message and "SSH private keys" in message
    assert "not-a-real-key" not in json.dumps(done)
    db.close()
