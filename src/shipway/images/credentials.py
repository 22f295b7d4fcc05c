"""Registry credentials from ``~/.docker/config.json`` and ``docker-credential-*`` helpers.

Reads ``$DOCKER_CONFIG/config.json`` (default ``~/.docker``): ``auths`` (base64
``user:password`` or an ``identitytoken``), ``credHelpers`` per registry and the
default ``credsStore``; a helper is run as ``docker-credential-NAME get`` with
the server on stdin. ``store_login`` writes an ``auths`` entry (temp + rename).
Touches only that file and the helper programs.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shipway.images.reference import DOCKER_HUB, DOCKER_HUB_AUTH_KEY
from shipway.model.errors import InputError, RegistryError


@dataclass(frozen=True)
class Credentials:
    """A user and secret; ``identity_token`` is an OAuth2 refresh token (ACR, Docker Hub)."""

    username: str = ""
    password: str = ""
    identity_token: str = ""

    @property
    def empty(self) -> bool:
        return not (self.username or self.password or self.identity_token)


def config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return (Path(base) if base else Path.home() / ".docker") / "config.json"


def _keys(registry: str) -> list[str]:
    if registry == DOCKER_HUB:
        return [DOCKER_HUB_AUTH_KEY, "docker.io", "index.docker.io", "registry-1.docker.io"]
    return [registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/"]


def _load_config(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable docker config: {exc}", subject=str(path)) from exc
    return data if isinstance(data, dict) else {}


def lookup(registry: str, path: Path | None = None) -> Credentials:
    """Credentials for ``registry`` (``host[:port]``); empty ones when none are configured."""
    cfg = _load_config(path or config_path())
    helpers = cfg.get("credHelpers")
    if isinstance(helpers, dict):
        for key in _keys(registry):
            if isinstance(helpers.get(key), str):
                return run_helper(helpers[key], _keys(registry)[0])
    auths = cfg.get("auths")
    if isinstance(auths, dict):
        for key in _keys(registry):
            entry = auths.get(key)
            if isinstance(entry, dict) and (entry.get("auth") or entry.get("identitytoken")):
                return _from_entry(entry, registry)
    store = cfg.get("credsStore")
    if isinstance(store, str) and store:
        return run_helper(store, _keys(registry)[0], missing_ok=True)
    return Credentials()


def _from_entry(entry: dict[str, object], registry: str) -> Credentials:
    user, password = "", ""
    raw = entry.get("auth")
    if isinstance(raw, str) and raw:
        try:
            user, _, password = base64.b64decode(raw).decode().partition(":")
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError("bad base64 in docker config auth", subject=registry) from exc
    token = entry.get("identitytoken")
    return Credentials(user, password, token if isinstance(token, str) else "")


def run_helper(name: str, server: str, *, missing_ok: bool = False) -> Credentials:
    """Ask ``docker-credential-NAME`` for the credentials of ``server``."""
    prog = f"docker-credential-{name}"
    try:
        proc = subprocess.run(
            [prog, "get"], input=server.encode(), capture_output=True, timeout=30, check=False
        )
    except FileNotFoundError as exc:
        if missing_ok:
            return Credentials()
        raise RegistryError(f"credential helper {prog} is not installed", subject=server) from exc
    except subprocess.TimeoutExpired as exc:
        raise RegistryError(f"credential helper {prog} timed out", subject=server) from exc
    if proc.returncode != 0:
        text = (proc.stdout + proc.stderr).decode(errors="replace").strip()
        if "credentials not found" in text.lower():
            return Credentials()
        raise RegistryError(f"credential helper {prog} failed: {text}", subject=server)
    try:
        data = json.loads(proc.stdout)
    except ValueError as exc:
        raise RegistryError(f"credential helper {prog} printed no JSON", subject=server) from exc
    user, secret = str(data.get("Username", "")), str(data.get("Secret", ""))
    if user == "<token>":
        return Credentials(identity_token=secret)
    return Credentials(user, secret)


def store_login(registry: str, creds: Credentials, path: Path | None = None) -> Path:
    """Write ``creds`` into the ``auths`` of the docker config; returns the file."""
    path = path or config_path()
    cfg = _load_config(path)
    helper = _helper_for(cfg, registry)
    if helper:  # the secret goes to the helper, as docker login does
        _helper_store(helper, _keys(registry)[0], creds)
        return path
    auths = cfg.setdefault("auths", {})
    if not isinstance(auths, dict):
        auths = cfg["auths"] = {}
    key = _keys(registry)[0]
    token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    auths[key] = {"auth": token}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(cfg, indent=2) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def _helper_for(cfg: dict[str, object], registry: str) -> str | None:
    helpers = cfg.get("credHelpers")
    if isinstance(helpers, dict):
        for key in _keys(registry):
            if isinstance(helpers.get(key), str):
                return str(helpers[key])
    store = cfg.get("credsStore")
    return store if isinstance(store, str) and store else None


def _helper_store(name: str, server: str, creds: Credentials) -> None:
    prog = f"docker-credential-{name}"
    payload = json.dumps(
        {"ServerURL": server, "Username": creds.username, "Secret": creds.password}
    ).encode()
    try:
        proc = subprocess.run(
            [prog, "store"], input=payload, capture_output=True, timeout=30, check=False
        )
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        raise RegistryError(f"credential helper {prog} failed: {exc}", subject=server) from exc
    if proc.returncode != 0:
        text = (proc.stdout + proc.stderr).decode(errors="replace").strip()
        raise RegistryError(f"credential helper {prog} failed: {text}", subject=server)
