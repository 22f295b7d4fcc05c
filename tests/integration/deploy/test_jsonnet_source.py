"""A directory source with Jsonnet, read from a real git server and synced to a target."""

from __future__ import annotations

import pytest
from deploy_helpers import application, commit

from shipway import cluster
from shipway.cluster.memory import MemoryTarget
from shipway.deploy import engine
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration

MAIN = """\
local lib = import 'cm.libsonnet';
function(replicas=1) [
  lib.configMap('settings', std.extVar('env')),
  lib.configMap('replicas', std.toString(replicas)),
]
"""
LIB = """\
{
  configMap(name, value):: {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: name }, data: { value: value },
  },
}
"""


def test_jsonnet_with_libs_ext_vars_and_tlas(deploy_env, config_repo) -> None:
    url, work = config_repo
    (work.path / "jsonnet" / "app").mkdir(parents=True)
    (work.path / "jsonnet" / "lib").mkdir(parents=True)
    (work.path / "jsonnet" / "app" / "main.jsonnet").write_text(MAIN)
    (work.path / "jsonnet" / "lib" / "cm.libsonnet").write_text(LIB)
    commit(work, "jsonnet app")
    app = application(url, "jn", "jsonnet/app")
    app.body["spec"]["destination"] = {"name": "mem-jsonnet", "namespace": "default"}
    app.body["spec"]["source"]["directory"] = {
        "jsonnet": {
            "extVars": [{"name": "env", "value": "dev"}],
            "tlas": [{"name": "replicas", "value": "3", "code": True}],
            "libs": ["jsonnet/lib"],
        }
    }
    store_resources.apply(deploy_env.store, [app])
    target = MemoryTarget("mem-jsonnet")
    cluster.register("mem-jsonnet", target)
    result = engine.reconcile(deploy_env.store, "jn", settings=deploy_env.settings)
    assert result.ok, result.message
    live = target.live("jn")
    data = {k.split("/")[-1]: v["data"]["value"] for k, v in live.items()}
    assert data == {"settings": "dev", "replicas": "3"}

    (work.path / "jsonnet" / "app" / "main.jsonnet").write_text("{ kind: 'ConfigMap', ")
    commit(work, "broken jsonnet")
    broken = engine.refresh(deploy_env.store, "jn", settings=deploy_env.settings)
    assert broken.error
    assert "jsonnet/app/main.jsonnet" in str(broken.conditions)
