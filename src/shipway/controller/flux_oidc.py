"""A Flux ``generic-oidc`` Receiver's check, as Flux's receivers page documents it: the
request carries an OIDC ID token (``Authorization: Bearer <jwt>``); one of the
Receiver's ``oidcProviders`` must have issued it (its ``issuerURL`` is the token's
``iss``; the signature checks against the issuer's JWKS, found through
``/.well-known/openid-configuration``; RS256 or ES256), for its ``audience``
(default ``notification-controller``), not expired. Then the provider's
``variables`` are evaluated in order (CEL on ``claims`` and the ``vars`` so far) and
every ``validations`` expression must hold, else the request is refused with its
``message``. Keys are kept per issuer for five minutes (fetched again once for an
unknown ``kid``). A refusal is a ``WebhookAuthError`` (401). Touches the issuers' HTTP
endpoints only.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from shipway.git.webhooks import WebhookAuthError
from shipway.model import bounded, flux_cel
from shipway.model.errors import InputError
from shipway.model.flux_notify import OIDCProvider

DEFAULT_AUDIENCE = "notification-controller"
_KEYS: dict[str, tuple[float, list[dict[str, Any]]]] = {}
_LOCK = threading.Lock()
_TTL = 300.0


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _int(part: str) -> int:
    return int.from_bytes(_b64(part), "big")


def _jwks(issuer: str, refresh: bool = False) -> list[dict[str, Any]]:
    with _LOCK:
        found = _KEYS.get(issuer)
        if found and not refresh and found[0] > time.time():
            return found[1]
    try:
        conf = httpx.get(issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=10)
        conf.raise_for_status()
        keys = httpx.get(str(conf.json()["jwks_uri"]), timeout=10)
        keys.raise_for_status()
        got = [k for k in keys.json().get("keys") or [] if isinstance(k, dict)]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise WebhookAuthError(f"OIDC issuer {issuer}: cannot read its keys: {exc}") from None
    with _LOCK:
        _KEYS[issuer] = (time.time() + _TTL, got)
    return got


def _verify_signature(key: dict[str, Any], alg: str, signed: bytes, sig: bytes) -> bool:
    try:
        if alg == "RS256" and key.get("kty") == "RSA":
            pub = rsa.RSAPublicNumbers(_int(key["e"]), _int(key["n"])).public_key()
            pub.verify(sig, signed, padding.PKCS1v15(), hashes.SHA256())
            return True
        if alg == "ES256" and key.get("kty") == "EC" and len(sig) == 64:
            ecpub = ec.EllipticCurvePublicNumbers(_int(key["x"]), _int(key["y"]),
                                                  ec.SECP256R1()).public_key()  # fmt: skip
            der = encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                       int.from_bytes(sig[32:], "big"))  # fmt: skip
            ecpub.verify(der, signed, ec.ECDSA(hashes.SHA256()))
            return True
    except (InvalidSignature, KeyError, ValueError):
        return False
    return False


def _claims(token: str, providers: list[OIDCProvider]) -> tuple[OIDCProvider, dict[str, Any]]:
    try:
        head_b, body_b, sig_b = token.split(".")
        head = bounded.load_json(_b64(head_b), "token header")
        claims = bounded.load_json(_b64(body_b), "token claims")
        sig = _b64(sig_b)
        if not isinstance(head, dict) or not isinstance(claims, dict):
            raise ValueError("not JSON objects")
    except (ValueError, InputError):
        raise WebhookAuthError("the bearer token is not a JWT") from None
    provider = next((p for p in providers if p.issuer_url == claims.get("iss")), None)
    if provider is None:
        raise WebhookAuthError(f"no oidcProviders entry has the token's issuer "
                               f"{claims.get('iss')!r}")  # fmt: skip
    signed = f"{head_b}.{body_b}".encode()
    for refresh in (False, True):
        keys = [k for k in _jwks(provider.issuer_url, refresh)
                if not head.get("kid") or k.get("kid") == head.get("kid")]  # fmt: skip
        if any(_verify_signature(k, str(head.get("alg")), signed, sig) for k in keys):
            break
    else:
        raise WebhookAuthError(f"the token's signature does not check with "
                               f"{provider.issuer_url}'s keys")  # fmt: skip
    audience = provider.audience or DEFAULT_AUDIENCE
    aud = claims.get("aud")
    if audience not in (aud if isinstance(aud, list) else [aud]):
        raise WebhookAuthError(f"the token is not for audience {audience!r}")
    now = time.time()
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] <= now - 30:
        raise WebhookAuthError("the token has expired")
    if isinstance(claims.get("nbf"), int | float) and claims["nbf"] > now + 30:
        raise WebhookAuthError("the token is not valid yet")
    return provider, claims


def verify(providers: list[OIDCProvider], headers: Mapping[str, str]) -> dict[str, Any]:
    """The token's claims, once the issuer, signature, audience, time and the provider's
    validations check; ``WebhookAuthError`` saying which did not."""
    h = {k.lower(): v for k, v in headers.items()}
    auth = h.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        raise WebhookAuthError("a generic-oidc Receiver needs Authorization: Bearer <ID token>")
    provider, claims = _claims(auth[7:].strip(), providers)
    variables: dict[str, Any] = {}
    try:
        for var in provider.variables:
            variables[var.name] = flux_cel.value(var.expression, {"claims": claims,
                                                                  "vars": variables},
                                                 f"variable {var.name}")  # fmt: skip
        for check in provider.validations:
            if not flux_cel.truth(check.expression, {"claims": claims, "vars": variables},
                                  "validation"):  # fmt: skip
                raise WebhookAuthError(check.message or f"validation {check.expression!r} failed")
    except ValueError as exc:
        raise WebhookAuthError(str(exc)) from None
    return claims
