"""Cloud registry credentials: ECR, GCR / Artifact Registry, ACR.

- ECR (``<account>.dkr.ecr.<region>.amazonaws.com``): ``GetAuthorizationToken``
  signed with AWS Signature V4 from ``AWS_ACCESS_KEY_ID`` /
  ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, else the ``AWS_PROFILE``
  of ``~/.aws/credentials`` (``AWS_SHARED_CREDENTIALS_FILE``); the endpoint honours
  ``AWS_ENDPOINT_URL_ECR`` / ``AWS_ENDPOINT_URL``. Gives basic ``AWS:<password>``.
- GCR and Artifact Registry (``gcr.io``, ``*.gcr.io``, ``*-docker.pkg.dev``):
  user ``oauth2accesstoken`` with a Google access token from
  ``GOOGLE_OAUTH_ACCESS_TOKEN``, else a service-account key named by
  ``GOOGLE_APPLICATION_CREDENTIALS`` (JWT bearer grant), else the metadata
  server (``GCE_METADATA_HOST``).
- ACR (``*.azurecr.io``): an AAD access token (``AZURE_ACCESS_TOKEN``) exchanged
  at ``<realm origin>/oauth2/exchange`` for a refresh token, used as an identity
  token in the bearer flow.
Touches the HTTP client it is given; a service-account key is signed with ``openssl``.
"""

from __future__ import annotations

import base64
import configparser
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from shipway.images.credentials import Credentials
from shipway.model.errors import RegistryError

_ECR = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


def flavor(host: str) -> str | None:
    """``ecr``, ``gcr``, ``acr`` or None for a registry host."""
    name = host.split(":")[0]
    if _ECR.match(name):
        return "ecr"
    if name == "gcr.io" or name.endswith((".gcr.io", "-docker.pkg.dev")):
        return "gcr"
    if re.search(r"\.azurecr\.(io|cn|us)$", name):
        return "acr"
    return None


def credentials_for(
    host: str, http: httpx.Client, realm: str | None, env: Mapping[str, str] | None = None
) -> Credentials:
    """Credentials from the cloud's own exchange, or empty ones when not configured."""
    env = os.environ if env is None else env
    kind = flavor(host)
    if kind == "ecr":
        m = _ECR.match(host.split(":")[0])
        assert m is not None
        aws = aws_keys(env)
        if aws.get("AWS_ACCESS_KEY_ID"):
            return ecr_credentials(http, m.group(2), aws, registry_id=m.group(1))
    elif kind == "gcr":
        return gcr_credentials(http, env)
    elif kind == "acr" and env.get("AZURE_ACCESS_TOKEN") and realm:
        return acr_credentials(http, host, realm, env["AZURE_ACCESS_TOKEN"])
    return Credentials()


# -- ECR ---------------------------------------------------------------------
def aws_keys(env: Mapping[str, str]) -> dict[str, str]:
    """AWS keys from the environment, else from the shared credentials file's profile."""
    out = dict(env)
    if env.get("AWS_ACCESS_KEY_ID"):
        return out
    path = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or Path.home() / ".aws" / "credentials")
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
    except configparser.Error as exc:
        raise RegistryError(f"unreadable AWS credentials file: {exc}", subject=str(path)) from exc
    profile = env.get("AWS_PROFILE", "default")
    if parser.has_section(profile):
        section = parser[profile]
        names = (
            ("aws_access_key_id", "AWS_ACCESS_KEY_ID"),
            ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
            ("aws_session_token", "AWS_SESSION_TOKEN"),
        )
        for key, name in names:
            if section.get(key):
                out[name] = section[key]
    return out


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sigv4_headers(
    *,
    url: str,
    body: bytes,
    region: str,
    service: str,
    target: str,
    access_key: str,
    secret_key: str,
    session_token: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """Headers of an AWS JSON 1.1 POST signed with Signature Version 4."""
    now = now or dt.datetime.now(dt.UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    parsed = urlparse(url)
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "host": parsed.netloc,
        "x-amz-date": amz_date,
        "x-amz-target": target,
    }
    if session_token:
        headers["x-amz-security-token"] = session_token
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        [
            "POST",
            parsed.path or "/",
            "",
            *(f"{k}:{headers[k]}" for k in sorted(headers)),
            "",
            signed,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(
        _hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), service), "aws4_request"
    )
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, "
        f"Signature={signature}"
    )
    return headers


