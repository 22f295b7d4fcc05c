"""Credentials a promotion reads, as Kargo keeps them: Secrets in the project's namespace.

``generic_secrets``: Secrets labelled ``kargo.akuity.io/cred-type: generic``,
as ``secrets`` in expressions (``secrets['name']['key']``, Kargo's
``secret('name').key``); ``helm_secrets``: those labelled ``helm`` (chart
repository credentials, ``promote.charts``); ``config_maps``: the Project's ConfigMaps for
``configMap('name')``. A Secret is found in the store or, as shipway keeps
Secret manifests elsewhere (Flux Receivers, ApplicationSet tokens), in
``$SHIPWAY_HOME/secrets/<project>/<name>.yaml`` (``project_secrets``; the
store's wins for one name). ``default_forge``:
the forge client for a PR step: the provider given (else github.com and
gitlab.com are known), the token from a Secret labelled
``kargo.akuity.io/cred-type: git`` whose ``repoURL`` matches (its
``password``), the API root from the repository's host. Reads the store only.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

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
        token = next(
            (d.get("password", "") for _n, d in _secrets(store, project, "git", home)
             if normalize_git_url(d.get("repoURL", "")) == normalize_git_url(repo_url)),
            "",
        )  # fmt: skip
        api = forge_mod.default_api(kind, repo_url)
        return forge_mod.open_forge(kind, api, forge_mod.project_from_url(repo_url), token)

    return make
