"""The registry client against the real distribution registry (apt docker-registry)."""

from __future__ import annotations

import json
import os

import pytest

from shipway.images import oci
from shipway.images.registry import RegistryClient
from shipway.model.errors import RegistryError

pytestmark = pytest.mark.integration


def _image(client: RegistryClient, repo: str, tag: str, payload: bytes) -> str:
    config = oci.canonical_json(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []},
            "config": {"Labels": {"p": payload.decode()}},
        }
    )
    cd = oci.sha256_digest(config)
    client.upload_blob(repo, cd, config)
    manifest = oci.canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": oci.OCI_MANIFEST,
            "config": {"mediaType": oci.OCI_CONFIG, "digest": cd, "size": len(config)},
            "layers": [],
        }
    )
    return client.put_manifest(repo, tag, manifest, oci.OCI_MANIFEST)


def test_ping_blobs_chunked_upload_and_mount(registry) -> None:  # type: ignore[no-untyped-def]
    with RegistryClient(registry.host) as client:
        assert client.base.startswith("http://")
        assert client.ping()
        data = os.urandom(300_000)
        digest = oci.sha256_digest(data)
        assert not client.blob_exists("cl/one", digest)
        client.upload_blob("cl/one", digest, data, chunk_size=100_000)
        assert client.blob_exists("cl/one", digest)
        assert client.get_blob("cl/one", digest) == data
        assert client.mount_blob("cl/two", digest, "cl/one")
        assert client.blob_exists("cl/two", digest)
        other = os.urandom(1000)
        client.upload_blob("cl/one", oci.sha256_digest(other), other)
        assert client.get_blob("cl/one", oci.sha256_digest(other)) == other
        with pytest.raises(RegistryError) as err:
            client.upload_blob("cl/one", "sha256:" + "1" * 64, b"not that")
        assert err.value.status == 400


def test_manifests_tags_pagination_catalog_and_delete(registry) -> None:  # type: ignore[no-untyped-def]
    with RegistryClient(registry.host) as client:
        digests = {t: _image(client, "cl/tags", t, t.encode()) for t in ("a", "b", "c")}
        # distribution 2.8 ignores n= for tags; the catalog below does paginate (Link)
        assert sorted(client.list_tags("cl/tags", page_size=1)) == ["a", "b", "c"]
        assert client.head_manifest("cl/tags", "b") == digests["b"]
        assert client.head_manifest("cl/tags", "zz") is None
        digest, mt, body = client.get_manifest("cl/tags", "c")
        assert (digest, mt) == (digests["c"], oci.OCI_MANIFEST)
        assert client.get_config("cl/tags", "a")["config"]["Labels"] == {"p": "a"}
        before = client.requests
        repos = client.catalog(page_size=1)
        assert {"cl/tags", "cl/one", "cl/two"} <= set(repos)
        assert client.requests - before >= len(repos)  # one page per repository
        client.delete("cl/tags", digests["a"])
        assert client.head_manifest("cl/tags", digests["a"]) is None
        with pytest.raises(RegistryError) as err:
            client.get_manifest("cl/tags", "a")
        assert err.value.status == 404
        assert json.loads(body)["schemaVersion"] == 2


def test_index_resolves_to_linux_amd64(registry) -> None:  # type: ignore[no-untyped-def]
    with RegistryClient(registry.host) as client:
        amd = _image(client, "cl/multi", "amd", b"amd64")
        arm = _image(client, "cl/multi", "arm", b"arm64")
        index = oci.canonical_json(
            {
                "schemaVersion": 2,
                "mediaType": oci.OCI_INDEX,
                "manifests": [
                    {
                        "mediaType": oci.OCI_MANIFEST,
                        "digest": arm,
                        "size": 1,
                        "platform": {"os": "linux", "architecture": "arm64"},
                    },
                    {
                        "mediaType": oci.OCI_MANIFEST,
                        "digest": amd,
                        "size": 1,
                        "platform": {"os": "linux", "architecture": "amd64"},
                    },
                ],
            }
        )
        client.put_manifest("cl/multi", "v1", index, oci.OCI_INDEX)
        assert client.get_config("cl/multi", "v1")["config"]["Labels"] == {"p": "amd64"}
