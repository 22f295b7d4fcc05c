"""Run one Tekton step: a host process, or a container of the step's own image.

A TaskRun's steps share its volumes (``Volumes``): ``/tekton/results``,
``/tekton/steps``, the scripts, ``/workspace`` and each bound workspace. On
podman every step is ``podman run --rm`` of its image with those mounts, on
the host network (the local registry and git server are on loopback); with
sidecars, steps and sidecars share one podman pod. On the host the step's
script or command runs as a process (its image is not used), and the
variables point at the host directories. Names are
``shipway-ci-<run>-<taskrun>-...``; ``close()`` removes what was made.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shipway.ci.tekton.task import RESULTS_DIR, STEPS_DIR, StepPlan
from shipway.model.errors import CIError
from shipway.runtime import host as hostrun
from shipway.runtime.host import Cancel
from shipway.runtime.podman_exec import Podman

Line = Callable[[str], None]


@dataclass
class Volumes:
    base: Path  # this TaskRun's directory
    workspaces: dict[str, tuple[Path, str, bool]] = field(default_factory=dict)  # host, mount, ro

    @property
    def results(self) -> Path:
        return self.base / "results"

    @property
    def steps(self) -> Path:
        return self.base / "steps"

    @property
    def scripts(self) -> Path:
        return self.base / "scripts"

    @property
    def home(self) -> Path:
        return self.base / "workspace"

    def make(self) -> None:
        for d in (self.results, self.steps, self.scripts, self.home):
            d.mkdir(parents=True, exist_ok=True)


@dataclass
class Outcome:
    code: int
    timed_out: bool = False
    cancelled: bool = False
    image: str = ""


def alias_image(ref: str, aliases: Mapping[str, str]) -> str:
    """``ref`` with a public registry named in ``aliases`` replaced (Docker Hub when the
    reference names no registry, ``library/`` for its one-word names)."""
    first = ref.split("/", 1)[0]
    explicit = "/" in ref and ("." in first or ":" in first or first == "localhost")
    full = ref if explicit else "docker.io/" + (ref if "/" in ref else "library/" + ref)
    for src, target in aliases.items():
        if full == src or full.startswith(src + "/"):
            return target + full[len(src) :]
    return ref


class StepExecutor:
    """The podman executor; ``HostExecutor`` runs the same steps as host processes."""

    host = False

    def __init__(self, name: str, podman_env: dict[str, str], aliases: Mapping[str, str]) -> None:
        self.podman = Podman(podman_env, name)
        self.name = name
        self.aliases = dict(aliases)
        self.pod = ""

    def paths(self, vols: Volumes) -> tuple[str, str, dict[str, str]]:
        """The results dir, steps dir and workspace paths the steps see."""
        return RESULTS_DIR, STEPS_DIR, {n: m for n, (_, m, _) in vols.workspaces.items()}

    def _mounts(self, vols: Volumes) -> list[str]:
        args = ["-v", f"{vols.results}:{RESULTS_DIR}", "-v", f"{vols.steps}:{STEPS_DIR}",
                "-v", f"{vols.scripts}:/tekton/scripts:ro",
                "-v", f"{vols.home}:/workspace"]  # fmt: skip
        for hostdir, mount, ro in vols.workspaces.values():
            args += ["-v", f"{hostdir}:{mount}" + (":ro" if ro else "")]
        return args

    def _argv(self, step: StepPlan, vols: Volumes, name: str, detach: bool = False) -> list[str]:
        image = alias_image(step.image, self.aliases)
        if not image:
            raise CIError(f"step {step.name!r} has no image (podman runs each step in its "
                          "image)", subject=step.container)  # fmt: skip
        self.podman.pull(image)
        args = ["podman", "run", "-d" if detach else "--rm", "--name", name]
        args += ["--pod", self.pod] if self.pod else ["--network", "host"]
        args += self._mounts(vols)
        for k, v in step.env.items():
            args += ["-e", f"{k}={v}"]
        args += ["-w", step.working_dir or "/workspace"]
        if step.script is not None:
            args += ["--entrypoint", f"/tekton/scripts/{step.container}"]
        elif step.command is not None:
            args += ["--entrypoint", json.dumps(step.command)]
        return [*args, image, *step.args]

    def open(self, vols: Volumes, sidecars: list[StepPlan], on_line: Line) -> None:
        if not sidecars:
            return
        self.pod = f"{self.name}-pod"
        self.podman._run(["pod", "create", "--network", "host", "--name", self.pod], self.pod)
        for sc in sidecars:
            write_script(vols, sc)
            name = f"{self.name}-sidecar-{sc.name}"
            self.podman.containers.append(name)
            on_line(f"[sidecar {sc.name}] starting {sc.image}")
            self.podman._run(self._argv(sc, vols, name, detach=True)[1:], name)

    def run(self, step: StepPlan, vols: Volumes, on_line: Line, timeout: float | None,
            cancel: Cancel) -> Outcome:  # fmt: skip
        write_script(vols, step)
        name = f"{self.name}-{step.container}"
        argv = self._argv(step, vols, name)
        try:
            res = hostrun.run(argv, cwd=vols.base, env=self.podman.host_env, on_line=on_line,
                           timeout=timeout, cancel=cancel)  # fmt: skip
        except OSError as exc:
            raise CIError(f"podman run failed: {exc}", subject=name) from None
        if res.timed_out or res.cancelled:
            subprocess.run(["podman", "rm", "-f", "-t", "0", name], env=self.podman.host_env,
                           capture_output=True, timeout=120)  # fmt: skip
        image = alias_image(step.image, self.aliases)
        return Outcome(res.status, res.timed_out, res.cancelled, image)

    def close(self) -> None:
        self.podman.close()
        if self.pod:
            subprocess.run(["podman", "pod", "rm", "-f", "-t", "0", self.pod],
                           env=self.podman.host_env, capture_output=True, timeout=120)  # fmt: skip


class HostExecutor:
    """Steps as host processes: a script runs by its shebang, a command as given."""

    host = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.sidecars: list[subprocess.Popen[bytes]] = []

    def paths(self, vols: Volumes) -> tuple[str, str, dict[str, str]]:
        return str(vols.results), str(vols.steps), {
            n: str(h) for n, (h, _, _) in vols.workspaces.items()}  # fmt: skip

    def _argv(self, step: StepPlan, vols: Volumes) -> list[str]:
        if step.script is not None:
            return [str(write_script(vols, step)), *step.args]
        if step.command:
            return [*step.command, *step.args]
        raise CIError(f"step {step.name!r} has neither script nor command: on the host its "
                      "image's entrypoint is not known (use --executor podman)",
                      subject=step.container)  # fmt: skip

    def _cwd(self, step: StepPlan, vols: Volumes) -> Path:
        if not step.working_dir:
            return vols.home
        path = Path(step.working_dir)
        for hostdir, mount, _ in vols.workspaces.values():
            with contextlib.suppress(ValueError):
                return hostdir / path.relative_to(mount)
        with contextlib.suppress(ValueError):
            return vols.home / path.relative_to("/workspace")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def open(self, vols: Volumes, sidecars: list[StepPlan], on_line: Line) -> None:
        for sc in sidecars:
            on_line(f"[sidecar {sc.name}] starting on the host")
            self.sidecars.append(subprocess.Popen(
                self._argv(sc, vols), cwd=self._cwd(sc, vols), env={**os.environ, **sc.env},
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))  # fmt: skip

    def run(self, step: StepPlan, vols: Volumes, on_line: Line, timeout: float | None,
            cancel: Cancel) -> Outcome:  # fmt: skip
        argv = self._argv(step, vols)
        cwd = self._cwd(step, vols)
        cwd.mkdir(parents=True, exist_ok=True)
        try:
            res = hostrun.run(argv, cwd=cwd, env={**os.environ, **step.env}, on_line=on_line,
                           timeout=timeout, cancel=cancel)  # fmt: skip
        except OSError as exc:
            on_line(f"cannot start {argv[0]}: {exc.strerror or exc}")
            return Outcome(127)
        return Outcome(res.status, res.timed_out, res.cancelled, step.image)

    def close(self) -> None:
        for proc in self.sidecars:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, 9)
            proc.wait()
        self.sidecars.clear()


Executor = StepExecutor | HostExecutor


def write_script(vols: Volumes, step: StepPlan) -> Path:
    path = vols.scripts / step.container
    if step.script is not None:
        path.write_text(step.script)
        path.chmod(0o755)
    return path
