"""The fields of Tekton's resources, checked strictly as the API server does.

Pure data, walked by ``check(value, TYPE, path)`` (``shipway.model.fields``),
which yields ``(path, message)`` for every unknown field, wrong type, missing
required field and bad enum value, all at once. A struct is a mapping of field name to type; a name
ending in ``!`` is required. Kubernetes types Tekton only passes on to the
Pod (``securityContext``, ``volumeMounts``...) are ``ANY``.
"""

from __future__ import annotations

from typing import Any

from shipway.model.fields import (
    ANY,
    BOOL,
    DURATION,
    INT,
    STR,
    STRMAP,
    Enum,
    ListOf,
    MapOf,
    Path,
    PathKey,
    check,
    dotted,
    format_duration,
    parse_duration,
)

__all__ = ["ANY", "BOOL", "DURATION", "INT", "STR", "STRMAP", "Enum", "ListOf", "MapOf", "Path",
           "PathKey", "check", "dotted", "format_duration", "parse_duration"]  # fmt: skip

PARAM_TYPE = Enum("string", "array", "object")
ENV_VAR = {"name!": STR, "value": STR, "valueFrom": ANY}
PROPERTY = {"type": PARAM_TYPE}
PARAM_SPEC = {"name!": STR, "type": PARAM_TYPE, "description": STR, "default": ANY,
              "properties": MapOf(PROPERTY), "enum": ListOf(STR)}  # fmt: skip
PARAM = {"name!": STR, "value!": ANY}
RESULT = {"name!": STR, "type": PARAM_TYPE, "description": STR, "properties": MapOf(PROPERTY),
          "value": ANY}  # fmt: skip
WORKSPACE_DECL = {"name!": STR, "description": STR, "mountPath": STR, "readOnly": BOOL,
                  "optional": BOOL}  # fmt: skip
WORKSPACE_USAGE = {"name!": STR, "mountPath": STR}
OUTPUT_CONFIG = {"path": STR}
WHEN = {"input": STR, "operator": Enum("in", "notin"), "values": ListOf(STR), "cel": STR}
REF = {"name": STR, "params": ListOf(PARAM), "resolver": STR}
_CONTAINER = {
    "image": STR, "command": ListOf(STR), "args": ListOf(STR), "workingDir": STR,
    "env": ListOf(ENV_VAR), "envFrom": ANY, "computeResources": ANY, "volumeMounts": ANY,
    "volumeDevices": ANY, "imagePullPolicy": Enum("Always", "Never", "IfNotPresent"),
    "securityContext": ANY, "script": STR,
}  # fmt: skip
STEP = {**_CONTAINER, "name": STR, "timeout": DURATION, "workspaces": ListOf(WORKSPACE_USAGE),
        "onError": Enum("continue", "stopAndFail", params=True), "stdoutConfig": OUTPUT_CONFIG,
        "stderrConfig": OUTPUT_CONFIG, "ref": REF, "params": ListOf(PARAM),
        "results": ListOf(RESULT), "when": ListOf(WHEN), "displayName": STR}  # fmt: skip
# v1beta1 Steps are the whole Kubernetes Container (deprecated fields kept, as Tekton does).
_V1BETA1_CONTAINER = {"resources": ANY, "ports": ANY, "livenessProbe": ANY, "readinessProbe": ANY,
                      "startupProbe": ANY, "lifecycle": ANY, "terminationMessagePath": STR,
                      "terminationMessagePolicy": STR, "stdin": BOOL, "stdinOnce": BOOL,
                      "tty": BOOL}  # fmt: skip
STEP_V1BETA1 = {**STEP, **_V1BETA1_CONTAINER}
STEP_TEMPLATE = {k: v for k, v in _CONTAINER.items() if k != "script"}
SIDECAR = {**_CONTAINER, "name": STR, "ports": ANY, "readinessProbe": ANY, "livenessProbe": ANY,
           "startupProbe": ANY, "lifecycle": ANY, "workspaces": ListOf(WORKSPACE_USAGE),
           "restartPolicy": STR, "stdin": BOOL, "tty": BOOL}  # fmt: skip


def task_spec(step: Any) -> dict[str, Any]:
    return {"params": ListOf(PARAM_SPEC), "results": ListOf(RESULT), "steps": ListOf(step),
            "workspaces": ListOf(WORKSPACE_DECL), "sidecars": ListOf(SIDECAR),
            "stepTemplate": STEP_TEMPLATE, "volumes": ANY, "description": STR,
            "displayName": STR}  # fmt: skip


TASK_SPEC = task_spec(STEP)
TASK_SPEC_V1BETA1 = {**task_spec(STEP_V1BETA1), "resources": ANY}
EMBEDDED_META = {"labels": STRMAP, "annotations": STRMAP}
# Tekton takes any kind but ClusterTask (and a custom task's, with its apiVersion) as a Task
TASK_REF = {"name": STR, "kind": STR, "apiVersion": STR,
            "resolver": STR, "params": ListOf(PARAM), "bundle": STR}  # fmt: skip
MATRIX = {"params": ListOf(PARAM), "include": ListOf({"name": STR, "params": ListOf(PARAM)})}
WS_BINDING_PT = {"name!": STR, "workspace": STR, "subPath": STR}


def pipeline_task(embedded: dict[str, Any]) -> dict[str, Any]:
    return {"name!": STR, "displayName": STR, "description": STR, "taskRef": TASK_REF,
            "taskSpec": {**embedded, "metadata": EMBEDDED_META, "apiVersion": STR,
                         "kind": STR, "spec": ANY},
            "when": ListOf(WHEN), "runAfter": ListOf(STR), "retries": INT, "timeout": DURATION,
            "params": ListOf(PARAM), "matrix": MATRIX, "workspaces": ListOf(WS_BINDING_PT),
            "pipelineRef": ANY, "pipelineSpec": ANY,
            "onError": Enum("continue", "stopAndFail")}  # fmt: skip


