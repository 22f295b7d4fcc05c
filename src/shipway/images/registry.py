"""A client for the OCI distribution API over httpx.

Pull, push (monolithic and chunked), HEAD-before-upload, cross-repository
mount, manifests, tags with ``Link`` pagination, catalog, delete and referrers;
basic and bearer auth (``auth.TokenAuth``); retries with backoff on 429
(honouring ``Retry-After``) and 5xx; every read digest-verified. Loopback
registries are plain HTTP as Docker treats them. HTTP failures become
``RegistryError`` with the status and the image reference as subject.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from shipway import settings
from shipway.images import credentials as creds_mod
from shipway.images import oci, upload
from shipway.images.auth import Challenge, TokenAuth, basic_header, parse_challenge
from shipway.images.cloud import credentials_for
from shipway.images.httputil import (
    CHUNK,
    STATUS_TEXT,
    file_chunks,
    next_link,
    pull_scope,
    push_scope,
    registry_message,
)
from shipway.images.reference import DOCKER_HUB, DOCKER_HUB_API, LOOPBACK_HOSTS, host_of
from shipway.model.errors import RegistryError

_OCTET = "application/octet-stream"
Body = bytes | Path | None


def _write_verified(resp: httpx.Response, tmp: Path, digest: str, subject: str) -> int:
    """Write a streamed blob to ``tmp``, refusing it when it does not hash to ``digest``."""
    h, size = hashlib.sha256(), 0
    with open(tmp, "wb") as fh:
        for chunk in resp.iter_bytes(CHUNK):
            h.update(chunk)
            size += len(chunk)
            fh.write(chunk)
    if "sha256:" + h.hexdigest() != digest:
        raise RegistryError(f"digest mismatch for blob {digest}", subject=subject)
    return size


class RegistryClient:
    """One registry (``host[:port]``); ``credentials`` default to the docker config."""

    def __init__(
        self,
        host: str,
        *,
        insecure: bool | None = None,
        credentials: creds_mod.Credentials | None = None,
        retries: int = 4,
        backoff: float = 0.2,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host = DOCKER_HUB if host in ("index.docker.io", DOCKER_HUB_API) else host
        api_host = DOCKER_HUB_API if self.host == DOCKER_HUB else self.host
        loopback = host_of(self.host) in LOOPBACK_HOSTS
        self.insecure = loopback if insecure is None else insecure
        self.scheme = "http" if loopback else "https"
        self.api_host = api_host
        self._creds = credentials
        self.retries, self.backoff, self.sleep = retries, backoff, sleep
        # every read and write has a deadline (``SHIPWAY_NET_TIMEOUT``, default 60 s): a
        # registry that stops answering mid-upload fails the push instead of hanging it
        timeout = settings.load().net_timeout if timeout is None else timeout
        self.timeout = timeout
        self.http = httpx.Client(
            timeout=timeout, verify=not self.insecure, transport=transport, follow_redirects=True
        )
        self._auth: TokenAuth | None = None
        self._challenge: Challenge | None = None
        self.requests = 0
        self.bytes_uploaded = 0

    # -- plumbing -------------------------------------------------------------
    @property
    def credentials(self) -> creds_mod.Credentials:
        if self._creds is None:
            creds = creds_mod.lookup(self.host)
            if creds.empty:  # ECR, GCR, ACR: the cloud's own exchange
                realm = self._challenge.params.get("realm") if self._challenge else None
                creds = credentials_for(self.host, self.http, realm)
            self._creds = creds
        return self._creds

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.api_host}"

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base + path

    def _auth_header(self, scopes: list[str], fresh: bool) -> str | None:
        ch = self._challenge
        if ch is None:
            return None
        if ch.scheme == "basic":
            return basic_header(self.credentials) if not self.credentials.empty else None
        if ch.scheme == "bearer":
            if self._auth is None:
                self._auth = TokenAuth(self.http, self.credentials, self.host)
            tok = self._auth.token(ch, scopes) if fresh else self._auth.cached(ch, scopes)
            if tok is None and not fresh:
                tok = self._auth.token(ch, scopes)
            return f"Bearer {tok}"
        return None

    def request(
        self,
        method: str,
        path: str,
        *,
        scopes: list[str],
        subject: str,
        ok: tuple[int, ...] = (200,),
        headers: dict[str, str] | None = None,
        body: Body = None,
        params: dict[str, str] | None = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send with auth and retries; statuses outside ``ok + allow`` raise RegistryError."""
        attempt, authed = 0, False
        while True:
            hdrs = dict(headers or {})
            auth = self._auth_header(scopes, fresh=False)
            if auth:
                hdrs["Authorization"] = auth
            try:
                resp = self._send(method, path, hdrs, body, params, subject)
            except RegistryError:
                if method not in ("GET", "HEAD") or attempt >= self.retries:
                    raise
                self.sleep(self.backoff * (2**attempt))  # reads are safe to repeat
                attempt += 1
                continue
            if resp.status_code == 401 and not authed and "www-authenticate" in resp.headers:
                if auth and auth.startswith("Bearer ") and self._auth and self._challenge:
                    self._auth.forget(self._challenge, scopes)  # expired or revoked: renew
                self._challenge = parse_challenge(resp.headers["www-authenticate"])
                authed = True
                if self._challenge.scheme in ("basic", "bearer"):
                    if self._challenge.scheme == "basic" and self.credentials.empty:
                        break
                    continue
            if (resp.status_code == 429 or resp.status_code >= 500) and attempt < self.retries:
                self.sleep(self._delay(resp, attempt))
                attempt += 1
                continue
            break
        if resp.status_code in ok or resp.status_code in allow:
            return resp
        raise self._error(resp, subject, attempt)

    def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Body,
        params: dict[str, str] | None,
        subject: str,
    ) -> httpx.Response:
        self.requests += 1
        content: bytes | Iterator[bytes] | None
        if isinstance(body, Path):
            headers.setdefault("Content-Length", str(body.stat().st_size))
            content = file_chunks(body)
        else:
            content = body
        try:
            resp = self.http.request(
                method, self._url(path), headers=headers, content=content, params=params
            )
        except httpx.TimeoutException as exc:
            raise RegistryError(
                f"{self.base} did not answer {method} within {self.timeout:g} s "
                f"({type(exc).__name__}); retryable: try again",
                subject=subject,
            ) from exc
        except httpx.TransportError as exc:
            if self.insecure and self.scheme == "https" and not path.startswith("http"):
                self.scheme = "http"  # Docker's insecure registries: HTTPS, then plain HTTP
                return self._send(method, path, headers, body, params, subject)
            raise RegistryError(f"cannot reach {self.base}: {exc}", subject=subject) from exc
        blob = "/manifests/" not in path
        if blob and method in ("PUT", "PATCH", "POST") and body is not None and resp.is_success:
            self.bytes_uploaded += body.stat().st_size if isinstance(body, Path) else len(body)
        return resp

    def _delay(self, resp: httpx.Response, attempt: int) -> float:
        after = resp.headers.get("retry-after", "")
        if after.strip().isdigit():
            return min(float(after), 30.0)
        return float(self.backoff * (2**attempt))

    def _error(self, resp: httpx.Response, subject: str, attempts: int) -> RegistryError:
        code = resp.status_code
        text = STATUS_TEXT.get(code, f"HTTP {code}").format(host=self.host)
        if code >= 500:
            text = f"registry failed with HTTP {code}"
        detail = registry_message(resp)
        if detail:
            text += f" ({detail})"
        if code == 429 or code >= 500:
            text += f" after {attempts + 1} attempts"
        return RegistryError(text, subject=subject, status=code)

    def subject_for(self, repository: str, reference: str = "") -> str:
        sep = "@" if reference.startswith("sha256:") else ":"
        return f"{self.host}/{repository}" + (f"{sep}{reference}" if reference else "")

    # -- API -----------------------------------------------------------------
    def ping(self) -> bool:
        """True when ``/v2/`` answers (authenticating if the registry asks to)."""
        self.request("GET", "/v2/", scopes=[], subject=self.host)
        return True

    def list_tags(self, repository: str, page_size: int | None = None) -> list[str]:
        """Every tag of ``repository``, following ``Link: <…>; rel="next"``."""
        subject = self.subject_for(repository)
        path = f"/v2/{repository}/tags/list"
        params = {"n": str(page_size)} if page_size else None
        tags: list[str] = []
        while path:
            resp = self.request(
                "GET", path, scopes=[pull_scope(repository)], subject=subject, params=params
            )
            tags += oci.json_object(resp.content, subject, "tag list").get("tags") or []
            path, params = next_link(resp), None
        return tags

    def catalog(self, page_size: int | None = None) -> list[str]:
        path = "/v2/_catalog"
        params = {"n": str(page_size)} if page_size else None
        repos: list[str] = []
        while path:
            resp = self.request(
                "GET", path, scopes=["registry:catalog:*"], subject=self.host, params=params
            )
            repos += oci.json_object(resp.content, self.host, "catalog").get("repositories") or []
            path, params = next_link(resp), None
        return repos

    def head_manifest(self, repository: str, reference: str) -> str | None:
        """The manifest digest, or None when the tag or digest does not exist."""
        resp = self.request(
            "HEAD",
            f"/v2/{repository}/manifests/{reference}",
            scopes=[pull_scope(repository)],
            subject=self.subject_for(repository, reference),
            headers={"Accept": oci.ACCEPT},
            allow=(404,),
        )
        if resp.status_code == 404:
            return None
        digest = resp.headers.get("docker-content-digest")
        if isinstance(digest, str) and digest:
            return digest
        return self.get_manifest(repository, reference)[0]

    def get_manifest(self, repository: str, reference: str) -> tuple[str, str, bytes]:
        """``(digest, media_type, bytes)``; the bytes are checked against the digest."""
        subject = self.subject_for(repository, reference)
        resp = self.request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            scopes=[pull_scope(repository)],
            subject=subject,
            headers={"Accept": oci.ACCEPT},
        )
        body = resp.content
        actual = oci.sha256_digest(body)
        expected = reference if reference.startswith("sha256:") else None
        expected = expected or resp.headers.get("docker-content-digest")
        if expected and expected.startswith("sha256:") and expected != actual:
            raise RegistryError(
                f"digest mismatch: expected {expected}, got {actual}", subject=subject
            )
        return actual, oci.media_type_of(body, resp.headers.get("content-type")), body

    def get_image_manifest(
        self, repository: str, reference: str, os_: str = "linux", arch: str = "amd64"
    ) -> tuple[str, str, dict[str, Any]]:
        """The image manifest, descending through an index to ``os_/arch``."""
        digest, mt, body = self.get_manifest(repository, reference)
        subject = self.subject_for(repository, reference)
        doc = oci.json_object(body, subject, "manifest")
        if mt in oci.INDEX_TYPES or "manifests" in doc:
            child = oci.pick_platform(doc, os_, arch)
            if child is None:
                raise RegistryError(
                    f"no {os_}/{arch} image in the index",
                    subject=self.subject_for(repository, reference),
                )
            digest, mt, body = self.get_manifest(repository, child)
            doc = oci.json_object(body, subject, "manifest")
        return digest, mt, doc

    def get_config(self, repository: str, reference: str) -> dict[str, Any]:
        """The image config JSON (for an index, of its linux/amd64 image)."""
        _, _, manifest = self.get_image_manifest(repository, reference)
        blob = self.get_blob(repository, manifest["config"]["digest"])
        return oci.json_object(blob, self.subject_for(repository, reference), "image config")

    def blob_exists(self, repository: str, digest: str) -> bool:
        resp = self.request(
            "HEAD",
            f"/v2/{repository}/blobs/{digest}",
            scopes=[pull_scope(repository)],
            subject=self.subject_for(repository, digest),
            allow=(404,),
        )
        return resp.status_code == 200

    def get_blob(self, repository: str, digest: str) -> bytes:
        """A blob's bytes, refused when they do not hash to ``digest``."""
        subject = self.subject_for(repository, digest)
        resp = self.request(
            "GET",
            f"/v2/{repository}/blobs/{digest}",
            scopes=[pull_scope(repository)],
            subject=subject,
        )
        if oci.sha256_digest(resp.content) != digest:
            raise RegistryError(f"digest mismatch for blob {digest}", subject=subject)
        return resp.content

    def download_blob(self, repository: str, digest: str, dest: Path) -> int:
        """Stream a blob into ``dest`` (temp file + rename, verified); returns its size.

        A 401 (auth not negotiated yet) or a 429/5xx goes through ``request`` once
        (HEAD: it authenticates and backs off), then the stream is tried again.
        """
        subject = self.subject_for(repository, digest)
        scopes = [pull_scope(repository)]
        path = f"/v2/{repository}/blobs/{digest}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
        try:
            for attempt in range(2):
                auth = self._auth_header(scopes, fresh=False)
                self.requests += 1
                headers = {"Authorization": auth} if auth else {}
                with self.http.stream("GET", self._url(path), headers=headers) as r:
                    if r.status_code != 200:
                        r.read()
                        if attempt == 0 and (r.status_code in (401, 429) or r.status_code >= 500):
                            self.request("HEAD", path, scopes=scopes, subject=subject)
                            continue
                        raise self._error(r, subject, attempt)
                    size = _write_verified(r, tmp, digest, subject)
                os.replace(tmp, dest)
                return size
            raise RegistryError("blob download did not start", subject=subject)
        except httpx.HTTPError as exc:
            raise RegistryError(f"download failed: {exc}", subject=subject) from exc
        finally:
            tmp.unlink(missing_ok=True)

    def mount_blob(self, repository: str, digest: str, source_repo: str) -> bool:
        """Cross-repository mount; True when the registry mounted it (201)."""
        return upload.mount_blob(self, repository, digest, source_repo)

    def upload_blob(
        self, repository: str, digest: str, data: bytes | Path, *, chunk_size: int | None = None
    ) -> None:
        """Upload a blob: monolithic, or chunked (resumable) when ``chunk_size`` is given."""
        upload.upload_blob(self, repository, digest, data, chunk_size=chunk_size)

    def location(self, resp: httpx.Response, subject: str) -> str:
        loc = str(resp.headers.get("location") or "")
        if not loc:
            raise RegistryError("upload session without a Location", subject=subject)
        return urljoin(str(resp.url), loc)

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        """Store a manifest under a tag or digest; returns its digest."""
        digest = oci.sha256_digest(body)
        subject = self.subject_for(repository, reference)
        resp = self.request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            scopes=[push_scope(repository)],
            subject=subject,
            ok=(201, 200),
            body=body,
            headers={"Content-Type": media_type},
        )
        echoed = resp.headers.get("docker-content-digest")
        if echoed and echoed != digest:
            raise RegistryError(
                f"registry stored digest {echoed}, expected {digest}", subject=subject
            )
        return digest

    def delete(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest."""
        self._delete(repository, "manifests", digest)

    def delete_blob(self, repository: str, digest: str) -> None:
        """Delete a blob by digest."""
        self._delete(repository, "blobs", digest)

    def _delete(self, repository: str, what: str, digest: str) -> None:
        self.request(
            "DELETE",
            f"/v2/{repository}/{what}/{digest}",
            scopes=[f"repository:{repository}:delete", push_scope(repository)],
            subject=self.subject_for(repository, digest),
            ok=(202, 200),
        )

    def referrers(
        self, repository: str, digest: str, artifact_type: str | None = None
    ) -> list[dict[str, Any]]:
        """Descriptors referring to ``digest`` (OCI 1.1 API, else the tag-schema fallback)."""
        subject = self.subject_for(repository, digest)
        params = {"artifactType": artifact_type} if artifact_type else None
        resp = self.request(
            "GET",
            f"/v2/{repository}/referrers/{digest}",
            scopes=[pull_scope(repository)],
            subject=subject,
            params=params,
            allow=(404,),
        )
        if resp.status_code == 200:
            found: list[dict[str, Any]] = oci.json_object(resp.content, subject, "referrers").get(
                "manifests", []
            )
        else:
            tag = digest.replace(":", "-")
            if self.head_manifest(repository, tag) is None:
                return []
            found = oci.json_object(self.get_manifest(repository, tag)[2], subject,
                                    "referrers index").get("manifests", [])  # fmt: skip
        if artifact_type:
            found = [m for m in found if m.get("artifactType") == artifact_type]
        return found
