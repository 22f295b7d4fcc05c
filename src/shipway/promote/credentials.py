"""Credentials a promotion or a discovery reads, as Kargo keeps them: Secrets in the project's
namespace.

A Secret is found in the store (``shipway apply`` of a ``v1`` Secret) or, as
shipway keeps Secret manifests elsewhere (Flux Receivers, ApplicationSet
tokens), in ``$SHIPWAY_HOME/secrets/<project>/<name>.yaml``
(``project_secrets``; the store's wins for one name). ``generic_secrets``:
those labelled ``kargo.akuity.io/cred-type: generic``, as ``secrets`` in
expressions (``secrets['name']['key']``, Kargo's ``secret('name').key``);
``helm_secrets``: those labelled ``helm`` (chart repositories,
``promote.charts``); ``config_maps``: the Project's ConfigMaps for
``configMap('name')``. ``repo_credentials`` finds the ``git``, ``image`` or
``helm`` Secret for one repository with Kargo's precedence
(``shipway.model.secrets.match_credentials``: exact ``repoURL`` first, then
``repoURLIsRegex`` patterns, by name; then the same in Kargo's shared resources
namespace). ``git_env`` (``shipway.git.auth``, shared with Argo CD's
repository Secrets) turns git credentials into
the environment of one git process (an ``http.<url>.extraHeader`` through
``GIT_CONFIG_*`` variables, so nothing is written into a repository's config
and the header goes to that repository only); ``git_auth`` is that look-up
for a project, as git steps and Warehouse discovery use it. Kargo's other
forms (``sshPrivateKey``, GitHub App keys) are refused, naming the Secret.
``default_forge``: the forge client for a PR step: the provider given (else
github.com and gitlab.com are known), the token the matching ``git`` Secret's
``password``, the API root from the repository's host. Reads the store and
the secrets directory only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from shipway.git import forge as forge_mod
from shipway.git.auth import RepoCreds as RepoCreds  # re-exported: callers name it here
from shipway.git.auth import git_env as git_env
from shipway.images import reference
from shipway.model import secrets as secret_model
from shipway.model.errors import InputError, ShipwayError
from shipway.promote.expressions import SHARED_NAMESPACE
from shipway.promote.freight import normalize_git_url
from shipway.promote.steps.base import StepFailed
from shipway.store import resources as store_resources
from shipway.store.db import Store

CRED_TYPE = secret_model.CRED_TYPE


_data = secret_model.decoded


def _manifests(home: Path | None, project: str) -> list[tuple[str, dict[str, Any]]]:
    root = home / "secrets" / project if home is not None else None
    if root is None or not root.is_dir():
        return []
    out: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(root.glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(doc, dict) and doc.get("kind", "Secret") == "Secret":
            out.append((str((doc.get("metadata") or {}).get("name") or path.stem), doc))
    return out


def project_secrets(store: Store, project: str,
                    home: Path | None = None) -> list[tuple[str, dict[str, Any]]]:  # fmt: skip
    """Every Secret of the project, ``(name, manifest)``: the store's, then the files'."""
    found = [(res.name, res.body) for res in store_resources.list_kind(store, "Secret", project)]
    names = {n for n, _ in found}
    return found + [(n, d) for n, d in _manifests(home, project) if n not in names]


def secret_data(store: Store, project: str, name: str,
                home: Path | None = None) -> dict[str, str] | None:  # fmt: skip
    """One Secret's decoded data (``data`` and ``stringData``), None when there is none."""
    for found, body in project_secrets(store, project, home):
        if found == name:
            return _data(body)
    return None


def _secrets(store: Store, project: str, cred_type: str,
             home: Path | None = None) -> list[tuple[str, dict[str, str]]]:  # fmt: skip
    out = []
    for name, body in project_secrets(store, project, home):
        labels = (body.get("metadata") or {}).get("labels") or {}
        if labels.get(CRED_TYPE) == cred_type:
            out.append((name, _data(body)))
    return out


