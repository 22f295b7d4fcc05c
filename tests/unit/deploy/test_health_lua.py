"""Argo CD Lua health customizations: argocd-cm forms, wildcards, the sandbox and its limits."""

from __future__ import annotations

from typing import Any

import pytest
from healthobjs import cond, conds, obj

from shipway.deploy import health
from shipway.deploy.health import custom, lua
from shipway.model.errors import InputError

FAST = lua.Limits(seconds=0.5, instructions=2_000_000, memory=16 * 1024 * 1024)
CERT = obj(
    "cert-manager.io/v1", "Certificate", {}, conds(cond("Ready", "False", "Pending", "wait"))
)

READY_SCRIPT = """\
hs = {}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for i, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" and c.status == "True" then
      hs.status = "Healthy"
      hs.message = c.message
      return hs
    end
  end
end
hs.status = "Progressing"
hs.message = "not ready: " .. table.getn(obj.status.conditions) .. " conditions"
return hs
"""


def run(script: str, o: dict[str, Any] = CERT, **kw: Any) -> Any:
    return lua.evaluate(script, o, name="check.lua", limits=FAST, **kw)


def test_a_script_sees_obj_and_returns_status_and_message() -> None:
    assert run(READY_SCRIPT) == ("Progressing", "not ready: 1 conditions")
    ready = obj("cert-manager.io/v1", "Certificate", {}, conds(cond("Ready", "True", message="ok")))
    assert run(READY_SCRIPT, ready) == ("Healthy", "ok")
    assert run('return {status = "Suspended"}') == ("Suspended", "")


def test_returned_values_as_argo_cd_reads_them() -> None:
    assert run("return nil") is None
    assert run("return {}") is None
    assert run('return {status = "Fine"}') == ("Unknown", "Lua returned an invalid health status")
    assert run('return "Healthy"') == ("Unknown", "expect table output from Lua script, not string")


def test_errors_carry_the_script_name_and_line() -> None:
    assert run("local s = obj.spec\nreturn s.missing.field") == (
        "Unknown",
        "check.lua:2: attempt to index field 'missing' (a nil value)",
    )
    status, message = run("hs = {}\nhs.status = \nreturn hs")
    assert status == "Unknown" and message.startswith("check.lua:3:")
    assert run('error("custom failure")') == ("Unknown", "check.lua:1: custom failure")


def test_an_endless_loop_is_stopped_with_its_line() -> None:
    status, message = run("local n = 0\nwhile true do\n  n = n + 1\nend")
    assert status == "Unknown"
    assert message.startswith("check.lua:") and "script stopped" in message


def test_pcall_cannot_swallow_the_stop() -> None:
    status, message = run("while true do\n  pcall(function() while true do end end)\nend")
    assert status == "Unknown" and "script stopped" in message


def test_a_coroutine_loop_is_stopped_too() -> None:
    script = "local c = coroutine.create(function() while true do end end)\ncoroutine.resume(c)"
    status, message = run(script, open_libs=True)
    assert status == "Unknown" and "script stopped" in message


def test_memory_is_bounded() -> None:
    status, message = run("local t = {}\nfor i = 1, 1e9 do t[i] = i end")
    assert status == "Unknown"
    assert "not enough memory (the limit is 16 MiB)" in message or "script stopped" in message
    status, message = run('local s = ("x"):rep(1e9)', open_libs=True)
    assert (status, message) == ("Unknown", "check.lua: not enough memory (the limit is 16 MiB)")


@pytest.mark.parametrize(
    ("script", "error"),
    [
        ('return io.open("/etc/passwd")', "attempt to index global 'io'"),
        ('os.execute("touch /tmp/owned")', "attempt to call field 'execute'"),
        ('return os.getenv("HOME")', "attempt to call field 'getenv'"),
        ('local io = require("io")', "module 'io' not found"),
        ('return loadstring("return 1")()', "attempt to call global 'loadstring'"),
        ('return load("return 1")', "attempt to call global 'load'"),
        ('dofile("/etc/passwd")', "attempt to call global 'dofile'"),
        ("return getfenv(0)", "attempt to call global 'getfenv'"),
        ("return debug.getinfo(1)", "attempt to index global 'debug'"),
        ('return package.loadlib("x", "y")', "attempt to index global 'package'"),
    ],
)
def test_the_sandbox_offers_no_io_os_require_or_load(script: str, error: str) -> None:
    for open_libs in (False, True):
        status, message = run(script, open_libs=open_libs)
        assert status == "Unknown" and error in message, (open_libs, message)


def test_precompiled_chunks_are_refused() -> None:
    assert run("\x1bLuaQ\x00") == ("Unknown", "check.lua: precompiled chunks are not accepted")


