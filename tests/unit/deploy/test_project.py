"""AppProject allow-lists: source repos, destinations, cluster and namespaced kinds."""

from __future__ import annotations

import pytest

from shipway.deploy import project
from shipway.model.errors import InputError

SPEC = {
    "sourceRepos": ["git://127.0.0.1:*/config-*.git", "!git://127.0.0.1:*/config-secret.git"],
    "destinations": [{"name": "local", "namespace": "team-*"}],
    "namespaceResourceBlacklist": [{"group": "", "kind": "Secret"}],
}


def test_source_repos_globs_and_denials() -> None:
    project.check_source("p", SPEC, "git://127.0.0.1:9418/config-web.git")
    with pytest.raises(InputError, match="not permitted in project 'p'"):
        project.check_source("p", SPEC, "git://127.0.0.1:9418/config-secret.git")
    with pytest.raises(InputError):
        project.check_source("p", SPEC, "https://example.com/other.git")


def test_destinations() -> None:
    project.check_destination("p", SPEC, {"name": "local", "namespace": "team-a"})
    with pytest.raises(InputError, match="destination"):
        project.check_destination("p", SPEC, {"name": "local", "namespace": "kube-system"})
    with pytest.raises(InputError):
        project.check_destination("p", SPEC, {"server": "https://k8s", "namespace": "team-a"})


def test_kinds_whitelists_and_blacklists() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}
    project.check_kinds("p", SPEC, [cm])
    with pytest.raises(InputError) as err:
        project.check_kinds("p", SPEC, [cm, secret])
    assert err.value.subject == "Secret/s"
    with pytest.raises(InputError, match=":Namespace is not permitted"):
        project.check_kinds("p", SPEC, [ns])
    project.check_kinds("default", project.ALLOW_ALL, [cm, secret, ns])
