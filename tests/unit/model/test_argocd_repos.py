"""Which Argo CD repository Secret or credential template serves a repository URL."""

from __future__ import annotations

from shipway.model import argocd_repos
from shipway.model.argocd_repos import choose, unsupported

URL = "https://git.example.com/org/app.git"
CREDS = {"username": "u", "password": "p"}


def test_repository_secret_matches_in_one_spelling() -> None:
    repos = [("b", {"url": "https://GIT.example.com/org/app/", **CREDS}),
             ("a", {"url": "https://git.example.com/org/other", **CREDS})]  # fmt: skip
    found = choose(repos, [], URL)
    assert found is not None and (found.name, found.kind) == ("b", argocd_repos.REPOSITORY)
    assert choose(repos, [], "https://git.example.com/org/nope") is None


def test_helm_secrets_do_not_serve_git() -> None:
    repos = [("chart", {"url": URL, "type": "helm", **CREDS})]
    assert choose(repos, [("t", {"url": URL, "type": "oci", **CREDS})], URL) is None


def test_project_scoped_secret_first_for_its_project() -> None:
    repos = [("a-plain", {"url": URL, **CREDS}),
             ("z-scoped", {"url": URL, "project": "team", **CREDS})]  # fmt: skip
    assert choose(repos, [], URL, "team").name == "z-scoped"  # type: ignore[union-attr]
    assert choose(repos, [], URL, "other").name == "a-plain"  # type: ignore[union-attr]
    only_scoped = repos[1:]
    assert choose(only_scoped, [], URL, "other") is None
    assert choose(only_scoped, [], URL).name == "z-scoped"  # type: ignore[union-attr]


def test_longest_template_prefix_wins_ties_by_name() -> None:
    templates = [("host", {"url": "https://git.example.com", **CREDS}),
                 ("org-b", {"url": "https://git.example.com/org", **CREDS}),
                 ("org-a", {"url": "https://git.example.com/org/", **CREDS}),
                 ("elsewhere", {"url": "https://git.example.org/org/app", **CREDS})]  # fmt: skip
    found = choose([], templates, URL)
    assert found is not None and (found.name, found.kind) == ("org-a", argocd_repos.REPO_CREDS)
    assert choose([], templates, "https://git.example.com/x").name == "host"  # type: ignore[union-attr]


def test_repository_without_credentials_takes_the_template_and_keeps_insecure() -> None:
    repos = [("repo", {"url": URL, "insecure": "true"})]
    templates = [("t", {"url": "https://git.example.com/org", **CREDS})]
    found = choose(repos, templates, URL)
    assert found is not None and found.name == "t" and found.insecure
    alone = choose(repos, [], URL)
    assert alone is not None and alone.name == "repo" and alone.insecure
    assert choose([("repo", {"url": URL})], [], URL) is None


def test_repository_credentials_beat_a_template() -> None:
    templates = [("t", {"url": "https://git.example.com", **CREDS})]
    found = choose([("repo", {"url": URL, "password": "token"})], templates, URL)
    assert found is not None and found.name == "repo"


def test_unsupported_forms_are_named() -> None:
    assert unsupported(CREDS) == []
    assert unsupported({"sshPrivateKey": "k", "tlsClientCertData": "c"}) == [
        "an SSH private key", "a TLS client certificate"]  # fmt: skip
    assert unsupported({"githubAppPrivateKey": "k"}) == ["a GitHub App private key"]
    assert unsupported({"enableLfs": "false", "useAzureWorkloadIdentity": ""}) == []
    assert unsupported({"enableLfs": "true", "proxy": "http://p:3128"}) == [
        "a proxy setting", "Git LFS"]  # fmt: skip


def test_git_env_sends_the_header_to_that_url_only_and_insecure_turns_off_tls_checks() -> None:
    from shipway.git.auth import RepoCreds, git_env

    env = git_env(URL, RepoCreds("s", "u", "p"), insecure=True)
    assert env == {"GIT_CONFIG_COUNT": "2",
                   "GIT_CONFIG_KEY_0": f"http.{URL}.extraHeader",
                   "GIT_CONFIG_VALUE_0": "Authorization: Basic dTpw",
                   "GIT_CONFIG_KEY_1": f"http.{URL}.sslVerify",
                   "GIT_CONFIG_VALUE_1": "false"}  # fmt: skip
    assert git_env("git://host/repo", RepoCreds("s", "u", "p")) == {}
    assert git_env(URL, None) == {}
