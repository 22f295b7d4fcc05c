"""GitHub Apps in the forge fake: ``POST /github/app/installations/{id}/access_tokens``.

As GitHub documents it: the request is authenticated by a JWT (``Authorization:
Bearer <jwt>``, RS256, ``iss`` the App's id, ``iat``/``exp`` at most ten minutes
apart, not expired) signed with the App's private key; the answer (201) is an
installation token, ``{"token", "expires_at"}``, which the fake then takes as a
credential like ``TOKEN``. ``register(state, app_id, installation_id, public_pem)``
installs an App.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

Result = tuple[int, Any, dict[str, str]]


def register(state: Any, app_id: str, installation_id: str, public_pem: bytes) -> None:
    state.apps[(str(app_id), str(installation_id))] = public_pem


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _claims(state: Any, installation: str, auth: str) -> dict[str, Any] | None:
    if not auth.startswith("Bearer "):
        return None
    try:
        head, body, sig = auth.removeprefix("Bearer ").split(".")
        header, claims = json.loads(_b64(head)), json.loads(_b64(body))
    except ValueError:
        return None
    pem = state.apps.get((str(claims.get("iss")), installation))
    if header.get("alg") != "RS256" or pem is None:
        return None
    key = serialization.load_pem_public_key(pem)
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(_b64(sig), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return None
    now = time.time()
    if not (claims["iat"] - 60 <= now < claims["exp"]) or claims["exp"] - claims["iat"] > 660:
        return None
    return dict(claims)


def access_tokens(state: Any, installation: str, headers: dict[str, str]) -> Result:
    auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
    if _claims(state, installation, auth) is None:
        return 401, {"message": "A JSON web token could not be decoded"}, {}
    token = "ghs_" + secrets.token_hex(16)
    state.app_tokens.add(token)
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    return 201, {"token": token, "expires_at": expires}, {}
