"""Credentials from the docker config and credential helpers; auth challenges."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from shipway.images import credentials as C
from shipway.images.auth import parse_challenge
from shipway.model.errors import RegistryError


def _config(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return path


def test_auths_entries(tmp_path: Path) -> None:
    auth = base64.b64encode(b"alice:s3cr:et").decode()
    path = _config(
        tmp_path,
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": auth},
                "acr.example.io": {
                    "auth": base64.b64encode(b"<token>:").decode(),
                    "identitytoken": "refresh",
                },
            }
        },
    )
    assert C.lookup("docker.io", path) == C.Credentials("alice", "s3cr:et")
    assert C.lookup("acr.example.io", path).identity_token == "refresh"
    assert C.lookup("other.io", path).empty


@pytest.fixture
def helper_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real docker-credential-test program on PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    prog = bindir / "docker-credential-test"
    prog.write_text(
        "#!/bin/sh\nread server\n"
        'case "$server" in\n'
        '  reg.example.io) echo \'{"ServerURL":"reg.example.io",'
        '"Username":"bob","Secret":"pw"}\';;\n'
        '  tok.example.io) echo \'{"Username":"<token>","Secret":"rt"}\';;\n'
        "  *) echo 'credentials not found in native keychain'; exit 1;;\n"
        "esac\n"
    )
    prog.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return bindir


def test_cred_helpers_and_store(tmp_path: Path, helper_bin: Path) -> None:
    path = _config(tmp_path, {"credHelpers": {"reg.example.io": "test"}, "credsStore": "test"})
    assert C.lookup("reg.example.io", path) == C.Credentials("bob", "pw")
    assert C.lookup("tok.example.io", path) == C.Credentials(identity_token="rt")
    assert C.lookup("none.example.io", path).empty


def test_missing_helper_is_a_registry_error(tmp_path: Path) -> None:
    path = _config(tmp_path, {"credHelpers": {"reg.example.io": "absent-xyz"}})
    with pytest.raises(RegistryError, match="not installed"):
        C.lookup("reg.example.io", path)


def test_store_login_round_trips(tmp_path: Path) -> None:
    path = _config(tmp_path, {"auths": {"x.io": {"auth": "eDp5"}}, "other": 1})
    C.store_login("127.0.0.1:5000", C.Credentials("u", "p"), path)
    assert C.lookup("127.0.0.1:5000", path) == C.Credentials("u", "p")
    assert json.loads(path.read_text())["other"] == 1
    assert path.stat().st_mode & 0o777 == 0o600


def test_parse_challenge() -> None:
    ch = parse_challenge(
        'Bearer realm="https://auth.io/token",service="registry.io",scope="repository:a/b:pull,push"'
    )
    assert ch.scheme == "bearer"
    assert ch.params == {
        "realm": "https://auth.io/token",
        "service": "registry.io",
        "scope": "repository:a/b:pull,push",
    }
    assert parse_challenge('Basic realm="x"').scheme == "basic"


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "ecr"),
        ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "ecr"),
        ("gcr.io", "gcr"),
        ("eu.gcr.io", "gcr"),
        ("europe-west1-docker.pkg.dev", "gcr"),
        ("myreg.azurecr.io", "acr"),
        ("ghcr.io", None),
        ("127.0.0.1:5000", None),
    ],
)
def test_cloud_flavor(host: str, kind: str | None) -> None:
    from shipway.images.cloud import flavor

    assert flavor(host) == kind


def test_login_goes_to_the_helper_when_one_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    stored = tmp_path / "stored.json"
    prog = bindir / "docker-credential-filestore"
    prog.write_text(f'#!/bin/sh\n[ "$1" = store ] && cat > {stored}\n')
    prog.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    path = _config(tmp_path, {"credsStore": "filestore"})
    C.store_login("reg.example.io", C.Credentials("u", "p"), path)
    assert json.loads(stored.read_text()) == {
        "ServerURL": "reg.example.io",
        "Username": "u",
        "Secret": "p",
    }
    assert "auths" not in json.loads(path.read_text())


def test_aws_keys_from_the_shared_credentials_file(tmp_path: Path) -> None:
    from shipway.images.cloud import aws_keys

    creds = tmp_path / "credentials"
    creds.write_text(
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n"
        "[ci]\naws_access_key_id = AKIDCI\naws_secret_access_key = s2\n"
        "aws_session_token = tok\n"
    )
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(creds)}
    assert aws_keys(env)["AWS_ACCESS_KEY_ID"] == "AKIDDEFAULT"
    ci = aws_keys({**env, "AWS_PROFILE": "ci"})
    assert (ci["AWS_ACCESS_KEY_ID"], ci["AWS_SESSION_TOKEN"]) == ("AKIDCI", "tok")
    assert aws_keys({**env, "AWS_ACCESS_KEY_ID": "FROMENV"})["AWS_ACCESS_KEY_ID"] == "FROMENV"
    assert "AWS_ACCESS_KEY_ID" not in aws_keys({"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "x")})
