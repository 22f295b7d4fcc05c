"""Run one Tekton step through the CI executor interface (``shipway.ci.exec.base``).

A TaskRun is one executor session; its steps share its volumes
(``Volumes``): ``/tekton/results``, ``/tekton/steps``, the scripts,
``/workspace`` and each bound workspace. On podman every step is a fresh
container of its own image with those mounts, on the host network (the local
registry and git server are on loopback; Tekton's steps share a Pod's
network); sidecars are the session's services. On Kubernetes the TaskRun is one Pod,
Tekton's way: each step is a container of it (``SessionSpec.containers``,
started with the Pod and kept running), a step runs as an exec of its command
or script in its container, the workspaces, ``/tekton/results`` and
``/tekton/steps`` are the Pod's volumes (host paths on the node, read back
after the steps), and sidecars are containers of the Pod on its localhost; a
step with neither command nor script runs as a Pod of its own (its image's
entrypoint is known only there). On the host the step's script
or command runs as a process (its image is not used) and the variables point
at the host directories. The session names and removes what it makes
(``shipway-ci-<run>-<taskrun>-...``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shipway.ci.exec.base import (
    Cancel,
    ExecutorConfig,
    Mount,
    Service,
    Session,
    SessionSpec,
    StepSpec,
    open_session,
)
from shipway.ci.tekton.task import RESULTS_DIR, STEPS_DIR, StepPlan
from shipway.model.errors import CIError

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
    if not ref:
        return ref
    first = ref.split("/", 1)[0]
    explicit = "/" in ref and ("." in first or ":" in first or first == "localhost")
    full = ref if explicit else "docker.io/" + (ref if "/" in ref else "library/" + ref)
    for src, target in aliases.items():
        if full == src or full.startswith(src + "/"):
            return target + full[len(src) :]
    return ref


class StepExecutor:
    """A TaskRun's steps through one ``ci.exec`` session (``host`` or ``podman``).

    ``ci.exec`` runs image steps on the session's network; Tekton's steps and
    sidecars share the Pod's network (localhost), and the local registry and git
    server listen on loopback, so the session's network is set to ``host``
    before the first step, and sidecars are started with ``--network host``
    (what the interface lacks, done here). A script runs through its shebang:
    the file under ``/tekton/scripts`` is the container's entrypoint.
    """

    def __init__(self, kind: str, run_id: str, name: str, config: ExecutorConfig,
                 aliases: Mapping[str, str],
                 host_env: Mapping[str, str] | None = None) -> None:  # fmt: skip
        self.kind = kind
        self.host = kind == "host"
        self.run_id = run_id
        self.name = name
        self.config = config
        self.aliases = dict(aliases)
        self.host_env = {**os.environ, **(host_env or {})}
        self.stack = contextlib.ExitStack()
        self.session: Session | None = None

    def on_host(self, step: StepPlan) -> bool:
        """Whether ``step`` runs as a host process (the host executor; an image-less step)."""
        return self.host or not step.image

    def paths(self, vols: Volumes, on_host: bool) -> tuple[str, str, dict[str, str]]:
        """The results dir, steps dir and workspace paths a step sees (host paths for a
        step that runs on the host)."""
        if on_host:
            return str(vols.results), str(vols.steps), {
                n: str(h) for n, (h, _, _) in vols.workspaces.items()}  # fmt: skip
        return RESULTS_DIR, STEPS_DIR, {n: m for n, (_, m, _) in vols.workspaces.items()}

    def _mounts(self, vols: Volumes) -> list[Mount]:
        mounts = [Mount(str(vols.results), RESULTS_DIR), Mount(str(vols.steps), STEPS_DIR),
                  Mount(str(vols.scripts), "/tekton/scripts", True),
                  Mount(str(vols.home), "/workspace")]  # fmt: skip
        mounts += [Mount(str(h), m, ro) for h, m, ro in vols.workspaces.values()]
        return mounts

    def _image(self, step: StepPlan) -> str:
        image = alias_image(step.image, self.aliases)
        if not image:
            raise CIError(f"step {step.name!r} has no image (podman runs each step in its "
                          "image; --executor host runs it on the host)",
                          subject=step.container)  # fmt: skip
        return image

    def open(self, vols: Volumes, sidecars: list[StepPlan], on_line: Line,
             steps: Sequence[StepPlan] = ()) -> None:  # fmt: skip
        """Start the TaskRun's session: its sidecars, and on Kubernetes every step's container
        (``steps``: the plans as known before the first step runs)."""
        kube = self.kind == "kubernetes"
        services = []
        for sc in sidecars:
            write_script(vols, sc)
            entry = (f"/tekton/scripts/{sc.container}",) if sc.script is not None else (
                tuple(sc.command) if sc.command else None)  # fmt: skip
            services.append(Service(
                name=f"sidecar-{sc.name}", image=self._image(sc), env=sc.env,
                options="" if kube else "--network host", entrypoint=entry,
                command=tuple(sc.args),
                volumes=tuple(f"{m.source}:{m.target}:{'ro' if m.read_only else 'rw'}"
                              for m in self._mounts(vols))))  # fmt: skip
        containers = {st.container: self._image(st) for st in steps if st.image} if kube else {}
        spec = SessionSpec(run_id=self.run_id, job=self.name, mounts=self._mounts(vols),
                           scratch=str(vols.scripts), services=services, log=on_line,
                           containers=containers, workdir="/workspace")  # fmt: skip
        kind = "podman" if sidecars and self.host else self.kind
        if kube and not containers and not services:
            kind = "host"  # only image-less steps: they run on the host, as on podman
        self.session = self.stack.enter_context(open_session(kind, spec, self.config))
        if self.kind == "podman":
            self.session.network = "host"
        _pull_once(self.session, self.config)

    def run(self, step: StepPlan, vols: Volumes, on_line: Line, timeout: float | None,
            cancel: Cancel) -> Outcome:  # fmt: skip
        assert self.session is not None
        script = write_script(vols, step) if step.script is not None else None
        limit = 10 * 365 * 86400.0 if timeout is None else timeout
        if self.on_host(step):  # an image-less step runs on the host on podman too
            argv = self._host_argv(step, script)
            cwd = self._cwd(step, vols)
            spec = StepSpec(argv=argv, env={**self.host_env, **step.env}, cwd=str(cwd),
                            timeout=limit, on_line=on_line, cancel=cancel,
                            on_host=True)  # fmt: skip
        else:
            image = self._image(step)
            entry: str | None = None
            argv = list(step.args)
            if script is not None:
                entry = f"/tekton/scripts/{step.container}"
            elif step.command:
                entry, argv = step.command[0], [*step.command[1:], *step.args]
            spec = StepSpec(argv=argv, env=step.env, cwd=step.working_dir or "/workspace",
                            timeout=limit, on_line=on_line, cancel=cancel, image=image,
                            entrypoint=entry, container=step.container)  # fmt: skip
        try:
            out = self.session.run(spec)
        except OSError as exc:
            on_line(f"cannot start {spec.argv[0] if spec.argv else step.image}: "
                    f"{exc.strerror or exc}")  # fmt: skip
            return Outcome(127, image=step.image)
        code = out.exit_code if out.exit_code >= 0 else 1
        return Outcome(code, out.timed_out, out.cancelled, alias_image(step.image, self.aliases))

    def _host_argv(self, step: StepPlan, script: Path | None) -> list[str]:
        if script is not None:
            return [str(script), *step.args]
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
        return path

    def close(self) -> None:
        self.stack.close()
        self.session = None


Executor = StepExecutor


_PRESENT: set[tuple[str, str]] = set()  # (podman store, image) found present in this process
_PRESENT_LOCK = threading.Lock()


def _pull_once(session: Session, config: ExecutorConfig) -> None:
    """The podman session checks an image is present before every step (``podman image
    exists``, ~0.15 s); Tekton's steps name theirs again and again, so a present image is
    remembered for the process (the interface has no such cache; done here)."""
    podman = getattr(session, "podman", None)
    pull = getattr(podman, "pull", None)
    if pull is None:
        return
    store = str(config.podman_env.get("CONTAINERS_STORAGE_CONF", ""))

    def once(image: str, credentials: Mapping[str, str] | None = None) -> None:
        key = (store, image)
        if credentials or key not in _PRESENT:
            pull(image, credentials)
            with _PRESENT_LOCK:
                _PRESENT.add(key)

    setattr(podman, "pull", once)  # noqa: B010


def write_script(vols: Volumes, step: StepPlan) -> Path:
    path = vols.scripts / step.container
    if step.script is not None:
        path.write_text(step.script)
        path.chmod(0o755)
    return path
