"""Registry authentication: ``WWW-Authenticate`` challenges, basic and bearer tokens.

``parse_challenge`` is pure. ``TokenAuth`` negotiates Docker-token-protocol
bearer tokens (realm/service/scope, GET with basic credentials or an OAuth2
``refresh_token`` POST) and caches one token per realm, service and scope until
it expires. Touches only the HTTP client it is given.
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass, field

import httpx

from shipway.images.credentials import Credentials
from shipway.model.errors import RegistryError

_PARAM = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str] = field(default_factory=dict)


def parse_challenge(header: str) -> Challenge:
    """``Bearer realm="…",service="…",scope="…"`` → Challenge (scheme lowercased)."""
    header = header.strip()
    scheme, _, rest = header.partition(" ")
    params = {m.group(1).lower(): (m.group(2) or m.group(3) or "") for m in _PARAM.finditer(rest)}
    return Challenge(scheme.lower(), params)


def basic_header(creds: Credentials) -> str:
    raw = f"{creds.username}:{creds.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class TokenAuth:
    """Bearer tokens for one registry, cached per (realm, service, scope)."""

    def __init__(self, client: httpx.Client, creds: Credentials, subject: str) -> None:
        self.client = client
        self.creds = creds
        self.subject = subject
        self._cache: dict[tuple[str, str, str], tuple[str, float]] = {}
        self.requests = 0

    def cached(self, challenge: Challenge, scopes: list[str]) -> str | None:
        key = self._key(challenge, scopes)
        hit = self._cache.get(key)
        if hit and hit[1] > time.monotonic():
            return hit[0]
        return None

    def forget(self, challenge: Challenge, scopes: list[str]) -> None:
        """Drop the cached token for ``scopes`` (the registry refused it)."""
        self._cache.pop(self._key(challenge, scopes), None)

    def token(self, challenge: Challenge, scopes: list[str]) -> str:
        """A token for ``scopes``: from the cache, or fetched from the challenge's realm."""
        hit = self.cached(challenge, scopes)
        if hit:
            return hit
        realm = challenge.params.get("realm")
        if not realm:
            raise RegistryError("bearer challenge without a realm", subject=self.subject)
        service = challenge.params.get("service", "")
        tok, expires_in = self._fetch(realm, service, scopes)
        self._cache[self._key(challenge, scopes)] = (tok, time.monotonic() + expires_in - 10)
        return tok

    def _key(self, challenge: Challenge, scopes: list[str]) -> tuple[str, str, str]:
        p = challenge.params
        return (p.get("realm", ""), p.get("service", ""), " ".join(sorted(scopes)))

    def _fetch(self, realm: str, service: str, scopes: list[str]) -> tuple[str, float]:
        self.requests += 1
        try:
            if self.creds.identity_token:
                form = {
                    "grant_type": "refresh_token",
                    "refresh_token": self.creds.identity_token,
                    "service": service,
                    "scope": " ".join(scopes),
                    "client_id": "shipway",
                }
                resp = self.client.post(realm, data=form)
            else:
                params: list[tuple[str, str | int | float | bool | None]] = (
                    [("service", service)] if service else []
                )
                params += [("scope", s) for s in scopes]
                headers = {}
                if self.creds.username or self.creds.password:
                    headers["Authorization"] = basic_header(self.creds)
                resp = self.client.get(realm, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise RegistryError(
                f"token service {realm} unreachable: {exc}", subject=self.subject
            ) from exc
        if resp.status_code in (401, 403):
            raise RegistryError(
                f"token service refused the credentials (HTTP {resp.status_code})",
                subject=self.subject,
                status=resp.status_code,
            )
        if resp.status_code != 200:
            raise RegistryError(
                f"token service failed with HTTP {resp.status_code}",
                subject=self.subject,
                status=resp.status_code,
            )
        try:
            data = resp.json()
        except ValueError as exc:
            raise RegistryError("token service returned no JSON", subject=self.subject) from exc
        tok = data.get("token") or data.get("access_token")
        if not isinstance(tok, str) or not tok:
            raise RegistryError("token service returned no token", subject=self.subject)
        expires = data.get("expires_in")
        return tok, float(expires) if isinstance(expires, int | float) and expires > 0 else 60.0
