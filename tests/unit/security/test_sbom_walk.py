"""SBOMs of OCI layouts written here: cataloguers, whiteouts, purls, layers, formats."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from security_images import (
    OPAQUE,
    OS_RELEASE_ALPINE,
    WHITEOUT,
    alpine_files,
    dist_info,
    dpkg_entry,
    package_json,
    sample_files,
    write_layout,
)
from shipway.images.store import Store
from shipway.security.sbom import cyclonedx, sbom_for, spdx
from shipway.security.sbom.catalogers import golang
from shipway.security.sbom.model import Sbom


def fake_go_binary(modinfo: str, version: str = "go1.21.5") -> bytes:
    """An ELF-looking file with a Go 1.18+ inline build info blob (16-byte aligned)."""

    def varint(n: int) -> bytes:
        out = b""
        while n >= 0x80:
            out += bytes([n & 0x7F | 0x80])
            n >>= 7
        return out + bytes([n])

    sentinel = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6"
    mod = sentinel + modinfo.encode() + b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2"
    head = golang.MAGIC + bytes([8, 2]) + b"\0" * 16
    blob = head + varint(len(version)) + version.encode() + varint(len(mod)) + mod
    return b"\x7fELF" + b"\0" * (4096 - 4) + blob + b"\0" * 64


MODINFO = (
    "path\texample.com/svc\nmod\texample.com/svc\tv1.0.0\th1:x\n"
    "dep\tgolang.org/x/text\tv0.3.7\th1:y\n"
    "dep\tgithub.com/old/mod\tv1.0.0\th1:z\n=>\tgithub.com/new/mod\tv1.1.0\th1:w\n"
)


def make(tmp_path: Path, layers: list[dict[str, bytes | None]]) -> Sbom:
    digest = write_layout(tmp_path / "img", layers, "v1")
    sbom = sbom_for(f"oci:{tmp_path / 'img'}:v1", store=Store(tmp_path / "store"))
    assert sbom.digest == digest
    return sbom


def test_every_cataloguer_with_purls_and_layers(tmp_path: Path) -> None:
    base = sample_files()
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "srv"},
            "node_modules/left-pad": {"version": "1.3.0"},
            "node_modules/lodash": {"version": "4.17.20"},
        },
    }
    app = {
        "usr/local/bin/svc": fake_go_binary(MODINFO),
        "srv/package-lock.json": json.dumps(lock).encode(),
    }
    sbom = make(tmp_path, [base, app])
    purls = {p.purl: p for p in sbom.packages}
    assert set(purls) == {
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u3?arch=amd64&distro=debian-12&upstream=glibc",
        "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl",
        "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2",
        "pkg:pypi/requests@2.31.0",
        "pkg:pypi/urllib3@1.26.5",
        "pkg:pypi/jinja2@3.1.2",
        "pkg:pypi/six@1.16.0",
        "pkg:npm/lodash@4.17.20",
        "pkg:npm/%40babel/core@7.22.0",
        "pkg:npm/minimist@1.2.5",
        "pkg:npm/left-pad@1.3.0",  # from the lock file; its lodash is installed already
        "pkg:golang/example.com/svc@v1.0.0",
        "pkg:golang/golang.org/x/text@v0.3.7",
        "pkg:golang/github.com/new/mod@v1.1.0",
        "pkg:golang/stdlib@1.21.5",
    }
    layers = sbom.layers
    assert purls["pkg:pypi/six@1.16.0"].layer == layers[0]
    assert purls["pkg:golang/stdlib@1.21.5"].layer == layers[1]
    assert purls["pkg:golang/stdlib@1.21.5"].path == "usr/local/bin/svc"
    assert purls["pkg:npm/left-pad@1.3.0"].cataloger == "npm-lock"
    assert (
        purls[
            "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2"
        ].source_version
        == "5.2.15-2"
    )
    assert purls["pkg:pypi/requests@2.31.0"].licenses == ("Apache-2.0",)
    assert (sbom.distro.id, sbom.distro.version_id) == ("debian", "12")
    assert not any(p.name == "removed" for p in sbom.packages)  # Status: deinstall


def test_whiteouts_opaque_dirs_and_rewrites(tmp_path: Path) -> None:
    site = "usr/lib/python3/dist-packages"
    lower = {
        f"{site}/a-1.0.dist-info/METADATA": dist_info("a", "1.0"),
        f"{site}/b-1.0.dist-info/METADATA": dist_info("b", "1.0"),
        "opt/app/node_modules/x/package.json": package_json("x", "1.0.0"),
        "opt/app/node_modules/y/package.json": package_json("y", "1.0.0"),
        "var/lib/dpkg/status": dpkg_entry("curl", "7.88.1-10").encode(),
        "usr/bin/tool": fake_go_binary(MODINFO),
    }
    upper = {
        f"{site}/a-1.0.dist-info": WHITEOUT,  # the whole directory goes
        "opt/app/node_modules": OPAQUE,  # nothing below survives ...
        "opt/app/node_modules/z/package.json": package_json("z", "2.0.0"),  # ... but this layer's
        "var/lib/dpkg/status": dpkg_entry("curl", "7.88.1-10+deb12u5").encode(),
        "usr/bin/tool": b"#!/bin/sh\necho replaced\n",
    }
    sbom = make(tmp_path, [lower, upper])
    got = sorted((p.name, p.version, p.layer == sbom.layers[1]) for p in sbom.packages)
    assert got == [
        ("b", "1.0", False),
        ("curl", "7.88.1-10+deb12u5", True),
        ("z", "2.0.0", True),
    ]


def test_alpine_and_distroless_status_d(tmp_path: Path) -> None:
    sbom = make(tmp_path, [alpine_files()])
    assert sorted(p.purl for p in sbom.packages) == [
        "pkg:apk/alpine/busybox@1.36.1-r2?arch=x86_64&distro=alpine-3.18.4",
        "pkg:apk/alpine/libcrypto3@3.1.2-r0?arch=x86_64&distro=alpine-3.18.4&upstream=openssl",
        "pkg:apk/alpine/musl@1.2.4-r1?arch=x86_64&distro=alpine-3.18.4",
    ]
    status_d = {
        "var/lib/dpkg/status.d/tzdata": dpkg_entry("tzdata", "2024a-0+deb12u1").encode(),
        "var/lib/dpkg/status.d/tzdata.md5sums": b"abc  usr/share/zoneinfo/UTC\n",
        "etc/os-release": OS_RELEASE_ALPINE.replace(b"alpine", b"debian").replace(b"3.18.4", b"12"),
    }
    (tmp_path / "b").mkdir()
    sbom = make(tmp_path / "b", [status_d])
    assert [p.purl for p in sbom.packages] == [
        "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=amd64&distro=debian-12"
    ]


def test_go_buildinfo_pointer_format() -> None:
    """Go before 1.18: two pointers to string headers, mapped through PT_LOAD."""
    base, size = 0x400000, 0x3000
    data = bytearray(size)
    data[0:4] = b"\x7fELF"
    data[4], data[5] = 2, 1  # 64-bit, little-endian
    struct.pack_into("<Q", data, 0x20, 64)  # phoff
    struct.pack_into("<HH", data, 0x36, 56, 1)  # phentsize, phnum
    struct.pack_into("<IIQQQQ", data, 64, 1, 5, 0, base, base, size)  # one PT_LOAD, all of it
    version, mod = (
        b"go1.16.15",
        ("\0" * 16 + "path\tx.io/old\nmod\tx.io/old\tv0.1.0\t\n" + "\0" * 16).encode(),
    )
    at = 0x1000
    data[at : at + 14] = golang.MAGIC
    data[at + 14], data[at + 15] = 8, 0
    struct.pack_into("<QQ", data, at + 16, base + 0x2000, base + 0x2010)  # -> string headers
    struct.pack_into("<QQ", data, 0x2000, base + 0x2100, len(version))
    struct.pack_into("<QQ", data, 0x2010, base + 0x2200, len(mod))
    data[0x2100 : 0x2100 + len(version)] = version
    data[0x2200 : 0x2200 + len(mod)] = mod
    assert golang.read_buildinfo(bytes(data)) is not None
    pkgs = golang.parse("bin/old", bytes(data))
    assert [(p.name, p.version) for p in pkgs] == [("x.io/old", "v0.1.0"), ("stdlib", "1.16.15")]
    assert golang.read_buildinfo(b"\x7fELF" + b"\0" * 100) is None


def test_formats(tmp_path: Path) -> None:
    sbom = make(tmp_path, [sample_files()])
    text = cyclonedx.render(sbom)
    assert cyclonedx.render(sbom) == text  # deterministic
    assert cyclonedx.digest(sbom) == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    cdx = json.loads(text)
    assert cdx["bomFormat"] == "CycloneDX" and cdx["specVersion"] == "1.6"
    assert cdx["metadata"]["timestamp"].startswith(sbom.created[:19])
    assert cdx["metadata"]["tools"]["components"][0]["name"] == "shipway"
    assert cdx["metadata"]["component"]["type"] == "container"
    libs = [c for c in cdx["components"] if c["type"] == "library"]
    assert sorted(c["purl"] for c in libs) == sorted(p.purl for p in sbom.packages)
    props = {p["name"]: p["value"] for p in libs[0]["properties"]}
    assert props["shipway:layer"] == sbom.layers[0]
    assert any(c["type"] == "operating-system" and c["name"] == "debian" for c in cdx["components"])
    spdx_text = spdx.render(sbom)
    assert spdx.render(sbom, validate=True) == spdx_text  # spdx-tools' validator finds nothing
    assert validate_full_spdx_document(parse_file(_write(tmp_path, spdx_text))) == []
    doc = json.loads(spdx_text)
    assert doc["spdxVersion"] == "SPDX-2.3"
    refs = [r["referenceLocator"] for p in doc["packages"] for r in p.get("externalRefs", [])]
    assert sorted(refs) == sorted(p.purl for p in sbom.packages)
    rels = {
        (r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"])
        for r in doc["relationships"]
    }
    assert ("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-image") in rels
    contains = [r for r in rels if r[:2] == ("SPDXRef-image", "CONTAINS")]
    assert len(contains) == len(sbom.packages)


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "doc.spdx.json"
    path.write_text(text)
    return str(path)


def test_cached_by_digest(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    write_layout(tmp_path / "img", [sample_files()], "v1")
    first = sbom_for(f"oci:{tmp_path / 'img'}:v1", store=store)
    cached = store.root / "sbom" / (first.digest.removeprefix("sha256:") + ".json")
    assert cached.is_file()
    data = json.loads(cached.read_text())
    data["packages"] = data["packages"][:1]
    cached.write_text(json.dumps(data))
    assert len(sbom_for(f"oci:{tmp_path / 'img'}:v1", store=store).packages) == 1  # from the cache
    assert len(sbom_for(f"oci:{tmp_path / 'img'}:v1", store=store, cache=False).packages) > 1


def test_unknown_tag_is_not_found(tmp_path: Path) -> None:
    from shipway.model.errors import NotFoundError

    write_layout(tmp_path / "img", [sample_files()], "v1")
    with pytest.raises(NotFoundError):
        sbom_for(f"oci:{tmp_path / 'img'}:nope", store=Store(tmp_path / "store"))


def test_oci_dir_without_a_tag_is_its_one_image(tmp_path: Path) -> None:
    from shipway.model.errors import InputError

    store = Store(tmp_path / "store")
    digest = write_layout(tmp_path / "img", [sample_files()], "v1")
    bom = sbom_for(f"oci:{tmp_path / 'img'}", store=store)  # as skopeo's and syft's oci-dir
    assert bom.digest == digest and bom.packages
    write_layout(tmp_path / "img", [{"etc/other": b"x"}], "v2")
    with pytest.raises(InputError) as err:
        sbom_for(f"oci:{tmp_path / 'img'}", store=store, cache=False)
    assert "the layout holds 2 images (v1, v2): name one as oci:DIR:TAG" in err.value.message
    assert sbom_for(f"oci:{tmp_path / 'img'}:v1", store=store).digest == digest


def test_a_file_where_a_directory_was(tmp_path: Path) -> None:
    site = "usr/lib/python3/dist-packages"
    lower = {f"{site}/a-1.0.dist-info/METADATA": dist_info("a", "1.0")}
    upper = {f"{site}/a-1.0.dist-info": b"not a directory any more"}
    assert make(tmp_path, [lower, upper]).packages == []


def test_a_corrupt_layer_is_bad_input(tmp_path: Path) -> None:
    from shipway.model.errors import InputError

    digest = write_layout(tmp_path / "img", [sample_files()], "v1")
    manifest = json.loads((tmp_path / "img" / "blobs" / "sha256" / digest[7:]).read_text())
    layer = tmp_path / "img" / "blobs" / "sha256" / manifest["layers"][0]["digest"][7:]
    layer.write_bytes(b"\x1f\x8b\x08\x00garbage, not a gzip stream")
    with pytest.raises(InputError, match="cannot read a layer") as err:
        sbom_for(f"oci:{tmp_path / 'img'}:v1", store=Store(tmp_path / "store"))
    assert err.value.subject == f"oci:{tmp_path / 'img'}:v1"
    layer.write_bytes(b"\x28\xb5\x2f\xfd" + b"\0" * 16)
    with pytest.raises(InputError, match="zstd"):
        sbom_for(f"oci:{tmp_path / 'img'}:v1", store=Store(tmp_path / "store"))
