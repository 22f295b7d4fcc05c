"""In-process servers speaking the documented shapes of the cloud credential APIs:
ECR ``GetAuthorizationToken`` (AWS JSON 1.1, SigV4-signed) and the GCE metadata
server's access-token endpoint. No real one can run here."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from shipway.images.cloud import sigv4_headers


class _Server:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        raise NotImplementedError

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append({"path": self.path, "headers": headers, "body": body})
                status, data = outer.handle(self.command, self.path, headers, body)
                out = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = _serve

        return Handler


class FakeECR(_Server):
    """Checks the SigV4 signature with the configured secret; returns ``AWS:<password>``."""

    def __init__(self, access_key: str, secret_key: str, password: str) -> None:
        self.access_key, self.secret_key, self.password = access_key, secret_key, password
        super().__init__()

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        target = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
        if method != "POST" or headers.get("x-amz-target") != target:
            return 400, {"__type": "UnknownOperationException"}
        auth = headers.get("authorization", "")
        region = auth.split("Credential=")[1].split("/")[2] if "Credential=" in auth else ""
        when = dt.datetime.strptime(headers.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ")
        expected = sigv4_headers(
            url=f"http://{headers['host']}{path}",
            body=body,
            region=region,
            service="ecr",
            target=target,
            access_key=self.access_key,
            secret_key=self.secret_key,
            session_token=headers.get("x-amz-security-token"),
            now=when.replace(tzinfo=dt.UTC),
        )["authorization"]
        if auth != expected:
            return 403, {"__type": "InvalidSignatureException"}
        token = base64.b64encode(f"AWS:{self.password}".encode()).decode()
        return 200, {
            "authorizationData": [
                {
                    "authorizationToken": token,
                    "expiresAt": 1.9e9,
                    "proxyEndpoint": "https://example",
                }
            ]
        }


class FakeMetadata(_Server):
    """The GCE metadata server's default service-account token endpoint."""

    def __init__(self, token: str) -> None:
        self.token = token
        super().__init__()

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        if headers.get("metadata-flavor") != "Google":
            return 403, {"error": "missing Metadata-Flavor"}
        if path != "/computeMetadata/v1/instance/service-accounts/default/token":
            return 404, {}
        return 200, {"access_token": self.token, "expires_in": 3599, "token_type": "Bearer"}


class FakeGoogleOAuth(_Server):
    """Google's OAuth2 token endpoint for the JWT bearer grant (service-account keys).

    Checks the RS256 signature with the key pair's public half (``openssl``)."""

    def __init__(self, public_pem: Path, email: str, token: str) -> None:
        self.public_pem, self.email, self.token = public_pem, email, token
        super().__init__()

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type"}
        head, claims, sig = form.get("assertion", "..").split(".")
        pad = "=" * (-len(sig) % 4)
        sig_file = self.public_pem.with_suffix(".sig")
        sig_file.write_bytes(base64.urlsafe_b64decode(sig + pad))
        ok = (
            subprocess.run(
                [
                    "openssl",
                    "dgst",
                    "-sha256",
                    "-verify",
                    str(self.public_pem),
                    "-signature",
                    str(sig_file),
                ],
                input=f"{head}.{claims}".encode(),
                capture_output=True,
            ).returncode
            == 0
        )
        data = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
        if (
            not ok
            or data.get("iss") != self.email
            or data.get("aud") != f"http://{self.host}/token"
        ):
            return 400, {"error": "invalid_grant"}
        return 200, {"access_token": self.token, "expires_in": 3599, "token_type": "Bearer"}
