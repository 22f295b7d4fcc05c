"""Argo CD's repository credentials as its users keep them: ``v1`` Secrets in ``argocd``
labelled ``argocd.argoproj.io/secret-type: repository`` or ``repo-creds``, applied with
``shipway apply`` unchanged, and used by the reconciler (Application sources, ApplicationSet
git generators) against git smart HTTP that refuses anonymous requests."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from private_git import PrivateGit, serve

from cli_runner import run
from shipway import cluster
from shipway.cluster.memory import MemoryTarget
from shipway.deploy import engine
from shipway.deploy.appset import engine as appset_engine
from shipway.git.auth import RepoCreds, git_env
from shipway.git.repo import Repo
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import resources as store_resources
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration

PASSWORD = "argo-pat-9f8e7d6c5b4a"
TARGET = "mem-repocreds"


@pytest.fixture
def private_git(tmp_path: Path) -> Iterator[PrivateGit]:
    with serve(tmp_path / "private", "argo", PASSWORD) as git:
        yield git


@pytest.fixture
def store(shipway_home: Path) -> Iterator[Store]:
    target = MemoryTarget(TARGET)
    cluster.register(TARGET, target)
    db = open_store(Settings())
    try:
        yield db
    finally:
        cluster.register(TARGET, None)
        db.close()


def _push(git: PrivateGit, name: str, tmp_path: Path, files: dict[str, object]) -> str:
    """A private repository ``name`` holding ``files``, pushed with the right login."""
    url = git.bare(name)
    work = Repo.init(tmp_path / f"work-{name}")
    for rel, data in files.items():
        path = work.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data))
    work.add_all()
    work.commit("config")
    work.run("push", "-q", url, "HEAD:refs/heads/main",
             env=git_env(url, RepoCreds("test", "argo", PASSWORD)))  # fmt: skip
    return url


def _cm(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"k": name}}  # fmt: skip


def _apply(capsys: pytest.CaptureFixture[str], tmp_path: Path, *docs: dict[str, object]) -> None:
    path = tmp_path / f"{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    code, out, err = run(["apply", "-f", str(path)], capsys)
    assert code == 0, out + err


def _secret(name: str, kind: str, url: str, **data: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": "argocd",
                         "labels": {"argocd.argoproj.io/secret-type": kind}},
            "stringData": {"url": url, **data}}  # fmt: skip


def _app(name: str, url: str, path: str = "app") -> dict[str, object]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {"project": "default",
                     "source": {"repoURL": url, "path": path, "targetRevision": "main"},
                     "destination": {"name": TARGET, "namespace": "default"}}}  # fmt: skip


def _no_password_anywhere(store: Store, capsys: pytest.CaptureFixture[str],
                          caplog: pytest.LogCaptureFixture, *apps: str) -> None:  # fmt: skip
    token = base64.b64encode(f"argo:{PASSWORD}".encode()).decode()
    shown = []
    for args in (["get", "secrets", "-n", "argocd", "-o", "yaml"],
                 ["get", "secrets", "-n", "argocd", "-o", "json"],
                 *(["app", "get", a, "-o", "yaml"] for a in apps)):  # fmt: skip
        code, out, err = run(args, capsys)
        assert code == 0, out + err
        shown.append(out + err)
    for ev in store_events.query(store):
        shown.append(json.dumps([ev.reason, ev.message, ev.involved.name]))
    for app in apps:
        shown.append(json.dumps(store_resources.get(store, "Application", app).body, default=str))
    shown.append(caplog.text)
    text = "\n".join(shown)
    assert "REDACTED" in text  # the Secrets were shown, with their values withheld
    assert PASSWORD not in text and token not in text


def test_repository_secret_lets_an_application_sync(
    store: Store, private_git: PrivateGit, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    url = _push(private_git, "guestbook", tmp_path, {"app/cm.yaml": _cm("guestbook")})
    _apply(capsys, tmp_path, _app("guestbook", url))

    # without a Secret: the repository refuses, and the error says which and why
    res = engine.reconcile(store, "guestbook")
    assert res.phase != "Succeeded"
    assert f"repository {url} needs credentials" in res.message, res.message
    assert "argocd.argoproj.io/secret-type" in res.message

    # the Secret as Argo CD's declarative setup documents it, applied unchanged
    _apply(capsys, tmp_path,
           _secret("private-repo", "repository", url, type="git", username="argo",
                   password=PASSWORD))  # fmt: skip
    private_git.seen.clear()
    res = engine.reconcile(store, "guestbook")
    assert res.phase == "Succeeded", res.message
    assert res.sync_status == "Synced"
    expected = "Basic " + base64.b64encode(f"argo:{PASSWORD}".encode()).decode()
    assert expected in private_git.seen  # the credentials went to the server

    # a wrong password is refused by the server, and said so
    _apply(
        capsys,
        tmp_path,
        _secret("private-repo", "repository", url, username="argo", password="wrong"),
    )
    st = engine.refresh(store, "guestbook")
    said = " ".join(c["message"] for c in st.conditions)
    assert f"repository {url} refused the credentials" in said, st.conditions
    _apply(
        capsys,
        tmp_path,
        _secret("private-repo", "repository", url, username="argo", password=PASSWORD),
    )
    _no_password_anywhere(store, capsys, caplog, "guestbook")


def test_repo_creds_template_serves_by_longest_prefix(
    store: Store, private_git: PrivateGit, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    one = _push(private_git, "team-one", tmp_path, {"app/cm.yaml": _cm("one")})
    two = _push(private_git, "team-two", tmp_path, {"app/cm.yaml": _cm("two")})
    base = private_git.base
    _apply(capsys, tmp_path,
           # the shorter prefix holds a wrong password: the longer one must win
           _secret("host-creds", "repo-creds", base, username="argo", password="wrong"),
           _secret("team-creds", "repo-creds", f"{base}/team-", username="argo",
                   password=PASSWORD),
           # a repository Secret without credentials takes the template's
           _secret("team-two-repo", "repository", two, type="git"),
           _app("one", one), _app("two", two))  # fmt: skip
    for name in ("one", "two"):
        res = engine.reconcile(store, name)
        assert res.phase == "Succeeded", res.message
    _no_password_anywhere(store, capsys, caplog, "one", "two")


def test_ssh_key_and_github_app_secrets_are_refused_naming_the_secret(
    store: Store, private_git: PrivateGit, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _push(private_git, "keyed", tmp_path, {"app/cm.yaml": _cm("keyed")})
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    _apply(capsys, tmp_path, _secret("ssh-creds", "repo-creds", private_git.base,
                                     sshPrivateKey=key), _app("keyed", url))  # fmt: skip
    res = engine.reconcile(store, "keyed")
    assert res.phase != "Succeeded"
    assert "Secret argocd/ssh-creds" in res.message and "an SSH private key" in res.message
    assert "username/password credentials only" in res.message
    _apply(capsys, tmp_path,
           _secret("keyed-repo", "repository", url, githubAppID="1",
                   githubAppInstallationID="2", githubAppPrivateKey=key))  # fmt: skip
    res = engine.reconcile(store, "keyed")
    assert "Secret argocd/keyed-repo" in res.message and "GitHub App" in res.message
    _apply(capsys, tmp_path,
           _secret("keyed-repo", "repository", url, username="argo", password=PASSWORD,
                   tlsClientCertData="cert", tlsClientCertKey="key"))  # fmt: skip
    res = engine.reconcile(store, "keyed")
    assert "Secret argocd/keyed-repo" in res.message and "TLS client certificate" in res.message
    assert key not in res.message


def test_applicationset_git_generator_reads_a_private_repository(
    store: Store, private_git: PrivateGit, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _push(private_git, "monorepo", tmp_path,
                {"apps/a/cm.yaml": _cm("a"), "apps/b/cm.yaml": _cm("b")})  # fmt: skip
    template = {"metadata": {"name": "{{path.basename}}"},
                "spec": {"project": "default",
                         "source": {"repoURL": url, "targetRevision": "main", "path": "{{path}}"},
                         "destination": {"name": TARGET, "namespace": "default"}}}  # fmt: skip
    appset = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
              "metadata": {"name": "apps", "namespace": "argocd"},
              "spec": {"generators": [{"git": {"repoURL": url, "revision": "main",
                                               "directories": [{"path": "apps/*"}]}}],
                       "template": template}}  # fmt: skip
    _apply(capsys, tmp_path, appset)
    settings = Settings()
    failed = appset_engine.reconcile(store, settings, "apps", "argocd")
    assert f"repository {url} needs credentials" in failed.error, failed.error
    _apply(
        capsys,
        tmp_path,
        _secret("mono", "repo-creds", private_git.base, username="argo", password=PASSWORD),
    )
    done = appset_engine.reconcile(store, settings, "apps", "argocd")
    assert done.ok, done.error
    assert sorted(done.created) == ["a", "b"]
    res = engine.reconcile(store, "a")
    assert res.phase == "Succeeded", res.message
