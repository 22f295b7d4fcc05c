"""GitHub App installation tokens, for Argo CD's ``service.github`` with ``appID``,
``installationID`` and ``privateKey`` (the form its github service page documents).

As GitHub documents the exchange: a JWT (RS256, ``iss`` the App id, ``iat`` a
minute in the past, ``exp`` nine minutes ahead) signed with the App's private key
authenticates ``POST {api}/app/installations/{id}/access_tokens``, which answers
an installation token and its ``expires_at``. Tokens are kept per (API, App,
installation) until a minute before they expire. A key that is not an RSA PEM,
or a refusal, is a ``DeliveryError`` naming the App (never the key). Touches the
GitHub API only.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shipway.notify.services.base import TIMEOUT, DeliveryError

_TOKENS: dict[tuple[str, str, str], tuple[str, float]] = {}
_LOCK = threading.Lock()
_EXCHANGES: dict[tuple[str, str, str], threading.Lock] = {}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def app_jwt(app_id: str, private_key: str, now: float | None = None) -> str:
    """The App's JWT (RS256) for the token exchange."""
    try:
        key = serialization.load_pem_private_key(private_key.encode(), password=None)
    except (ValueError, TypeError):
        raise DeliveryError(f"github App {app_id}: privateKey is not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DeliveryError(f"github App {app_id}: privateKey is not an RSA key")
    iat = int(now if now is not None else time.time()) - 60
    head = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps({"iat": iat, "exp": iat + 600, "iss": str(app_id)}).encode())
    sig = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{_b64(sig)}"


def installation_token(api: str, app_id: str, installation_id: str, private_key: str) -> str:
    """A token for the installation (from the cache while it is good for a minute more); one
    exchange at a time per installation, so senders in parallel lanes share one token."""
    memo = (api, str(app_id), str(installation_id))
    with _LOCK:
        one = _EXCHANGES.setdefault(memo, threading.Lock())
    with one:
        with _LOCK:
            found = _TOKENS.get(memo)
            if found and found[1] - 60 > time.time():
                return found[0]
        token, expires = _exchange(api, str(app_id), str(installation_id), private_key)
        with _LOCK:
            _TOKENS[memo] = (token, expires)
        return token


def _exchange(api: str, app_id: str, installation_id: str, private_key: str) -> tuple[str, float]:
    url = f"{api.rstrip('/')}/app/installations/{installation_id}/access_tokens"
    headers = {"Authorization": f"Bearer {app_jwt(app_id, private_key)}",
               "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28"}  # fmt: skip
    try:
        resp = httpx.post(url, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"github App {app_id}: cannot reach {url}: {exc}") from None
    if resp.status_code >= 300:
        raise DeliveryError(f"github App {app_id} installation {installation_id}: "
                            f"HTTP {resp.status_code}: {resp.text[:300]}")  # fmt: skip
    try:
        answer = resp.json()
        token = str(answer["token"])
        expires = dt.datetime.fromisoformat(str(answer["expires_at"]).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        raise DeliveryError(f"github App {app_id}: no token in {resp.text[:200]!r}") from None
    return token, expires.timestamp()