def pipeline_spec(embedded: dict[str, Any]) -> dict[str, Any]:
    return {"displayName": STR, "description": STR, "tasks": ListOf(pipeline_task(embedded)),
            "finally": ListOf(pipeline_task(embedded)), "params": ListOf(PARAM_SPEC),
            "workspaces": ListOf({"name!": STR, "description": STR, "optional": BOOL}),
            "results": ListOf({"name!": STR, "type": PARAM_TYPE, "description": STR,
                               "value!": ANY}),
            "resources": ANY}  # fmt: skip


PIPELINE_SPEC = pipeline_spec(TASK_SPEC)
PIPELINE_SPEC_V1BETA1 = pipeline_spec(TASK_SPEC_V1BETA1)
WORKSPACE_BINDING = {"name!": STR, "subPath": STR, "volumeClaimTemplate": ANY,
                     "persistentVolumeClaim": ANY, "emptyDir": ANY, "configMap": ANY,
                     "secret": ANY, "projected": ANY, "csi": ANY}  # fmt: skip
PIPELINE_REF = {"name": STR, "resolver": STR, "params": ListOf(PARAM), "apiVersion": STR,
                "bundle": STR}  # fmt: skip
TIMEOUTS = {"pipeline": DURATION, "tasks": DURATION, "finally": DURATION}
TASK_RUN_SPECS = ListOf({"pipelineTaskName!": STR, "serviceAccountName": STR, "podTemplate": ANY,
                         "stepSpecs": ANY, "sidecarSpecs": ANY, "metadata": EMBEDDED_META,
                         "computeResources": ANY, "timeout": DURATION,
                         "taskServiceAccountName": STR, "taskPodTemplate": ANY})  # fmt: skip
_RUN_STATUS = Enum("Cancelled", "CancelledRunFinally", "StoppedRunFinally", "PipelineRunPending",
                   "TaskRunCancelled")  # fmt: skip
TASK_RUN_SPEC = {"debug": ANY, "params": ListOf(PARAM), "serviceAccountName": STR,
                 "taskRef": TASK_REF, "taskSpec": TASK_SPEC, "status": _RUN_STATUS,
                 "statusMessage": STR, "retries": INT, "timeout": DURATION, "podTemplate": ANY,
                 "workspaces": ListOf(WORKSPACE_BINDING), "stepSpecs": ANY, "sidecarSpecs": ANY,
                 "computeResources": ANY}  # fmt: skip
TASK_RUN_SPEC_V1BETA1 = {**{k: v for k, v in TASK_RUN_SPEC.items() if k != "stepSpecs"},
                         "taskSpec": TASK_SPEC_V1BETA1, "stepOverrides": ANY,
                         "sidecarOverrides": ANY, "resources": ANY}  # fmt: skip
PIPELINE_RUN_SPEC = {"pipelineRef": PIPELINE_REF, "pipelineSpec": PIPELINE_SPEC,
                     "params": ListOf(PARAM), "status": _RUN_STATUS, "timeouts": TIMEOUTS,
                     "taskRunTemplate": {"serviceAccountName": STR, "podTemplate": ANY},
                     "workspaces": ListOf(WORKSPACE_BINDING), "taskRunSpecs": TASK_RUN_SPECS,
                     "managedBy": STR}  # fmt: skip
PIPELINE_RUN_SPEC_V1BETA1 = {**{k: v for k, v in PIPELINE_RUN_SPEC.items()
                                if k not in ("taskRunTemplate", "managedBy")},
                             "pipelineSpec": PIPELINE_SPEC_V1BETA1, "timeout": DURATION,
                             "serviceAccountName": STR, "podTemplate": ANY,
                             "resources": ANY}  # fmt: skip
STEP_ACTION_SPEC = {"description": STR, "image": STR, "command": ListOf(STR),
                    "args": ListOf(STR), "env": ListOf(ENV_VAR), "script": STR,
                    "workingDir": STR, "params": ListOf(PARAM_SPEC), "results": ListOf(RESULT),
                    "securityContext": ANY, "volumeMounts": ANY}  # fmt: skip
METADATA = {"name": STR, "generateName": STR, "namespace": STR, "labels": STRMAP,
            "annotations": STRMAP, "uid": STR, "resourceVersion": STR, "generation": INT,
            "creationTimestamp": ANY, "ownerReferences": ANY, "finalizers": ANY,
            "managedFields": ANY}  # fmt: skip

SPECS: dict[tuple[str, str], Any] = {
    ("v1", "Task"): TASK_SPEC, ("v1beta1", "Task"): TASK_SPEC_V1BETA1,
    ("v1beta1", "ClusterTask"): TASK_SPEC_V1BETA1,
    ("v1", "TaskRun"): TASK_RUN_SPEC, ("v1beta1", "TaskRun"): TASK_RUN_SPEC_V1BETA1,
    ("v1", "Pipeline"): PIPELINE_SPEC, ("v1beta1", "Pipeline"): PIPELINE_SPEC_V1BETA1,
    ("v1", "PipelineRun"): PIPELINE_RUN_SPEC, ("v1beta1", "PipelineRun"): PIPELINE_RUN_SPEC_V1BETA1,
    ("v1alpha1", "StepAction"): STEP_ACTION_SPEC, ("v1beta1", "StepAction"): STEP_ACTION_SPEC,
}  # fmt: skip
