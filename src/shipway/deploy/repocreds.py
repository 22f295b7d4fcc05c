"""Argo CD's repository credentials, read from the store, for the reconciler's git processes.

``git_auth(store)`` is ``repo_url -> environment`` for a git process that
clones or fetches ``repo_url`` (``deploy.gitsource``): the Secrets applied in
the ``argocd`` namespace labelled ``argocd.argoproj.io/secret-type:
repository`` or ``repo-creds`` are read on each call (a Secret applied
between passes is used by the next), the serving one is chosen as Argo CD
chooses it (``model.argocd_repos.choose``), and its ``username`` and
``password`` reach git through ``shipway.git.auth.git_env`` (the git
process's environment, that URL only), the same way Kargo's credentials do.
A chosen Secret holding a form shipway cannot use (an SSH key, a GitHub App
key, a TLS client certificate...) is refused with an ``InputError`` naming
the Secret and the repository. Reads the store only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from shipway.git.auth import RepoCreds, git_env
from shipway.model import argocd_repos, namespaces
from shipway.model import secrets as secret_model
from shipway.model.errors import InputError
from shipway.store import resources as store_resources
from shipway.store.db import Store

GitAuth = Callable[[str], dict[str, str]]
"""``repo_url -> environment`` of the git processes talking to it."""


def _secrets(store: Store) -> tuple[list[tuple[str, Mapping[str, str]]],
                                    list[tuple[str, Mapping[str, str]]]]:  # fmt: skip
    repos: list[tuple[str, Mapping[str, str]]] = []
    templates: list[tuple[str, Mapping[str, str]]] = []
    for res in store_resources.list_kind(store, "Secret", namespaces.ARGOCD):
        kind = argocd_repos.secret_type(res.body)
        if kind == argocd_repos.REPOSITORY:
            repos.append((res.name, secret_model.decoded(res.body)))
        elif kind == argocd_repos.REPO_CREDS:
            templates.append((res.name, secret_model.decoded(res.body)))
    return repos, templates


def chosen(store: Store, repo_url: str,
           project: str | None = None) -> argocd_repos.Chosen | None:  # fmt: skip
    """The Argo CD Secret serving ``repo_url``; refused when it holds what shipway cannot use."""
    repos, templates = _secrets(store)
    found = argocd_repos.choose(repos, templates, repo_url, project)
    if found is None:
        return None
    other = argocd_repos.unsupported(found.data)
    if other:
        raise InputError(
            f"Secret {namespaces.ARGOCD}/{found.name} ({argocd_repos.SECRET_TYPE}: {found.kind}) "
            f"holds {' and '.join(other)} for {repo_url}: shipway supports HTTP(S) "
            "username/password credentials only",
            subject=f"Secret/{namespaces.ARGOCD}/{found.name}",
        )
    return found


def env_for(store: Store, repo_url: str, project: str | None = None) -> dict[str, str]:
    """The environment of a git process talking to ``repo_url`` (``{}``: anonymous)."""
    found = chosen(store, repo_url, project)
    if found is None:
        return {}
    creds = None
    if found.data.get("username") or found.data.get("password"):
        creds = RepoCreds(found.name, str(found.data.get("username", "")),
                          str(found.data.get("password", "")))  # fmt: skip
    return git_env(repo_url, creds, insecure=found.insecure)


def git_auth(store: Store, project: str | None = None) -> GitAuth:
    """``repo_url -> environment`` over the store's Argo CD repository Secrets."""
    return lambda repo_url: env_for(store, repo_url, project)
