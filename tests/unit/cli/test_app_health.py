"""``shipway app health -f OBJECT.yaml [--lua SCRIPT]`` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_runner import run

CERT = """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web-tls, namespace: default}
status:
  conditions:
  - {type: Ready, status: "False", reason: Failed, message: order failed}
"""
ARGOCD_CM = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cm, namespace: argocd}
data:
  resource.customizations.health.cert-manager.io_Certificate: |
    return {status = "Suspended", message = "from argocd-cm"}
"""


def test_builtin_then_stored_argocd_cm(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cert.yaml").write_text(CERT)
    code, out, _ = run(["app", "health", "-f", str(tmp_path / "cert.yaml")], capsys)
    assert (code, out) == (0, "STATUS: Degraded\nMESSAGE: order failed\n")
    (tmp_path / "argocd-cm.yaml").write_text(ARGOCD_CM)
    assert run(["apply", "-f", str(tmp_path / "argocd-cm.yaml")], capsys)[0] == 0
    code, out, _ = run(["app", "health", "-f", str(tmp_path / "cert.yaml"), "-o", "json"], capsys)
    assert code == 0
    assert json.loads(out) == {
        "object": "cert-manager.io/Certificate/web-tls",
        "status": "Suspended",
        "message": "from argocd-cm",
    }


def test_lua_script_and_its_errors(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cert.yaml").write_text(CERT)
    (tmp_path / "ok.lua").write_text(
        'hs = {}\nhs.status = "Healthy"\nhs.message = obj.status.conditions[1].reason\nreturn hs\n'
    )
    args = ["app", "health", "-f", str(tmp_path / "cert.yaml"), "--lua"]
    code, out, _ = run([*args, str(tmp_path / "ok.lua")], capsys)
    assert (code, out) == (0, "STATUS: Healthy\nMESSAGE: Failed\n")
    bad = tmp_path / "bad.lua"
    bad.write_text("local x = 1\nreturn obj.spec.nothing.here\n")
    code, out, _ = run([*args, str(bad)], capsys)
    assert code == 0
    assert (
        out == f"STATUS: Unknown\nMESSAGE: {bad}:2: attempt to index field 'spec' (a nil value)\n"
    )


def test_bad_input_exits_2_with_the_position(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nstatus: [1\n")
    code, _, err = run(["app", "health", "-f", str(bad)], capsys)
    assert code == 2 and f"{bad}:5:1" in err.replace("\n", "")
    nokind = tmp_path / "nokind.yaml"
    nokind.write_text("apiVersion: v1\nmetadata: {name: x}\n")
    code, _, err = run(["app", "health", "-f", str(nokind)], capsys)
    assert code == 2 and "has no kind" in err and f"{nokind}:1:1" in err.replace("\n", "")
    code, _, err = run(["app", "health", "-f", str(tmp_path / "missing.yaml")], capsys)
    assert code == 2 and "missing.yaml" in err
    cert = tmp_path / "cert.yaml"
    cert.write_text(CERT)
    code, _, err = run(
        ["app", "health", "-f", str(cert), "--lua", str(tmp_path / "no.lua")], capsys
    )
    assert code == 2 and "no.lua" in err


def test_a_kind_without_a_check(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    code, out, _ = run(["app", "health", "-f", str(tmp_path / "cm.yaml")], capsys)
    assert (code, out) == (0, "STATUS: \nMESSAGE: no health check for this kind\n")
