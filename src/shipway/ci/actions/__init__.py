"""Actions a step can ``uses:``: native implementations and how to find the rest.

``ActionContext`` is what an action sees: its inputs, the workspace, the run,
and ways to log, set outputs, export env and add to PATH. Native actions are
registered by ``owner/name`` in ``NATIVE``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.ci.runinfo import RunInfo


class ActionFailed(Exception):
    """An action reports a failure; the message goes to the log as an error."""


@dataclass
class ActionContext:
    inputs: dict[str, str]
    workspace: Path
    temp: Path
    info: RunInfo
    env: dict[str, str]  # the process environment the step would get
    log: Callable[[str], None]
    outputs: dict[str, str] = field(default_factory=dict)
    exported: dict[str, str] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    job: Any = None  # the JobRun, for actions that run processes or need contexts

    def input(self, name: str, default: str = "") -> str:
        value = self.inputs.get(name)
        if value is None:
            for k, v in self.inputs.items():
                if k.lower() == name.lower():
                    value = v
        return default if value is None or value == "" else value


NativeAction = Callable[[ActionContext], None]


def list_input(value: str, *, commas: bool = False) -> list[str]:
    """A multi-line input as a list (docker actions also split on commas)."""
    items: list[str] = []
    for line in value.splitlines():
        parts = line.split(",") if commas else [line]
        items.extend(p.strip() for p in parts if p.strip())
    return items


def bool_input(value: str, default: bool = False) -> bool:
    if value == "":
        return default
    return value.strip().lower() == "true"


def native(uses: str) -> NativeAction | None:
    """The native implementation for ``owner/name@ref`` (or ``owner/name/path@ref``)."""
    from shipway.ci.actions import artifacts, cache, checkout, docker, setup

    registry: dict[str, NativeAction] = {
        "actions/checkout": checkout.run,
        "actions/cache": cache.run,
        "actions/cache/restore": cache.restore_only,
        "actions/cache/save": cache.save_only,
        "actions/upload-artifact": artifacts.upload,
        "actions/download-artifact": artifacts.download,
        "actions/setup-python": setup.python,
        "actions/setup-node": setup.node,
        "docker/setup-buildx-action": setup.buildx,
        "docker/setup-qemu-action": setup.qemu,
        "docker/login-action": docker.login,
        "docker/metadata-action": docker.metadata,
        "docker/build-push-action": docker.build_push,
    }
    name = uses.split("@", 1)[0].lower()
    return registry.get(name)
