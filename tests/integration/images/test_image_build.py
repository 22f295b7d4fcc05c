"""The native builder end to end: busybox from a host rootfs, a derived image on it,
pushed to the real registry and run by podman; re-push and mount economics."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from images_helpers import podman_run

from shipway.cli.main import cli
from shipway.images.build import build
from shipway.images.registry import RegistryClient
from shipway.images.store import Store
from shipway.model.errors import InputError

pytestmark = pytest.mark.integration


def test_busybox_from_scratch_runs_in_podman(base_ref: str, podman: dict[str, str]) -> None:
    out = podman_run(podman, "run", "--rm", base_ref, "sh", "-c", "echo hello $((6*7)); ls /bin/ls")
    assert out.split() == ["hello", "42", "/bin/ls"]


def test_derived_image_pulls_the_base_and_runs(
    registry,
    base_ref: str,
    podman: dict[str, str],
    tmp_path: Path,
    store: Store,  # type: ignore[no-untyped-def]
) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<h1>shipway</h1>\n")
    (tmp_path / "site" / "big.bin").write_bytes(os.urandom(3_000_000))  # several gzip blocks
    (tmp_path / "Containerfile").write_text(
        f"ARG BASE={base_ref}\nFROM $BASE\nARG GREETING=hi\nENV GREETING=$GREETING\n"
        "WORKDIR /srv\nCOPY site/ ./www/\nEXPOSE 8080\nUSER 1000\n"
        'ENTRYPOINT ["/bin/sh", "-c"]\nCMD ["cat www/index.html; echo $GREETING; id -u"]\n'
    )
    ref = f"{registry.host}/images-test/site:1"
    res = build(
        tmp_path,
        tags=[ref],
        build_args={"GREETING": "hello"},
        labels={"org.opencontainers.image.revision": "abc123"},
        push=True,
        store=store,
    )
    assert res.bytes_uploaded > 0
    assert podman_run(podman, "run", "--rm", ref).split() == ["<h1>shipway</h1>", "hello", "1000"]
    size = podman_run(podman, "run", "--rm", "--entrypoint", "wc", ref, "-c", "www/big.bin")
    assert size.split()[0] == "3000000"
    with RegistryClient(registry.host) as client:
        config = client.get_config("images-test/site", res.digest)
    assert config["config"]["Labels"] == {"org.opencontainers.image.revision": "abc123"}
    assert config["config"]["WorkingDir"] == "/srv"
    assert config["config"]["ExposedPorts"] == {"8080/tcp": {}}
    assert config["created"] == "1970-01-01T00:00:00Z"
    assert len(config["rootfs"]["diff_ids"]) == 3  # base, WORKDIR /srv (made), COPY

    again = build(
        tmp_path,
        tags=[ref],
        build_args={"GREETING": "hello"},
        labels={"org.opencontainers.image.revision": "abc123"},
        push=True,
        store=store,
    )
    assert (again.digest, again.bytes_uploaded, again.layers_built) == (res.digest, 0, 0)
    assert again.requests == 2  # HEAD of the manifest, HEAD of the tag: nothing to send

    other = f"{registry.host}/images-test/site-copy:1"
    moved = build(
        tmp_path,
        tags=[other],
        build_args={"GREETING": "hello"},
        labels={"org.opencontainers.image.revision": "abc123"},
        push=True,
        store=store,
    )
    assert moved.bytes_uploaded == 0  # config and both layers mounted from images-test/*
    skopeo = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{other}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(skopeo.stdout)["Digest"] == res.digest


def test_same_inputs_same_digest_in_another_store(
    base_ref: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "Dockerfile").write_text(f"FROM {base_ref}\nCOPY a.txt /\n")
    one = build(tmp_path, store=Store(tmp_path / "s1"))
    os.utime(tmp_path / "a.txt", (12345, 12345))
    two = build(tmp_path, store=Store(tmp_path / "s2"))
    assert one.digest == two.digest
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    three = build(tmp_path, store=Store(tmp_path / "s3"))
    assert three.digest != one.digest
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH"):
        build(tmp_path, store=Store(tmp_path / "s4"))


def test_cli_build_json_inspect_tags_and_copy(
    registry,
    base_ref: str,
    tmp_path: Path,
    shipway_home: Path,  # type: ignore[no-untyped-def]
) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text(f"FROM {base_ref}\nLABEL stage=cli\n")
    ref = f"{registry.host}/images-test/cli:2"
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "image",
            "build",
            str(tmp_path / "ctx"),
            "-t",
            ref,
            "--push",
            "--label",
            "org.opencontainers.image.revision=r1",
            "-o",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == {
        "digest",
        "config_digest",
        "tags",
        "pushed",
        "bytes_uploaded",
        "image_id",
        "sbom",
    }
    assert data["image_id"] == data["config_digest"]
    assert data["pushed"] == [f"{registry.host}/images-test/cli@{data['digest']}"]
    res = runner.invoke(cli, ["image", "inspect", ref, "-o", "json"])
    inspected = json.loads(res.stdout)
    assert inspected["digest"] == data["digest"]
    assert inspected["config"]["config"]["Labels"]["stage"] == "cli"
    res = runner.invoke(cli, ["image", "tags", f"{registry.host}/images-test/cli", "-o", "json"])
    assert json.loads(res.stdout) == {"apiVersion": "v1", "kind": "List", "items": ["2"]}
    layout = tmp_path / "layout"
    res = runner.invoke(cli, ["image", "copy", ref, f"oci:{layout}:v2"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        cli,
        ["image", "copy", f"oci:{layout}:v2", f"{registry.host}/images-test/cli:3", "-o", "json"],
    )
    assert json.loads(res.stdout)["digest"] == data["digest"]
    skopeo = subprocess.run(
        ["skopeo", "inspect", f"oci:{layout}:v2"], capture_output=True, text=True, check=True
    )
    assert json.loads(skopeo.stdout)["Digest"] == data["digest"]


def test_cli_errors_exit_with_the_documented_codes(
    registry,
    tmp_path: Path,
    shipway_home: Path,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    from shipway.cli.main import main

    def run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        return int(exit_info.value.code or 0), capsys.readouterr().err

    code, err = run("image", "inspect", f"{registry.host}/images-test/nope:1")
    # a tag the registry does not have is "not found" (3), not an external failure (5)
    assert code == 3 and f"{registry.host}/images-test/nope:1: not found" in err
    (tmp_path / "Dockerfile").write_text("FROM scratch\nFROBNICATE x\n")
    code, err = run("image", "build", str(tmp_path))
    assert code == 2 and "Dockerfile:2: unknown instruction FROBNICATE" in err
    code, err = run("image", "tags", "Not/Valid")
    assert code == 2 and "invalid repository component" in err