def ecr_credentials(
    http: httpx.Client, region: str, env: Mapping[str, str], registry_id: str | None = None
) -> Credentials:
    """``GetAuthorizationToken`` → basic ``AWS:<password>``."""
    url = env.get("AWS_ENDPOINT_URL_ECR") or env.get("AWS_ENDPOINT_URL")
    url = url or f"https://api.ecr.{region}.amazonaws.com/"
    body = b'{"registryIds":["%s"]}' % registry_id.encode() if registry_id else b"{}"
    headers = sigv4_headers(
        url=url,
        body=body,
        region=region,
        service="ecr",
        target="AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
        access_key=env.get("AWS_ACCESS_KEY_ID", ""),
        secret_key=env.get("AWS_SECRET_ACCESS_KEY", ""),
        session_token=env.get("AWS_SESSION_TOKEN"),
    )
    data = _post(http, url, "ECR GetAuthorizationToken", content=body, headers=headers)
    try:
        token = data["authorizationData"][0]["authorizationToken"]
        user, _, password = base64.b64decode(token).decode().partition(":")
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise RegistryError("ECR returned no authorization token", subject=url) from exc
    return Credentials(user, password)


# -- GCR / Artifact Registry ---------------------------------------------------
def gcr_credentials(http: httpx.Client, env: Mapping[str, str]) -> Credentials:
    token = env.get("GOOGLE_OAUTH_ACCESS_TOKEN", "")
    key_file = env.get("GOOGLE_APPLICATION_CREDENTIALS", "")
    if not token and key_file:
        token = service_account_token(http, Path(key_file))
    if not token:
        host = env.get("GCE_METADATA_HOST", "metadata.google.internal")
        url = f"http://{host}/computeMetadata/v1/instance/service-accounts/default/token"
        try:
            resp = http.get(url, headers={"Metadata-Flavor": "Google"}, timeout=3)
        except httpx.HTTPError:
            return Credentials()  # not on Google Cloud: anonymous
        if resp.status_code != 200:
            raise RegistryError(
                f"metadata server refused a token (HTTP {resp.status_code})", subject=url
            )
        token = str(resp.json().get("access_token", ""))
    return Credentials("oauth2accesstoken", token) if token else Credentials()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def service_account_token(http: httpx.Client, key_file: Path, now: float | None = None) -> str:
    """A service-account key (JSON) → an OAuth2 access token (JWT bearer grant, RS256).

    The JWT is signed by ``openssl dgst -sha256 -sign`` with the key's private key.
    """
    try:
        key = json.loads(key_file.read_text())
        email, pem = key["client_email"], key["private_key"]
        token_uri = key.get("token_uri") or "https://oauth2.googleapis.com/token"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RegistryError(f"unusable service account key: {exc}", subject=str(key_file)) from exc
    iat = int(now if now is not None else time.time())
    header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = _b64url(
        json.dumps(
            {
                "iss": email,
                "aud": token_uri,
                "iat": iat,
                "exp": iat + 3600,
                "scope": "https://www.googleapis.com/auth/cloud-platform",
            }
        ).encode()
    )
    signing_input = f"{header}.{claims}".encode()
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as fh:
        os.chmod(fh.name, 0o600)
        fh.write(pem)
        fh.flush()
        proc = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", fh.name],
            input=signing_input,
            capture_output=True,
            check=False,
        )
    if proc.returncode != 0:
        raise RegistryError(
            "could not sign the service-account JWT (openssl)", subject=str(key_file)
        )
    assertion = f"{header}.{claims}.{_b64url(proc.stdout)}"
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    data = _post(http, token_uri, "token exchange", data=form)
    return str(data.get("access_token", ""))


# -- ACR -----------------------------------------------------------------------
def acr_credentials(http: httpx.Client, host: str, realm: str, aad_token: str) -> Credentials:
    """Exchange an AAD access token for an ACR refresh token (identity token)."""
    origin = urlparse(realm)
    url = f"{origin.scheme}://{origin.netloc}/oauth2/exchange"
    form = {"grant_type": "access_token", "service": host, "access_token": aad_token}
    refresh = _post(http, url, "ACR token exchange", data=form).get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise RegistryError("ACR token exchange returned no refresh token", subject=url)
    return Credentials(identity_token=refresh)


def _post(
    http: httpx.Client,
    url: str,
    what: str,
    *,
    data: dict[str, str] | None = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST a form or a body; the JSON answer, or ``RegistryError`` naming ``what`` and ``url``."""
    try:
        resp = http.post(url, data=data, content=content, headers=headers)
    except httpx.HTTPError as exc:
        raise RegistryError(f"{what} failed: {exc}", subject=url) from exc
    if resp.status_code != 200:
        raise RegistryError(
            f"{what} refused (HTTP {resp.status_code}): {resp.text[:200]}",
            subject=url,
            status=resp.status_code,
        )
    data = resp.json()
    return data if isinstance(data, dict) else {}
