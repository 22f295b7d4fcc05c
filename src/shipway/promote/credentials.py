"""Credentials a promotion reads, as Kargo keeps them: Secrets in the project's namespace.

``generic_secrets``: Secrets labelled ``kargo.akuity.io/cred-type: generic``,
as ``secrets`` in expressions (``secrets['name']['key']``, Kargo's
``secret('name').key``); ``config_maps``: the Project's ConfigMaps for
``configMap('name')``. ``default_forge``:
the forge client for a PR step: the provider given (else github.com and
gitlab.com are known), the token from a Secret labelled
``kargo.akuity.io/cred-type: git`` whose ``repoURL`` matches (its
``password``), the API root from the repository's host. Reads the store only.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from shipway.git import forge as forge_mod
from shipway.promote.freight import normalize_git_url
from shipway.promote.steps.base import StepFailed
from shipway.store import resources as store_resources
from shipway.store.db import Store

CRED_TYPE = "kargo.akuity.io/cred-type"


def _data(body: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (body.get("data") or {}).items():
        try:
            out[k] = base64.b64decode(str(v)).decode()
        except ValueError:
            out[k] = str(v)
    out.update({k: str(v) for k, v in (body.get("stringData") or {}).items()})
    return out


def _secrets(store: Store, project: str, cred_type: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for res in store_resources.list_kind(store, "Secret", project):
        labels = (res.body.get("metadata") or {}).get("labels") or {}
        if labels.get(CRED_TYPE) == cred_type:
            out.append((res.name, _data(res.body)))
    return out


def generic_secrets(store: Store, project: str) -> dict[str, dict[str, str]]:
    return dict(_secrets(store, project, "generic"))


def config_maps(store: Store, project: str) -> dict[str, dict[str, str]]:
    """The Project's ConfigMaps' ``data``, by name (``configMap(name)`` in expressions)."""
    return {res.name: {k: str(v) for k, v in (res.body.get("data") or {}).items()}
            for res in store_resources.list_kind(store, "ConfigMap", project)}  # fmt: skip


def _provider(repo_url: str) -> str | None:
    host = urlsplit(repo_url).hostname or ""
    return {"github.com": "github", "gitlab.com": "gitlab"}.get(host)


def default_forge(store: Store, project: str) -> Callable[[str, str | None], Any]:
    def make(repo_url: str, provider: str | None) -> Any:
        kind = provider or _provider(repo_url)
        if kind is None:
            raise StepFailed(f"cannot tell which forge serves {repo_url}: set provider")
        token = next(
            (d.get("password", "") for _n, d in _secrets(store, project, "git")
             if normalize_git_url(d.get("repoURL", "")) == normalize_git_url(repo_url)),
            "",
        )  # fmt: skip
        api = forge_mod.default_api(kind, repo_url)
        return forge_mod.open_forge(kind, api, forge_mod.project_from_url(repo_url), token)

    return make
