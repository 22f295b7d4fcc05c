"""Basic (htpasswd) and bearer-token auth against the real registry; docker config logins."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from images_cloudservers import FakeECR, FakeGoogleOAuth, FakeMetadata
from images_tokenissuer import TokenIssuer

from shipway.cli.main import cli
from shipway.images import cloud
from shipway.images.build import build
from shipway.images.credentials import Credentials
from shipway.images.registry import RegistryClient
from shipway.images.store import Store
from shipway.images.transfer import copy
from shipway.model.errors import RegistryError
from shipway.runtime import services

pytestmark = pytest.mark.integration


def _bcrypt(password: str) -> str:
    with warnings.catch_warnings():  # crypt is deprecated, and the simplest bcrypt here
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))  # cost 4: fast


@pytest.fixture(scope="module")
def basic_registry(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    d = tmp_path_factory.mktemp("basic-registry")
    (d / "htpasswd").write_text(f"alice:{_bcrypt('wonder')}\nAWS:{_bcrypt('ecr-pass')}\n")
    svc = services.registry(run_dir, d / "data", htpasswd=d / "htpasswd", name="registry-basic")
    yield f"127.0.0.1:{svc.port}"
    services.stop(run_dir, "registry-basic")


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenIssuer]:
    users = {"bob": "builder", "oauth2accesstoken": "ya29.gcp-token"}
    tok = TokenIssuer(tmp_path_factory.mktemp("issuer"), users).start()
    yield tok
    tok.stop()


@pytest.fixture(scope="module")
def token_registry(
    run_dir: Path, tmp_path_factory: pytest.TempPathFactory, issuer: TokenIssuer
) -> Iterator[str]:
    d = tmp_path_factory.mktemp("token-registry")
    svc = services.registry(
        run_dir, d / "data", token_auth=issuer.registry_config(), name="registry-token"
    )
    yield f"127.0.0.1:{svc.port}"
    services.stop(run_dir, "registry-token")


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    return tmp_path / "docker" / "config.json"


def _context(tmp_path: Path, base_ref: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "hello.txt").write_text("hello\n")
    (ctx / "Dockerfile").write_text(f"FROM {base_ref}\nCOPY hello.txt /hello.txt\n")
    return ctx


def test_basic_auth_login_build_push_and_refusals(
    basic_registry: str, base_ref: str, tmp_path: Path, docker_config: Path
) -> None:
    with RegistryClient(basic_registry, credentials=Credentials()) as anon:
        with pytest.raises(RegistryError) as err:
            anon.list_tags("team/app")
        assert err.value.status == 401 and "shipway image login" in err.value.message
    with RegistryClient(basic_registry, credentials=Credentials("alice", "nope")) as bad:
        with pytest.raises(RegistryError) as err:
            bad.ping()
        assert err.value.status == 401

    runner = CliRunner()
    res = runner.invoke(
        cli, ["image", "login", basic_registry, "-u", "alice", "--password-stdin"], input="wonder\n"
    )
    assert res.exit_code == 0, res.output
    assert basic_registry in json.loads(docker_config.read_text())["auths"]

    ref = f"{basic_registry}/team/app:1"
    res_build = build(
        _context(tmp_path, base_ref), tags=[ref], push=True, store=Store(tmp_path / "store")
    )
    with RegistryClient(basic_registry) as client:
        assert client.list_tags("team/app") == ["1"]
        assert client.head_manifest("team/app", "1") == res_build.digest


def test_token_auth_negotiates_scopes_and_caches_tokens(
    token_registry: str, issuer: TokenIssuer, base_ref: str, tmp_path: Path, docker_config: Path
) -> None:
    docker_config.parent.mkdir(parents=True)
    docker_config.write_text(
        json.dumps({"auths": {token_registry: {"auth": base64.b64encode(b"bob:builder").decode()}}})
    )
    store = Store(tmp_path / "store")
    ref = f"{token_registry}/bob/app:1"
    issuer.requests.clear()
    first = build(_context(tmp_path, base_ref), tags=[ref], push=True, store=store)
    scopes = [s for r in issuer.requests for s in r.get("scopes", [])]
    assert "repository:bob/app:pull,push" in scopes
    assert len(issuer.requests) <= 3  # one token per scope, reused across requests
    # a second repository: the blobs mount from bob/app with a two-scope token
    moved = copy(ref, f"{token_registry}/bob/other:1", store=store)
    assert moved.bytes_uploaded == 0
    assert any(len(r.get("scopes", [])) == 2 for r in issuer.requests)
    with RegistryClient(token_registry) as client:
        assert client.get_config("bob/other", "1")["rootfs"]["diff_ids"]
        assert first.digest == client.head_manifest("bob/other", "1")
    with RegistryClient(token_registry, credentials=Credentials("bob", "wrong")) as bad:
        with pytest.raises(RegistryError, match="refused the credentials") as err:
            bad.list_tags("bob/app")
        assert err.value.status == 401
    with RegistryClient(token_registry, credentials=Credentials()) as anon:
        assert anon.list_tags("bob/app") == ["1"]  # the issuer grants anonymous pulls
        with pytest.raises(RegistryError) as err:
            anon.put_manifest("bob/app", "2", b"{}", "application/json")
        assert err.value.status == 401


def test_identity_token_uses_the_oauth2_refresh_grant(
    token_registry: str, issuer: TokenIssuer, base_ref: str, tmp_path: Path
) -> None:
    issuer.refresh_tokens["rt-123"] = "bob"
    with RegistryClient(token_registry, credentials=Credentials(identity_token="rt-123")) as c:
        assert isinstance(c.list_tags("bob/app"), list)
    posts = [r for r in issuer.requests if r["method"] == "POST"]
    assert posts and posts[-1]["form"]["grant_type"] == "refresh_token"


def test_ecr_get_authorization_token_then_basic_auth(basic_registry: str) -> None:
    ecr = FakeECR("AKIDEXAMPLE", "secret/key", "ecr-pass")
    env = {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret/key",
        "AWS_ENDPOINT_URL_ECR": f"http://{ecr.host}/",
    }
    try:
        with httpx.Client() as http:
            host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
            creds = cloud.credentials_for(host, http, None, env)
            assert creds == Credentials("AWS", "ecr-pass")
            sent = json.loads(ecr.requests[-1]["body"])
            assert sent == {"registryIds": ["123456789012"]}
            assert "/eu-west-1/ecr/aws4_request" in ecr.requests[-1]["headers"]["authorization"]
            with pytest.raises(RegistryError, match="HTTP 403"):
                cloud.ecr_credentials(http, "eu-west-1", {**env, "AWS_SECRET_ACCESS_KEY": "x"})
    finally:
        ecr.stop()
    with RegistryClient(basic_registry, credentials=creds) as client:
        assert isinstance(client.list_tags("team/app"), list)


def test_gcr_metadata_token_then_bearer_auth(token_registry: str) -> None:
    meta = FakeMetadata("ya29.gcp-token")
    try:
        with httpx.Client() as http:
            creds = cloud.credentials_for(
                "europe-docker.pkg.dev", http, None, {"GCE_METADATA_HOST": meta.host}
            )
            direct = cloud.credentials_for(
                "gcr.io", http, None, {"GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.gcp-token"}
            )
    finally:
        meta.stop()
    assert creds == direct == Credentials("oauth2accesstoken", "ya29.gcp-token")
    with RegistryClient(token_registry, credentials=creds) as client:
        client.upload_blob("gcp/app", "sha256:" + hashlib.sha256(b"x").hexdigest(), b"x")


def test_acr_exchanges_an_aad_token_for_a_refresh_token(
    token_registry: str, issuer: TokenIssuer
) -> None:
    issuer.aad_tokens["aad-token-1"] = "bob"
    with httpx.Client() as http:
        creds = cloud.credentials_for(
            "myreg.azurecr.io", http, issuer.realm, {"AZURE_ACCESS_TOKEN": "aad-token-1"}
        )
        assert creds.identity_token
        with pytest.raises(RegistryError, match="exchange refused"):
            cloud.credentials_for(
                "myreg.azurecr.io", http, issuer.realm, {"AZURE_ACCESS_TOKEN": "stolen"}
            )
    data = b"acr blob"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with RegistryClient(token_registry, credentials=creds) as client:
        client.upload_blob("bob/acr", digest, data)
        assert client.blob_exists("bob/acr", digest)
    exchange = [r for r in issuer.requests if r.get("path", "").startswith("/oauth2/exchange")]
    assert exchange[0]["form"]["grant_type"] == "access_token"


def test_copy_between_registries_with_credentials(
    registry,
    basic_registry: str,
    base_ref: str,
    tmp_path: Path,
    docker_config: Path,  # type: ignore[no-untyped-def]
) -> None:
    auth = base64.b64encode(b"alice:wonder").decode()
    docker_config.parent.mkdir(parents=True)
    docker_config.write_text(json.dumps({"auths": {basic_registry: {"auth": auth}}}))
    store = Store(tmp_path / "store")
    dst = f"{basic_registry}/mirror/busybox:1"
    first = copy(base_ref, dst, store=store)
    again = copy(base_ref, dst, store=store)
    assert first.bytes_uploaded > 1_000_000 and again.bytes_uploaded == 0
    with RegistryClient(basic_registry) as client, RegistryClient(registry.host) as src:
        assert client.head_manifest("mirror/busybox", "1") == src.head_manifest(
            "images-test/busybox", "1"
        )


def test_gcr_service_account_key_jwt_grant(token_registry: str, tmp_path: Path) -> None:
    key, pub = tmp_path / "key.pem", tmp_path / "pub.pem"
    subprocess.run(
        [
            "openssl",
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            str(key),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(pub)],
        check=True,
        capture_output=True,
    )
    email = "ci@project.iam.gserviceaccount.com"
    oauth = FakeGoogleOAuth(pub, email, "ya29.gcp-token")
    key_file = tmp_path / "sa.json"
    key_file.write_text(
        json.dumps(
            {
                "type": "service_account",
                "client_email": email,
                "private_key": key.read_text(),
                "token_uri": f"http://{oauth.host}/token",
            }
        )
    )
    try:
        with httpx.Client() as http:
            creds = cloud.credentials_for(
                "us-docker.pkg.dev", http, None, {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}
            )
    finally:
        oauth.stop()
    assert creds == Credentials("oauth2accesstoken", "ya29.gcp-token")
    data = b"pushed with a service account"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with RegistryClient(token_registry, credentials=creds) as client:
        client.upload_blob("gcp/sa", digest, data)
        assert client.blob_exists("gcp/sa", digest)
