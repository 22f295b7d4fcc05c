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


_CACHE_IN = "path key restore-keys enableCrossOsArchive fail-on-cache-miss lookup-only"
# the inputs each native action's real action.yml declares (an unknown one is a warning)
INPUTS: dict[str, tuple[str, ...]] = {
    name: tuple(words.split())
    for name, words in {
        "actions/checkout": "repository ref token ssh-key ssh-known-hosts ssh-strict ssh-user "
        "persist-credentials path clean filter sparse-checkout sparse-checkout-cone-mode "
        "fetch-depth fetch-tags show-progress lfs submodules set-safe-directory "
        "github-server-url",
        "actions/cache": _CACHE_IN + " upload-chunk-size save-always",
        "actions/cache/restore": _CACHE_IN,
        "actions/cache/save": "path key upload-chunk-size enableCrossOsArchive",
        "actions/upload-artifact": "name path if-no-files-found retention-days "
        "compression-level overwrite include-hidden-files",
        "actions/download-artifact": "name path pattern merge-multiple github-token repository "
        "run-id",
        "actions/setup-python": "python-version python-version-file cache architecture "
        "check-latest token cache-dependency-path update-environment allow-prereleases "
        "freethreaded",
        "actions/setup-node": "always-auth node-version node-version-file architecture "
        "check-latest registry-url scope token cache package-manager-cache "
        "cache-dependency-path mirror mirror-token",
        "docker/setup-buildx-action": "version driver driver-opts buildkitd-flags "
        "buildkitd-config buildkitd-config-inline install use name endpoint platforms append "
        "keep-state cache-binary cleanup",
        "docker/setup-qemu-action": "image platforms cache-image",
        "docker/login-action": "registry username password ecr logout",
        "docker/metadata-action": "context images tags flavor labels annotations sep-tags "
        "sep-labels sep-annotations bake-target github-token",
        "docker/build-push-action": "add-hosts allow annotations attests build-args "
        "build-contexts builder cache-from cache-to cgroup-parent context file labels load "
        "network no-cache no-cache-filters outputs platforms provenance pull push sbom secrets "
        "secret-envs secret-files shm-size ssh tags target ulimit github-token call",
    }.items()
}


def unexpected_inputs(given: list[str], valid: list[str] | tuple[str, ...]) -> str | None:
    """GitHub's warning for inputs an action does not declare (None when all are known)."""
    known = {v.lower() for v in valid}
    extra = [g for g in given if g.lower() not in known]
    if not extra:
        return None
    names = ", ".join(f"'{e}'" for e in extra)
    return f"Unexpected input(s) {names}, valid inputs are [{', '.join(repr(v) for v in valid)}]"


def native_inputs(uses: str) -> tuple[str, ...]:
    return INPUTS.get(uses.split("@", 1)[0].lower(), ())


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