def test_safe_os_and_open_libs() -> None:
    script = 'local os = require("os")\nreturn {status = "Healthy", message = os.date("!%Y", 0)}'
    assert run(script) == ("Healthy", "1970")
    strings = 'return {status = "Healthy", message = string.upper(obj.kind) .. math.floor(2.7)}'
    assert run(strings)[0] == "Unknown"  # without useOpenLibs there is no string library
    assert run(strings, open_libs=True) == ("Healthy", "CERTIFICATE2")
    assert run('return {status = "Healthy", message = obj.kind:lower()}', open_libs=True) == (
        "Healthy",
        "certificate",
    )


CM_SPLIT = {
    "resource.customizations.health.cert-manager.io_Certificate": (
        'return {status = "Degraded", message = "split " .. obj.metadata.name}'
    ),
    "resource.customizations.useOpenLibs.cert-manager.io_Certificate": "true",
    "resource.customizations.health.ConfigMap": 'return {status = "Healthy", message = "core"}',
    "resource.customizations.health.*.crossplane.io_*": 'return {status = "Suspended"}',
    "resource.customizations.ignoreDifferences.apps_Deployment": "jsonPointers: [/spec/replicas]",
}
CM_COMBINED = """\
cert-manager.io/Certificate:
  health.lua: |
    return {status = "Healthy", message = "combined"}
argoproj.io/Application:
  health.lua: |
    return {status = obj.status.health.status}
  health.lua.useOpenLibs: true
"""


def test_argocd_cm_split_keys_wildcards_and_core_kinds() -> None:
    cfg = custom.from_configmap(CM_SPLIT)
    assert health.of(CERT, cfg) == ("Degraded", "split x")
    found = cfg.find("cert-manager.io", "Certificate")
    assert found is not None and found.open_libs
    assert health.of(obj("v1", "ConfigMap"), cfg) == ("Healthy", "core")
    assert health.of(obj("ec2.aws.crossplane.io/v1", "VPC"), cfg) == ("Suspended", "")
    # no script for Deployments: the built-in check applies
    dep = obj("apps/v1", "Deployment", {"paused": True})
    assert health.of(dep, cfg) == ("Suspended", "Deployment is paused")


def test_argocd_cm_combined_key_and_precedence() -> None:
    cfg = custom.from_configmap({"resource.customizations": CM_COMBINED})
    assert health.of(CERT, cfg) == ("Healthy", "combined")
    app = obj("argoproj.io/v1alpha1", "Application", {}, {"health": {"status": "Degraded"}})
    assert health.of(app, cfg) == ("Degraded", "")
    found = cfg.find("argoproj.io", "Application")
    assert found is not None and found.open_libs
    both = custom.from_configmap({"resource.customizations": CM_COMBINED, **CM_SPLIT})
    assert health.of(CERT, both) == ("Degraded", "split x")  # split keys win


def test_all_means_every_non_core_kind() -> None:
    cfg = custom.from_configmap(
        {"resource.customizations.health.all": 'return {status = "Missing"}'}
    )
    assert health.of(obj("apps/v1", "Deployment"), cfg) == ("Missing", "")
    assert health.of(obj("v1", "Pod", {}, {"phase": "Succeeded"}), cfg) == ("Healthy", "")


def test_pending_deletion_before_scripts() -> None:
    cfg = custom.from_configmap(CM_SPLIT)
    gone = obj("cert-manager.io/v1", "Certificate", deletionTimestamp="2026-01-01T00:00:00Z")
    assert health.of(gone, cfg) == ("Progressing", "Pending deletion")


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"resource.customizations": "a: [unclosed\n"}, "data.resource.customizations"),
        ({"resource.customizations": "- x\n"}, "data.resource.customizations"),
        ({"resource.customizations.useOpenLibs.apps_Deployment": "maybe"}, "useOpenLibs"),
        ({"resource.customizations.health.a_b_c": "return {}"}, "a_b_c"),
        ({"resource.customizations.colour.apps_Deployment": "x"}, "colour"),
    ],
)
def test_bad_argocd_cm_names_the_key(data: dict[str, str], where: str) -> None:
    with pytest.raises(InputError) as err:
        custom.from_configmap(data)
    assert "ConfigMap/argocd-cm" in str(err.value) and where in str(err.value)


def test_bad_yaml_in_the_combined_key_has_a_line() -> None:
    with pytest.raises(InputError) as err:
        custom.from_configmap({"resource.customizations": "a:\n  health.lua: [\n"})
    assert "data.resource.customizations:3" in str(err.value)


def test_a_broken_configmap_makes_health_unknown_with_the_reason() -> None:
    broken = custom.Customizations(error="ConfigMap/argocd-cm: bad")
    assert health.of(CERT, broken) == ("Unknown", "ConfigMap/argocd-cm: bad")
