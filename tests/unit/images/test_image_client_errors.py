"""Registry client behaviour a real distribution registry cannot be made to show:
429 with Retry-After, 5xx, a lying registry (digest mismatch). Served by
``httpx.MockTransport`` handlers; the happy paths run against the real registry
in tests/integration/images.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from shipway.images.credentials import Credentials
from shipway.images.oci import sha256_digest
from shipway.images.registry import RegistryClient
from shipway.model.errors import RegistryError

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, sleeps: list[float], **kw: object) -> RegistryClient:
    return RegistryClient(
        "reg.example.io",
        credentials=Credentials(),
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        **kw,  # type: ignore[arg-type]
    )


def test_429_honours_retry_after_then_succeeds() -> None:
    calls: list[int] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            return httpx.Response(429, headers={"Retry-After": "2"})
        return httpx.Response(200, json={"tags": ["a"]})

    sleeps: list[float] = []
    assert _client(handler, sleeps).list_tags("r") == ["a"]
    assert sleeps == [2.0, 2.0]


def test_persistent_5xx_gives_a_clear_error_after_backoff() -> None:
    sleeps: list[float] = []
    client = _client(lambda r: httpx.Response(503), sleeps, retries=3, backoff=0.1)
    with pytest.raises(RegistryError) as err:
        client.get_manifest("r", "v1")
    assert err.value.status == 503
    assert str(err.value) == "reg.example.io/r:v1: registry failed with HTTP 503 after 4 attempts"
    assert sleeps == [0.1, 0.2, 0.4]


@pytest.mark.parametrize(
    ("status", "text"),
    [(401, "unauthorized"), (403, "denied"), (404, "not found"), (429, "too many requests")],
)
def test_statuses_name_the_problem_and_the_ref(status: int, text: str) -> None:
    client = _client(lambda r: httpx.Response(status), [], retries=0)
    with pytest.raises(RegistryError) as err:
        client.get_manifest("team/app", "1.0")
    assert err.value.status == status
    assert err.value.subject == "reg.example.io/team/app:1.0"
    assert text in err.value.message


def test_digest_mismatch_is_refused() -> None:
    body = b'{"schemaVersion":2}'
    wrong = "sha256:" + "0" * 64

    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Docker-Content-Digest": wrong})

    client = _client(handler, [])
    with pytest.raises(RegistryError, match="digest mismatch"):
        client.get_manifest("r", "v1")
    with pytest.raises(RegistryError, match="digest mismatch"):
        client.get_manifest("r", wrong)
    with pytest.raises(RegistryError, match="digest mismatch"):
        client.get_blob("r", wrong)
    ok = _client(lambda r: httpx.Response(200, content=body), [])
    assert ok.get_manifest("r", sha256_digest(body))[0] == sha256_digest(body)


def test_bearer_negotiation_caches_one_token_per_scope() -> None:
    token_calls: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.host == "auth.example.io":
            token_calls.append(str(req.url.params.get_list("scope")))
            assert req.headers["authorization"].startswith("Basic ")
            return httpx.Response(200, json={"token": "T-" + req.url.params["scope"]})
        want = "Bearer T-repository:" + req.url.path.split("/")[2] + ":pull"
        if req.headers.get("authorization") != want:
            return httpx.Response(
                401,
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://auth.example.io/t",'
                    'service="reg.example.io"'
                },
            )
        return httpx.Response(200, json={"tags": ["x"]})

    client = RegistryClient(
        "reg.example.io",
        credentials=Credentials("u", "p"),
        transport=httpx.MockTransport(handler),
    )
    for _ in range(3):
        assert client.list_tags("a") == ["x"]
    assert client.list_tags("b") == ["x"]
    assert token_calls == ["['repository:a:pull']", "['repository:b:pull']"]


def test_tags_follow_link_pagination() -> None:
    pages = {
        None: (["a", "b"], '</v2/r/tags/list?last=b&n=2>; rel="next"'),
        "b": (["c"], ""),
    }

    def handler(req: httpx.Request) -> httpx.Response:
        tags, link = pages[req.url.params.get("last")]
        return httpx.Response(200, json={"tags": tags}, headers={"Link": link} if link else {})

    assert _client(handler, []).list_tags("r", page_size=2) == ["a", "b", "c"]


def test_referrers_api_when_the_registry_has_it() -> None:
    subject = "sha256:" + "a" * 64
    listing = {
        "schemaVersion": 2,
        "manifests": [
            {"digest": "sha256:" + "b" * 64, "artifactType": "application/spdx+json"},
            {"digest": "sha256:" + "c" * 64, "artifactType": "application/x-sig"},
        ],
    }

    def handler(req: httpx.Request) -> httpx.Response:
        assert req.url.path == f"/v2/r/referrers/{subject}"
        return httpx.Response(200, json=listing)

    client = _client(handler, [])
    assert len(client.referrers("r", subject)) == 2
    only = client.referrers("r", subject, artifact_type="application/x-sig")
    assert [m["digest"] for m in only] == ["sha256:" + "c" * 64]


def test_insecure_tries_https_then_plain_http_and_loopback_is_http() -> None:
    seen: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req.url.scheme)
        if req.url.scheme == "https":
            raise httpx.ConnectError("wrong version number (TLS to a plain HTTP port)")
        return httpx.Response(200)

    client = _client(handler, [], insecure=True)
    assert client.ping()
    assert seen == ["https", "http"] and client.base == "http://reg.example.io"
    strict = _client(handler, [])
    with pytest.raises(RegistryError, match=r"cannot reach https://reg\.example\.io"):
        strict.ping()
    assert RegistryClient("localhost:5000").base == "http://localhost:5000"
    assert RegistryClient("docker.io").base == "https://registry-1.docker.io"


def test_a_refused_cached_token_is_renewed_once() -> None:
    issued: list[str] = []
    valid: set[str] = set()

    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.host == "auth.example.io":
            tok = f"T{len(issued)}"
            issued.append(tok)
            valid.add(tok)
            return httpx.Response(200, json={"token": tok, "expires_in": 300})
        if req.headers.get("authorization", "").removeprefix("Bearer ") not in valid:
            challenge = 'Bearer realm="https://auth.example.io/t",service="s"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        return httpx.Response(200, json={"tags": ["x"]})

    client = RegistryClient(
        "reg.example.io", credentials=Credentials(), transport=httpx.MockTransport(handler)
    )
    assert client.list_tags("a") == ["x"]
    valid.clear()  # the registry revokes every token it saw
    assert client.list_tags("a") == ["x"]
    assert issued == ["T0", "T1"]


def test_reads_are_retried_after_network_errors_writes_are_not() -> None:
    calls: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req.method)
        if len(calls) < 3:
            raise httpx.ReadError("connection reset by peer")
        return httpx.Response(200, json={"tags": ["t"]})

    sleeps: list[float] = []
    assert _client(handler, sleeps).list_tags("r") == ["t"]
    assert len(sleeps) == 2
    calls.clear()
    with pytest.raises(RegistryError, match="cannot reach"):
        _client(handler, []).put_manifest("r", "t", b"{}", "application/json")
    assert calls == ["PUT"]


def test_download_blob_streams_once_authenticates_and_verifies(tmp_path: Path) -> None:
    data = b"layer bytes" * 1000
    digest = sha256_digest(data)
    seen: list[str] = []

    def anonymous(req: httpx.Request) -> httpx.Response:
        seen.append(req.method)
        return httpx.Response(200, content=data)

    assert _client(anonymous, []).download_blob("r", digest, tmp_path / "a") == len(data)
    assert seen == ["GET"] and (tmp_path / "a").read_bytes() == data

    seen.clear()

    def bearer(req: httpx.Request) -> httpx.Response:
        seen.append(f"{req.method} {req.url.host}")
        if req.url.host == "auth.example.io":
            return httpx.Response(200, json={"token": "T"})
        if req.headers.get("authorization") != "Bearer T":
            challenge = 'Bearer realm="https://auth.example.io/t",service="s"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        return httpx.Response(200, content=data)

    _client(bearer, []).download_blob("r", digest, tmp_path / "b")
    assert seen == [
        "GET reg.example.io",
        "HEAD reg.example.io",
        "GET auth.example.io",
        "HEAD reg.example.io",
        "GET reg.example.io",
    ]
    wrong = "sha256:" + "0" * 64
    with pytest.raises(RegistryError, match="digest mismatch"):
        _client(anonymous, []).download_blob("r", wrong, tmp_path / "c")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no partial file left