def generic_secrets(store: Store, project: str,
                    home: Path | None = None) -> dict[str, dict[str, str]]:  # fmt: skip
    return dict(_secrets(store, project, "generic", home))


def helm_secrets(store: Store, project: str,
                 home: Path | None = None) -> list[tuple[str, dict[str, str]]]:  # fmt: skip
    """The project's Secrets labelled ``kargo.akuity.io/cred-type: helm``, decoded."""
    return _secrets(store, project, "helm", home)


def config_maps(store: Store, project: str) -> dict[str, dict[str, str]]:
    """The Project's ConfigMaps' ``data``, by name (``configMap(name)`` in expressions)."""
    return {res.name: {k: str(v) for k, v in (res.body.get("data") or {}).items()}
            for res in store_resources.list_kind(store, "ConfigMap", project)}  # fmt: skip


def _provider(repo_url: str) -> str | None:
    host = urlsplit(repo_url).hostname or ""
    return {"github.com": "github", "gitlab.com": "gitlab"}.get(host)


def default_forge(store: Store, project: str,
                  home: Path | None = None) -> Callable[[str, str | None], Any]:  # fmt: skip
    def make(repo_url: str, provider: str | None) -> Any:
        kind = provider or _provider(repo_url)
        if kind is None:
            raise StepFailed(f"cannot tell which forge serves {repo_url}: set provider")
        found = secret_model.match_credentials(_secrets(store, project, "git", home), repo_url,
                                               normalize_git_url)  # fmt: skip
        token = str(found[1].get("password", "")) if found else ""
        api = forge_mod.default_api(kind, repo_url)
        return forge_mod.open_forge(kind, api, forge_mod.project_from_url(repo_url), token)

    return make


def _image_spelling(url: str) -> str:
    try:
        ref = reference.parse_repository(url.strip().rstrip("/"))
    except ShipwayError:
        return url.strip().rstrip("/").lower()
    return f"{ref.registry}/{ref.repository}".lower()


_SPELLINGS: dict[str, Callable[[str], str]] = {
    "git": normalize_git_url,
    "image": _image_spelling,
    "helm": lambda url: url.strip().rstrip("/").lower(),
}
_UNSUPPORTED = {
    "sshPrivateKey": "SSH private keys",
    "githubAppPrivateKey": "GitHub App keys",
    "awsAccessKeyID": "AWS access keys",
    "gcpServiceAccountKey": "GCP service account keys",
    "azureClientSecret": "Azure client secrets",
}


def repo_credentials(store: Store, project: str, cred_type: str, repo_url: str,
                     home: Path | None = None) -> RepoCreds | None:  # fmt: skip
    """The project's ``cred_type`` credentials for ``repo_url`` (None: none match); as Kargo,
    the shared resources namespace (``kargo-shared-resources``) is searched when the
    project's own holds none."""
    spelling = _SPELLINGS.get(cred_type, str)
    for where in (project, SHARED_NAMESPACE):
        found = secret_model.match_credentials(_secrets(store, where, cred_type, home), repo_url,
                                               spelling)  # fmt: skip
        if found is not None:
            return _usable(where, cred_type, repo_url, *found)
    return None


def _usable(project: str, cred_type: str, repo_url: str, name: str,
            data: Mapping[str, str]) -> RepoCreds:  # fmt: skip
    if not data.get("password"):
        other = next((what for key, what in _UNSUPPORTED.items() if data.get(key)), None)
        if other is not None:
            raise InputError(
                f"Secret {project}/{name} ({CRED_TYPE}: {cred_type}) holds {other} for "
                f"{repo_url}: shipway supports username/password credentials only",
                subject=f"Secret/{project}/{name}",
            )
    return RepoCreds(name, str(data.get("username", "")), str(data.get("password", "")))


def git_auth(store: Store, project: str,
             home: Path | None = None) -> Callable[[str], dict[str, str]]:  # fmt: skip
    """``repo_url -> environment`` for git processes of ``project``'s promotions."""

    def env_for(repo_url: str) -> dict[str, str]:
        return git_env(repo_url, repo_credentials(store, project, "git", repo_url, home))

    return env_for
