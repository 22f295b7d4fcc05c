"""Docker ``options:`` of a job container or service, read as ``docker create`` reads them. Pure.

GitHub passes a container's ``options`` string to ``docker create``; shipway
passes it to podman as is, and on Kubernetes translates the common ones into
the Pod's container: ``--health-*`` (a readinessProbe), ``-e/--env``,
``--entrypoint``, ``--user``, ``--workdir``, ``--cpus``, ``--memory`` and
``--privileged``. Everything else is named in ``ContainerOptions.ignored`` so
the executor can say what it did not use.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# docker's defaults (seconds) when --health-cmd is given without the others
DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3

# flags of docker create that take no value (so the next word is not theirs)
_BOOLEAN = {"--privileged", "--no-healthcheck", "--rm", "--init", "--read-only", "--tty", "-t",
            "--interactive", "-i", "--detach", "-d", "--oom-kill-disable", "--publish-all",
            "-P", "--sig-proxy", "--disable-content-trust", "--quiet", "-q"}  # fmt: skip
_SHORT = {"-e": "--env", "-u": "--user", "-w": "--workdir", "-m": "--memory"}


class OptionsError(ValueError):
    """An option value docker would refuse (the caller names the container)."""


@dataclass(frozen=True)
class HealthCheck:
    """A docker health check: ``cmd`` run by ``/bin/sh -c`` (CMD-SHELL)."""

    cmd: str
    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    start_period: float = 0.0

    def give_up_after(self) -> float:
        """Seconds after the start by which a container that never passed is unhealthy."""
        return self.start_period + self.retries * (self.interval + self.timeout) + self.interval


@dataclass
class ContainerOptions:
    """What shipway understands of an ``options`` string."""

    health: HealthCheck | None = None
    env: dict[str, str] = field(default_factory=dict)
    entrypoint: str | None = None
    user: str | None = None
    workdir: str | None = None
    cpus: str | None = None
    memory: str | None = None
    privileged: bool = False
    ignored: list[str] = field(default_factory=list)  # option names not translated


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """A Go duration (``1m30s``, ``500ms``, ``10s``) in seconds; a bare ``0`` is 0."""
    text = text.strip()
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise OptionsError(f"invalid duration {text!r} (use e.g. 10s, 1m30s, 500ms)")
    return total


_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)([bkmgt]?)b?$", re.IGNORECASE)


def kube_memory(text: str) -> str:
    """Docker's ``--memory`` (``512m``, ``1g``, bytes) as a Kubernetes quantity."""
    match = _MEMORY.match(text.strip())
    if not match:
        raise OptionsError(f"invalid memory size {text!r} (use e.g. 512m, 2g)")
    number, unit = match.group(1), match.group(2).lower()
    suffix = {"": "", "b": "", "k": "Ki", "m": "Mi", "g": "Gi", "t": "Ti"}[unit]
    return f"{number}{suffix}"


def kube_cpus(text: str) -> str:
    """Docker's ``--cpus`` (``1.5``) as a Kubernetes quantity (``1500m``)."""
    try:
        value = float(text)
    except ValueError:
        raise OptionsError(f"invalid --cpus {text!r} (a number of CPUs, e.g. 1.5)") from None
    if value <= 0:
        raise OptionsError(f"invalid --cpus {text!r}: must be positive")
    return f"{round(value * 1000)}m"


