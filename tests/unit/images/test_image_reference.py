"""Image reference parsing: Docker's registry, library/ and tag rules, oci:DIR."""

from __future__ import annotations

import pytest

from shipway.images.reference import parse, parse_repository
from shipway.model.errors import InputError

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest", "shown"),
    [
        (
            "busybox",
            "docker.io",
            "library/busybox",
            "latest",
            None,
            "docker.io/library/busybox:latest",
        ),
        ("user/app:1.2", "docker.io", "user/app", "1.2", None, "docker.io/user/app:1.2"),
        (
            "index.docker.io/x",
            "docker.io",
            "library/x",
            "latest",
            None,
            "docker.io/library/x:latest",
        ),
        ("127.0.0.1:5000/base:1", "127.0.0.1:5000", "base", "1", None, "127.0.0.1:5000/base:1"),
        ("localhost/a/b", "localhost", "a/b", "latest", None, "localhost/a/b:latest"),
        ("ghcr.io/o/r@" + DIGEST, "ghcr.io", "o/r", None, DIGEST, "ghcr.io/o/r@" + DIGEST),
        ("q.io/o/r:v1@" + DIGEST, "q.io", "o/r", "v1", DIGEST, "q.io/o/r:v1@" + DIGEST),
    ],
)
def test_parse_and_round_trip(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None, shown: str
) -> None:
    ref = parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert str(ref) == shown
    assert parse(str(ref)) == ref


def test_docker_hub_api_host_and_pinning() -> None:
    ref = parse("busybox:1")
    assert ref.api_host == "registry-1.docker.io"
    assert ref.pinned(DIGEST) == "docker.io/library/busybox@" + DIGEST
    assert ref.reference == "1"
    assert parse("a.io/b@" + DIGEST).reference == DIGEST
    assert parse("127.0.0.1:5000/x").is_loopback
    assert not parse("a.io/x").is_loopback


def test_oci_layout_references() -> None:
    ref = parse("oci:/tmp/layout:v1")
    assert (ref.oci_dir, ref.tag) == ("/tmp/layout", "v1")
    assert str(ref) == "oci:/tmp/layout:v1"
    bare = parse("oci:relative/dir")
    assert (bare.oci_dir, bare.tag) == ("relative/dir", None)


@pytest.mark.parametrize(
    "bad", ["", "UPPER/case", "a.io/x:bad tag", "https://a.io/x", "a.io/x@sha256:short", "oci:"]
)
def test_bad_references_are_input_errors(bad: str) -> None:
    with pytest.raises(InputError):
        parse(bad)


def test_repository_form_has_no_tag() -> None:
    assert parse_repository("127.0.0.1:5000/app").tag is None
    with pytest.raises(InputError):
        parse_repository("127.0.0.1:5000/app:1")


def test_media_type_of_manifests_without_the_field() -> None:
    from shipway.images import oci

    assert oci.media_type_of(b'{"manifests": []}', None) == oci.OCI_INDEX
    assert oci.media_type_of(b'{"config": {}}', "application/json") == oci.OCI_MANIFEST
    assert oci.media_type_of(b"{}", oci.DOCKER_MANIFEST + "; charset=utf-8") == oci.DOCKER_MANIFEST
    assert oci.media_type_of(b'{"mediaType": "' + oci.DOCKER_LIST.encode() + b'"}', None) == (
        oci.DOCKER_LIST
    )
