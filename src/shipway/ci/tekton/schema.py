"""The fields of Tekton's resources, checked strictly as the API server does.

Pure data and one walker: ``check(value, TYPE, path)`` yields ``(path,
message)`` for every unknown field, wrong type, missing required field and bad
enum value, all at once. A struct is a mapping of field name to type; a name
ending in ``!`` is required. Kubernetes types Tekton only passes on to the
Pod (``securityContext``, ``volumeMounts``...) are ``ANY``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

PathKey = str | int
Path = tuple[PathKey, ...]

STR, INT, BOOL, ANY, STRMAP, DURATION = "str", "int", "bool", "any", "strmap", "duration"


class Enum:
    def __init__(self, *values: str) -> None:
        self.values = values


class ListOf:
    def __init__(self, item: Any) -> None:
        self.item = item


class MapOf:
    def __init__(self, item: Any) -> None:
        self.item = item


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
        "onError": Enum("continue", "stopAndFail"), "stdoutConfig": OUTPUT_CONFIG,
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
TASK_REF = {"name": STR, "kind": Enum("Task", "ClusterTask", "StepAction"), "apiVersion": STR,
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
_DURATION = re.compile(r"^(?:0|(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Go's ``time.ParseDuration`` for non-negative values, in seconds; ValueError if bad."""
    if not _DURATION.match(text):
        raise ValueError(f"invalid duration {text!r}")
    return sum(float(n) * _UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)",
                                                              text))  # fmt: skip


def format_duration(seconds: float) -> str:
    """Go's ``Duration.String`` for whole seconds: ``1h0m0s``, ``5m0s``, ``30s``."""
    total = round(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{s}s"
    return f"{m}m{s}s" if m else f"{s}s"


def dotted(path: Path) -> str:
    """``spec.tasks[0].name``, as Tekton names a field in its errors."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out


def _type_name(v: Any) -> str:
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, bool):
        return "a boolean"
    return "null" if v is None else type(v).__name__


def check(value: Any, kind: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """Every problem of ``value`` against ``kind``, as ``(path, message)``."""
    if kind == ANY:
        return
    if isinstance(kind, dict):
        if not isinstance(value, dict):
            yield path, f"{dotted(path)} must be a mapping, got {_type_name(value)}"
            return
        fields = {k.rstrip("!"): v for k, v in kind.items()}
        for key in (k[:-1] for k in kind if k.endswith("!")):
            if key not in value:
                yield path, f"missing field(s): {dotted((*path, key))}"
        for key, v in value.items():
            if key not in fields:
                yield (*path, key), f'unknown field "{dotted((*path, key))}"'
            else:
                yield from check(v, fields[key], (*path, key))
    elif isinstance(kind, ListOf):
        if not isinstance(value, list):
            yield path, f"{dotted(path)} must be a list, got {_type_name(value)}"
            return
        for i, item in enumerate(value):
            yield from check(item, kind.item, (*path, i))
    elif isinstance(kind, MapOf):
        if not isinstance(value, dict):
            yield path, f"{dotted(path)} must be a mapping, got {_type_name(value)}"
            return
        for k, item in value.items():
            yield from check(item, kind.item, (*path, k))
    else:
        yield from _scalar(value, kind, path)


def _scalar(value: Any, kind: Any, path: Path) -> Iterator[tuple[Path, str]]:
    where = dotted(path)
    if isinstance(kind, Enum):
        if value not in kind.values:
            yield path, (f"invalid value: {value!r}: {where} (expected one of: "
                         f"{', '.join(kind.values)})")  # fmt: skip
    elif kind == STRMAP:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            yield path, f"{where} must be a mapping of strings"
    elif kind == BOOL:
        if not isinstance(value, bool):
            yield path, f"{where} must be a boolean, got {_type_name(value)}"
    elif kind == INT:
        if not isinstance(value, int) or isinstance(value, bool):
            yield path, f"{where} must be an integer, got {_type_name(value)}"
        elif value < 0:
            yield path, f"invalid value: {value}: {where} (must be >= 0)"
    elif kind in (STR, DURATION):
        if not isinstance(value, str):
            yield path, f"{where} must be a string, got {_type_name(value)}"
        elif kind == DURATION:
            try:
                parse_duration(value)
            except ValueError:
                yield path, f"invalid value: {value}: {where} (a duration such as 1h30m)"
