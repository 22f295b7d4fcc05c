"""A repository's files read by an ApplicationSet are bounded like any other YAML.

A git files generator reads config files from a repository anyone with push access
can change, and flattens them into parameters: a billion-laughs file there must be
refused at its file and line (cheaply), not expanded in the controller. The repository
is on the real git daemon.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest
import yaml
from appset_helpers import TARGET, Env, put

from shipway.deploy.appset import engine
from shipway.git.repo import Repo
from shipway.model.resources import parse_text
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _set(env: Env, url: str, go: bool) -> None:
    spec: dict[str, Any] = {
        "goTemplate": go,
        "generators": [{"git": {"repoURL": url, "files": [{"path": "clusters/*/config.yaml"}]}}],
        "template": {
            "metadata": {"name": "{{.name}}" if go else "{{name}}"},
            "spec": {"project": "default",
                     "source": {"repoURL": url, "path": "apps", "targetRevision": "HEAD"},
                     "destination": {"name": TARGET, "namespace": "default"}},
        },
    }  # fmt: skip
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
           "metadata": {"name": "set", "namespace": "argocd"}, "spec": spec}  # fmt: skip
    store_resources.apply(env.store, parse_text(yaml.safe_dump(doc), "set.yaml"))


def _reconcile(env: Env) -> engine.Result:
    inputs = engine.StoreInputs(env.store, env.settings, env.forges)
    try:
        return engine.reconcile(env.store, env.settings, "set", "argocd", inputs=inputs)
    finally:
        inputs.close()


@pytest.mark.parametrize("go", [False, True], ids=["fasttemplate", "goTemplate"])
def test_a_billion_laughs_config_file_is_refused_at_its_line(
    env: Env, repo: tuple[str, Repo], go: bool
) -> None:
    url, work = repo
    put(work, {"clusters/good/config.yaml": "name: good\n",
               "clusters/lol/config.yaml": "name: lol\n" + billion_laughs()})  # fmt: skip
    _set(env, url, go)
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        result = _reconcile(env)
        took = time.monotonic() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "clusters/lol/config.yaml:" in result.error, result.error
    assert "aliases expand to more than" in result.error
    assert took < 30 and peak < 100 * 1024 * 1024  # refused, not expanded (9^9 values)
    status = store_resources.get(env.store, "ApplicationSet", "set").status
    err = next(c for c in status["conditions"] if c["type"] == "ErrorOccurred")
    assert err["status"] == "True" and "clusters/lol/config.yaml" in err["message"]
    assert store_resources.list_kind(env.store, "Application", None) == []


def test_a_config_file_that_is_not_utf8_names_its_line(env: Env, repo: tuple[str, Repo]) -> None:
    url, work = repo
    put(work, {"clusters/a/config.yaml": "name: a\n"})
    (work.path / "clusters/a/config.yaml").write_bytes(b"name: a\nowner: \xff\n")
    work.add_all()
    work.commit("binary")
    work.push("origin", "HEAD:refs/heads/main")
    _set(env, url, go=False)
    result = _reconcile(env)
    assert "clusters/a/config.yaml:2:8: not UTF-8 text" in result.error, result.error


def test_modest_anchors_in_a_config_file_still_generate(env: Env, repo: tuple[str, Repo]) -> None:
    url, work = repo
    put(work, {"clusters/a/config.yaml": "base: &b {region: eu}\nname: a\nextra: *b\n"})
    _set(env, url, go=False)
    result = _reconcile(env)
    assert not result.error, result.error
    assert [a.name for a in store_resources.list_kind(env.store, "Application", None)] == ["a"]
