"""The host executor: steps run as processes on this machine (through ``runtime.host``).

Implements ``ci.exec.base``'s session for jobs without an image: a step's
argv (or script, under the scratch directory) starts with exactly the step's
env in its ``cwd`` (a host path), in a process group of its own that a
timeout or cancel kills whole. ``which`` looks on ``Session.path`` (the host's
PATH). What needs containers on the host executor (a job image, services,
steps with an image of their own) is podman's (``ci.exec.podman``): then the
session is a podman session whose image-less steps run here, and services
without a job image publish their ports on localhost.

``run_argv`` is the primitive the other implementations start their clients
(``podman exec``/``podman run``) with. Touches only the processes it starts.
Knows no CI syntax.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from shipway.ci.exec.base import Cancel, ExecutorConfig, SessionSpec, StepOutcome, StepSpec
from shipway.runtime import host

if TYPE_CHECKING:
    from shipway.ci.exec.podman import PodmanSession


def run_argv(argv: Sequence[str], cwd: str, env: Mapping[str, str], step: StepSpec,
             cancel: Cancel) -> StepOutcome:  # fmt: skip
    """Run ``argv`` on the host with the step's timeout and output callback; ``OSError``
    when it cannot start."""
    res = host.run(argv, cwd=Path(cwd), env=env, on_line=step.on_line,
                   timeout=max(step.timeout, 0.001), cancel=cancel)  # fmt: skip
    if res.timed_out or res.cancelled:
        return StepOutcome(-1, timed_out=res.timed_out and not res.cancelled,
                           cancelled=res.cancelled)  # fmt: skip
    return StepOutcome(res.status)


@contextmanager
def session(spec: SessionSpec, config: ExecutorConfig) -> Iterator[PodmanSession]:
    """A session whose image-less steps run on the host (podman only when asked for)."""
    from shipway.ci.exec import podman  # containers on the host executor are podman's

    with podman.session(spec, config) as opened:
        yield opened
