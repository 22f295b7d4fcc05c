"""ConfigMaps, Secrets and ServiceAccounts in the files beside Tekton runs, on the host.

Tekton's documented examples keep the ``v1`` objects a run uses in the same file
(``kubectl apply -f`` creates them all): ``configMap``, ``secret`` and ``projected``
workspaces, ``valueFrom`` and ``envFrom`` env. The resources are written for this test
in the shape of Tekton's ``workspaces.md`` and Kubernetes' ConfigMap and Secret docs.
"""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path
from typing import Any

import pytest

from shipway.ci.tekton_run.service import RunOptions, run_files
from shipway.model.errors import InputError
from shipway.runtime.host import Cancel

pytestmark = pytest.mark.integration

B64 = base64.b64encode(b"hunter2").decode()

FILES = f"""\
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings}}
data:
  message: hello from a configmap
  level: debug
---
apiVersion: v1
kind: Secret
metadata: {{name: creds}}
type: Opaque
data:
  password: {B64}
stringData:
  user: robot
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: builder}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{generateName: builder-edit-}}
subjects: [{{kind: ServiceAccount, name: builder}}]
roleRef: {{kind: ClusterRole, name: edit, apiGroup: rbac.authorization.k8s.io}}
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {{name: uses-objects}}
spec:
  serviceAccountName: builder
  workspaces:
    - name: conf
      configMap:
        name: settings
        items: [{{key: message, path: sub/message.txt}}]
    - name: vault
      secret: {{secretName: creds}}
    - name: both
      projected:
        sources:
          - configMap: {{name: settings}}
          - secret: {{name: creds, items: [{{key: user, path: who}}]}}
  taskSpec:
    workspaces: [{{name: conf}}, {{name: vault}}, {{name: both}}]
    steps:
      - name: read
        image: busybox
        env:
          - name: PASSWORD
            valueFrom: {{secretKeyRef: {{name: creds, key: password}}}}
          - name: LEVEL
            valueFrom: {{configMapKeyRef: {{name: settings, key: level}}}}
          - name: ABSENT
            valueFrom: {{configMapKeyRef: {{name: settings, key: nope, optional: true}}}}
        envFrom:
          - prefix: CM_
            configMapRef: {{name: settings}}
        script: |
          echo "conf: $(cat $(workspaces.conf.path)/sub/message.txt)"
          cd $(workspaces.vault.path)
          echo "vault: $(cat user) $(cat password)"
          echo "both: $(ls $(workspaces.both.path) | tr '\\n' ' ')"
          echo "env: $PASSWORD $LEVEL ${{ABSENT:-unset}} $CM_message"
"""


def _run(text: str, tmp_path: Path) -> tuple[dict[str, Any], list[str]]:
    lines: list[str] = []
    opts = RunOptions(base_dir=tmp_path / "ci", pvc_dir=tmp_path / "pvc", on_line=lines.append,
                      podman_home=tmp_path / "podman-home")  # fmt: skip
    (record,) = run_files(None, [(textwrap.dedent(text), "run.yaml")], opts, Cancel())
    return record, lines


def test_configmaps_and_secrets_beside_a_run_are_its_workspaces_and_env(tmp_path: Path) -> None:
    record, lines = _run(FILES, tmp_path)
    assert record["conclusion"] == "success", "\n".join(lines)
    assert "ServiceAccount builder: read, not used (no RBAC here)" in lines
    assert "RoleBinding builder-edit-: read, not used (no RBAC here)" in lines
    assert "[step-read] conf: hello from a configmap" in lines
    assert "[step-read] vault: robot hunter2" in lines
    assert "[step-read] both: level message who " in lines
    assert "[step-read] env: hunter2 debug unset hello from a configmap" in lines


def test_what_a_run_names_and_the_files_lack_is_said() -> None:
    with pytest.raises(InputError, match=r"ConfigMap 'other' is not in the files given"):
        _run(FILES.replace("name: settings\n        items", "name: other\n        items"),
             Path("/nonexistent"))  # fmt: skip
    with pytest.raises(InputError) as exc:
        _run(FILES.replace(f"password: {B64}", "password: '%%'"), Path("/nonexistent"))
    assert "run.yaml:13:3: data.password: illegal base64 data" in str(exc.value)


def test_a_missing_env_key_fails_the_taskrun_saying_which(tmp_path: Path) -> None:
    record, _ = _run(FILES.replace("key: level}", "key: levels}"), tmp_path)
    cond = record["status"]["conditions"][0]
    assert cond["status"] == "False" and "ConfigMap 'settings' has no key 'levels'" in (
        cond["message"])  # fmt: skip
