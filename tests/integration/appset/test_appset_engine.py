"""The ApplicationSet engine on real git (the git daemon) and the forge fake.

Applications are written owned by their set, updated and pruned with it;
``applicationsSync`` holds back what it says; pull requests are listed with
conditional requests (a second pass is all 304s); a push to a pull request's
branch updates its Application; closing it prunes it; deleting the set prunes
everything it made unless it preserves resources.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml
from appset_helpers import TARGET, Env, bare_of, configmap, put

from forge_server import TOKEN, ForgeServer
from shipway.deploy.appset import engine, plan
from shipway.git.forge import open_forge
from shipway.git.repo import Repo
from shipway.model.resources import parse_text
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def _apply(env: Env, spec: dict[str, Any], name: str = "set") -> None:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
           "metadata": {"name": name, "namespace": "argocd"}, "spec": spec}  # fmt: skip
    store_resources.apply(env.store, parse_text(yaml.safe_dump(doc), f"{name}.yaml"))


def _template(url: str, name: str, path: str, revision: str = "HEAD") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"project": "default",
                 "source": {"repoURL": url, "path": path, "targetRevision": revision},
                 "destination": {"name": TARGET, "namespace": "default"}},
    }  # fmt: skip


def _reconcile(env: Env, name: str = "set") -> engine.Result:
    inputs = engine.StoreInputs(env.store, env.settings, env.forges)
    try:
        return engine.reconcile(env.store, env.settings, name, "argocd", inputs=inputs)
    finally:
        inputs.close()


def _apps(env: Env) -> dict[str, Any]:
    return {a.name: a for a in store_resources.list_kind(env.store, "Application", None)}


def test_git_directories_create_update_prune(env: Env, repo: tuple[str, Repo]) -> None:
    url, work = repo
    put(work, {"apps/a/cm.yaml": configmap("a"), "apps/b/cm.yaml": configmap("b"),
               "apps/skip/cm.yaml": configmap("skip")})  # fmt: skip
    gen = {
        "git": {
            "repoURL": url,
            "revision": "main",
            "directories": [{"path": "apps/*"}, {"path": "apps/skip", "exclude": True}],
        }
    }
    _apply(env, {"generators": [gen],
                 "template": _template(url, "{{path.basename}}", "{{path}}")})  # fmt: skip

    first = _reconcile(env)
    assert (first.created, first.error) == (["a", "b"], "")
    apps = _apps(env)
    assert sorted(apps) == ["a", "b"]
    assert apps["a"].labels[plan.OWNER_LABEL] == "set"
    assert apps["a"].metadata["ownerReferences"][0]["name"] == "set"
    assert apps["b"].spec["source"]["path"] == "apps/b"
    status = store_resources.get(env.store, "ApplicationSet", "set").status
    up = next(c for c in status["conditions"] if c["type"] == "ResourcesUpToDate")
    assert up["status"] == "True"
    assert [r["name"] for r in status["resources"]] == ["a", "b"]

    again = _reconcile(env)
    assert (again.created, again.updated, again.unchanged) == ([], [], ["a", "b"])

    put(work, {"apps/a/cm.yaml": None, "apps/c/cm.yaml": configmap("c")})
    third = _reconcile(env)
    assert (third.created, third.deleted) == (["c"], ["a"])
    assert sorted(_apps(env)) == ["b", "c"]

    # the template changes: every Application is updated
    _apply(env, {"generators": [gen],
                 "template": _template(url, "{{path.basename}}", "{{path}}", "main")})  # fmt: skip
    fourth = _reconcile(env)
    assert sorted(fourth.updated) == ["b", "c"]
    assert _apps(env)["b"].spec["source"]["targetRevision"] == "main"


def test_create_only_holds_updates_and_deletes(env: Env, repo: tuple[str, Repo]) -> None:
    url, work = repo
    put(work, {"apps/a/cm.yaml": configmap("a"), "apps/b/cm.yaml": configmap("b")})
    gen = {"git": {"repoURL": url, "directories": [{"path": "apps/*"}]}}
    spec = {"generators": [gen], "template": _template(url, "{{path.basename}}", "{{path}}"),
            "syncPolicy": {"applicationsSync": "create-only"}}  # fmt: skip
    _apply(env, spec)
    assert _reconcile(env).created == ["a", "b"]
    put(work, {"apps/a/cm.yaml": None})
    spec["template"] = _template(url, "{{path.basename}}", "{{path}}", "v2")
    _apply(env, spec)
    result = _reconcile(env)
    assert (result.deleted, result.updated) == ([], [])
    assert any("no longer generated; applicationsSync create-only" in h for h in result.held)
    assert any("'b' differs; applicationsSync create-only" in h for h in result.held)
    assert sorted(_apps(env)) == ["a", "b"]


def test_foreign_application_is_not_taken_over(env: Env, repo: tuple[str, Repo]) -> None:
    url, work = repo
    put(work, {"apps/a/cm.yaml": configmap("a")})
    mine = yaml.safe_dump(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "a"},
            **_template(url, "a", "apps/a"),
        }
    )
    store_resources.apply(env.store, parse_text(mine.replace("name: a\n  name: a", "name: a"),
                                                "a.yaml"))  # fmt: skip
    _apply(env, {"generators": [{"git": {"repoURL": url, "directories": [{"path": "apps/*"}]}}],
                 "template": _template(url, "{{path.basename}}", "{{path}}")})  # fmt: skip
    result = _reconcile(env)
    assert result.created == []
    assert result.conflicts == [
        "Application 'a' already exists in namespace 'argocd' and is not owned by "
        "ApplicationSet set"
    ]
    assert plan.OWNER_LABEL not in _apps(env)["a"].labels


def test_template_error_is_recorded_on_the_set(env: Env, repo: tuple[str, Repo]) -> None:
    url, work = repo
    put(work, {"apps/a/cm.yaml": configmap("a")})
    _apply(env, {"goTemplate": True, "goTemplateOptions": ["missingkey=error"],
                 "generators": [{"git": {"repoURL": url, "directories": [{"path": "apps/*"}]}}],
                 "template": _template(url, "{{.path.nope}}", "{{.path.path}}")})  # fmt: skip
    result = _reconcile(env)
    assert "spec.generators[0] parameter set 0" in result.error
    assert 'map has no entry for key "nope"' in result.error
    status = store_resources.get(env.store, "ApplicationSet", "set").status
    err = next(c for c in status["conditions"] if c["type"] == "ErrorOccurred")
    assert err["status"] == "True" and "nope" in err["message"]
    assert _apps(env) == {}


def _secret(env: Env, name: str, key: str, value: str) -> None:
    path = env.settings.home / "secrets" / "argocd" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {key: base64.b64encode(value.encode()).decode()}
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Secret",
                                    "metadata": {"name": name}, "data": data}))  # fmt: skip


def _branch(work: Repo, branch: str, text: str) -> str:
    known = work.run("branch", "--list", branch).strip()
    work.run("checkout", "-q", *([branch] if known else ["-b", branch, "main"]))
    (work.path / "apps" / "web" / "branch.txt").write_text(text)
    work.add_all()
    sha = work.commit(f"on {branch}")
    work.push("origin", f"HEAD:refs/heads/{branch}")
    work.run("checkout", "-q", "main")
    return sha


def _provider(kind: str, forge: ForgeServer) -> dict[str, Any]:
    ref = {"tokenRef": {"secretName": "forge-token", "key": "token"}}
    if kind == "gitlab":
        return {"gitlab": {"project": "team/web", "api": forge.api(kind).removesuffix("/api/v4"),
                           **ref}}  # fmt: skip
    return {kind: {"owner": "team", "repo": "web", "api": forge.api(kind), **ref}}


@pytest.mark.parametrize("kind", ["github", "gitlab", "gitea"])
def test_pull_request_generator_lifecycle(
    env: Env, repo: tuple[str, Repo], forge: ForgeServer, kind: str
) -> None:
    url, work = repo
    put(work, {"apps/web/cm.yaml": configmap("web")})
    forge.add_repo("team/web", bare_of(url))
    _secret(env, "forge-token", "token", TOKEN)
    head = _branch(work, "feature/Login_Page", "one")
    _branch(work, "docs", "docs")
    client = open_forge(kind, forge.api(kind), "team/web", TOKEN)
    pr = client.create("feature/Login_Page", "main", "Login page", "")
    other = client.create("docs", "main", "Docs", "")
    forge.label(kind, "team/web", pr.number, "preview")
    body = {**_provider(kind, forge), "requeueAfterSeconds": 30}
    body[kind]["labels"] = ["preview"]
    template = _template(url, "web-{{branch_slug}}-{{number}}", "apps/web", "{{head_sha}}")
    template["metadata"]["annotations"] = {"sha": "{{head_short_sha}}", "by": "{{author}}"}
    _apply(env, {"generators": [{"pullRequest": body}], "template": template})

    first = _reconcile(env)
    name = f"web-feature-login-page-{pr.number}"
    assert (first.created, first.error) == ([name], "")
    app = _apps(env)[name]
    assert app.spec["source"]["targetRevision"] == head
    assert app.annotations["sha"] == head[:8]
    assert app.annotations["by"] == "octocat"

    inputs = engine.StoreInputs(env.store, env.settings, env.forges)
    engine.reconcile(env.store, env.settings, "set", "argocd", inputs=inputs)
    assert inputs.pull_requests >= 1
    assert inputs.not_modified == inputs.pull_requests  # nothing changed: every answer a 304

    pushed = _branch(work, "feature/Login_Page", "two")
    second = _reconcile(env)
    assert second.updated == [name]
    assert _apps(env)[name].spec["source"]["targetRevision"] == pushed

    forge.label(kind, "team/web", other.number, "preview")
    assert _reconcile(env).created == [f"web-docs-{other.number}"]

    client.close(pr.number)
    closed = _reconcile(env)
    assert closed.deleted == [name]
    assert sorted(_apps(env)) == [f"web-docs-{other.number}"]


def test_bad_token_is_an_error_naming_the_generator(
    env: Env, repo: tuple[str, Repo], forge: ForgeServer
) -> None:
    url, work = repo
    put(work, {"apps/web/cm.yaml": configmap("web")})
    forge.add_repo("team/web", bare_of(url))
    _secret(env, "forge-token", "token", "wrong")
    _apply(env, {"generators": [{"pullRequest": _provider("github", forge)}],
                 "template": _template(url, "pr-{{number}}", "apps/web")})  # fmt: skip
    result = _reconcile(env)
    assert result.error.startswith("spec.generators[0].pullRequest: cannot list pull requests")
    assert "401" in result.error


@pytest.mark.parametrize("preserve", [False, True])
def test_deleting_the_set_prunes_its_applications(
    env: Env, repo: tuple[str, Repo], preserve: bool
) -> None:
    url, work = repo
    put(work, {"apps/a/cm.yaml": configmap("a")})
    spec: dict[str, Any] = {
        "generators": [{"git": {"repoURL": url, "directories": [{"path": "apps/*"}]}}],
        "template": _template(url, "{{path.basename}}", "{{path}}"),
        "syncPolicy": {"preserveResourcesOnDeletion": preserve},
    }
    _apply(env, spec)
    assert _reconcile(env).created == ["a"]
    from shipway.deploy import engine as deploy_engine

    assert deploy_engine.reconcile(env.store, "a", settings=env.settings).phase == "Succeeded"
    assert env.target.live("a")  # the ConfigMap is deployed
    store_resources.delete(env.store, "ApplicationSet", "set", "argocd")
    assert engine.prune_orphans(env.store, env.settings) == ["a"]
    assert _apps(env) == {}
    assert bool(env.target.live("a")) is preserve
