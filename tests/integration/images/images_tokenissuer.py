"""A Docker token-protocol issuer on loopback, for the registry's ``auth: token`` mode.

GET ``/token?service=…&scope=…`` with basic credentials, or POST an OAuth2
``refresh_token`` grant, returns a JWT (RS256, signed with ``openssl`` and a
self-signed certificate carried in ``x5c``) granting the requested actions to
known users. ``/oauth2/exchange`` turns an AAD-style access token into a
refresh token (ACR's documented shape). Records every request for assertions.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    def __init__(self, workdir: Path, users: dict[str, str], service: str = "shipway-test"):
        self.dir = workdir
        self.users = users
        self.service = service
        self.issuer = "shipway-test-issuer"
        self.refresh_tokens: dict[str, str] = {}
        self.aad_tokens: dict[str, str] = {}
        self.requests: list[dict[str, Any]] = []
        self.key, self.cert = workdir / "key.pem", workdir / "cert.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                str(self.key),
                "-out",
                str(self.cert),
                "-days",
                "2",
                "-subj",
                "/CN=issuer",
            ],
            check=True,
            capture_output=True,
        )
        der = subprocess.run(
            ["openssl", "x509", "-in", str(self.cert), "-outform", "DER"],
            check=True,
            capture_output=True,
        ).stdout
        self.x5c = base64.b64encode(der).decode()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def registry_config(self) -> dict[str, str]:
        return {
            "realm": self.realm,
            "service": self.service,
            "issuer": self.issuer,
            "rootcertbundle": str(self.cert),
        }

    def start(self) -> TokenIssuer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def sign(self, subject: str, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = (
            f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        )
        sig = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(self.key)],
            input=signing_input.encode(),
            check=True,
            capture_output=True,
        ).stdout
        return f"{signing_input}.{b64url(sig)}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _basic_user(self) -> str | None:
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Basic "):
                    return None
                user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                return user if issuer.users.get(user) == pw else ""

            def do_GET(self) -> None:
                url = urllib.parse.urlparse(self.path)
                q = urllib.parse.parse_qs(url.query)
                scopes = q.get("scope", [])
                issuer.requests.append({"method": "GET", "scopes": scopes})
                user = self._basic_user()
                if user == "":
                    self._reply(401, {"details": "bad credentials"})
                    return
                grant = scopes if user else [s for s in scopes if s.endswith(":pull")]
                self._reply(
                    200, {"token": issuer.sign(user or "anonymous", grant), "expires_in": 300}
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                field = {k: v[0] for k, v in form.items()}
                issuer.requests.append({"method": "POST", "path": self.path, "form": field})
                if self.path.startswith("/oauth2/exchange"):
                    user = issuer.aad_tokens.get(field.get("access_token", ""))
                    if not user:
                        self._reply(401, {"error": "invalid aad token"})
                        return
                    rt = secrets.token_hex(8)
                    issuer.refresh_tokens[rt] = user
                    self._reply(200, {"refresh_token": rt})
                    return
                user = issuer.refresh_tokens.get(field.get("refresh_token", ""))
                if field.get("grant_type") != "refresh_token" or not user:
                    self._reply(401, {"error": "invalid_grant"})
                    return
                scopes = field.get("scope", "").split()
                self._reply(200, {"access_token": issuer.sign(user, scopes), "expires_in": 300})

        return Handler