def _words(text: str) -> list[tuple[str, str | None]]:
    """(flag, value) pairs; a value is ``None`` for a flag without one."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise OptionsError(f"cannot split options: {exc}") from None
    out: list[tuple[str, str | None]] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-"):
            out.append(("", word))
            continue
        if "=" in word and word.startswith("--"):
            name, value = word.split("=", 1)
            out.append((name, value))
            continue
        if len(word) > 2 and not word.startswith("--") and word[:2] in _SHORT:
            out.append((word[:2], word[2:]))  # -eFOO=bar
            continue
        if word in _BOOLEAN or i >= len(words) or words[i].startswith("-"):
            out.append((word, None))
            continue
        out.append((word, words[i]))
        i += 1
    return out


def _flag_true(value: str | None) -> bool:
    return value is None or value.lower() in ("true", "1")


def _health(found: Mapping[str, str]) -> HealthCheck | None:
    cmd = found.get("--health-cmd")
    if not cmd or cmd.upper() == "NONE" or "--no-healthcheck" in found:
        return None
    retries = found.get("--health-retries", str(DEFAULT_RETRIES))
    if not retries.isdigit():
        raise OptionsError(f"invalid --health-retries {retries!r}: a whole number")

    def duration(name: str, default: float) -> float:
        return parse_duration(found[name]) if name in found else default

    interval = duration("--health-interval", DEFAULT_INTERVAL) or DEFAULT_INTERVAL
    timeout = duration("--health-timeout", DEFAULT_TIMEOUT) or DEFAULT_TIMEOUT
    return HealthCheck(cmd, interval, timeout, int(retries) or DEFAULT_RETRIES,
                       duration("--health-start-period", 0.0))  # fmt: skip


def parse_options(text: str, host_env: Mapping[str, str] | None = None) -> ContainerOptions:
    """Read an ``options`` string; ``-e NAME`` without a value takes ``host_env[NAME]``."""
    opts = ContainerOptions()
    found: dict[str, str] = {}
    for flag, value in _words(text):
        name = _SHORT.get(flag, flag)
        if name == "--env" and value is not None:
            key, eq, val = value.partition("=")
            if eq:
                opts.env[key] = val
            elif host_env is not None and key in host_env:
                opts.env[key] = host_env[key]
            else:
                opts.ignored.append(f"-e {key} (no value here)")
        elif name.startswith("--health-") or name == "--no-healthcheck":
            found[name] = value or ""
        elif name == "--privileged":
            opts.privileged = _flag_true(value)
        elif name in ("--entrypoint", "--user", "--workdir", "--cpus", "--memory") and value:
            setattr(opts, name[2:], value)
        elif name:
            opts.ignored.append(name)
        else:
            opts.ignored.append(str(value))
    opts.health = _health(found)
    if opts.cpus is not None:
        kube_cpus(opts.cpus)
    if opts.memory is not None:
        kube_memory(opts.memory)
    return opts


def readiness_probe(health: HealthCheck) -> dict[str, Any]:
    """A health check as a Kubernetes exec readinessProbe (periods in whole seconds, ≥ 1)."""
    return {
        "exec": {"command": ["/bin/sh", "-c", health.cmd]},
        "initialDelaySeconds": 0,
        "periodSeconds": max(1, round(health.interval)),
        "timeoutSeconds": max(1, round(health.timeout)),
        "failureThreshold": max(1, health.retries),
        "successThreshold": 1,
    }


def kube_container(
    opts: ContainerOptions, *, job: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """(fields to set on the Pod's container, option names not used).

    The job container keeps shipway's command and working directory, so its
    ``--entrypoint`` and ``--workdir`` are reported as not used.
    """
    out: dict[str, Any] = {}
    unused = list(opts.ignored)
    if opts.health is not None:
        out["readinessProbe"] = readiness_probe(opts.health)
    if opts.env:
        out["env"] = [{"name": k, "value": v} for k, v in opts.env.items()]
    for name, value in (("--entrypoint", opts.entrypoint), ("--workdir", opts.workdir)):
        if value is not None and job:
            unused.append(name)
    if opts.entrypoint is not None and not job:
        out["command"] = [opts.entrypoint]
    if opts.workdir is not None and not job:
        out["workingDir"] = opts.workdir
    security: dict[str, Any] = {}
    if opts.user is not None:
        user, _, group = opts.user.partition(":")
        if user.isdigit() and (not group or group.isdigit()):
            security["runAsUser"] = int(user)
            if group:
                security["runAsGroup"] = int(group)
        else:
            unused.append("--user (not numeric)")
    if opts.privileged:
        security["privileged"] = True
    if security:
        out["securityContext"] = security
    limits = {}
    if opts.cpus is not None:
        limits["cpu"] = kube_cpus(opts.cpus)
    if opts.memory is not None:
        limits["memory"] = kube_memory(opts.memory)
    if limits:
        out["resources"] = {"limits": limits}
    return out, unused
