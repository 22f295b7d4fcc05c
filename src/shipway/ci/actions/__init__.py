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


def native(uses: str) -> NativeAction | None:
    """The native implementation for ``owner/name@ref`` (or ``owner/name/path@ref``)."""
    from shipway.ci.actions import checkout

    registry: dict[str, NativeAction] = {"actions/checkout": checkout.run}
    name = uses.split("@", 1)[0].lower()
    return registry.get(name)
