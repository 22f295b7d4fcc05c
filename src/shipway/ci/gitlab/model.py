"""The GitLab pipeline as shipway holds it once expanded: jobs, needs, artifacts, rules.

Pure data, plus GitLab's duration syntax (``timeout: 1h 30m``, ``start_in: 5 minutes``).
Job names are GitLab's: ``build``, ``test 1/3`` (``parallel: 3``),
``deploy: [aws, prod]`` (``parallel: matrix``). ``where`` is ``file:line:col``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

DEFAULT_STAGES = ["build", "test", "deploy"]
WHENS = ("on_success", "on_failure", "always", "manual", "delayed", "never")
JOB_WHENS = ("on_success", "on_failure", "always", "manual", "delayed")


@dataclass(frozen=True)
class Need:
    job: str
    artifacts: bool = True
    optional: bool = False
    matrix: tuple[str, ...] | None = None  # ``parallel: matrix``: the instances it names

    def names(self, instances: dict[str, list[str]]) -> list[str]:
        """The job instances this need waits for (all of a parallel job, or the named ones)."""
        found = instances.get(self.job, [])
        return [n for n in found if self.matrix is None or n in self.matrix]


def matrix_names(job: str, matrix: Any) -> list[str]:
    """GitLab's names of a ``parallel: matrix``'s instances: ``job: [v1, v2]``."""
    names: list[str] = []
    for entry in matrix if isinstance(matrix, list) else []:
        if not isinstance(entry, dict):
            continue
        axes = [[text(x) for x in (v if isinstance(v, list) else [v])] for v in entry.values()]
        for values in itertools.product(*axes):
            names.append(f"{job}: [{', '.join(values)}]")
    return names


def text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


@dataclass
class Retry:
    max: int = 0
    when: list[str] = field(default_factory=lambda: ["always"])
    exit_codes: list[int] = field(default_factory=list)


@dataclass
class Job:
    name: str  # the instance's name, as GitLab shows it
    key: str  # the job's key in the file
    where: str
    stage: str
    script: list[str] = field(default_factory=list)
    before_script: list[str] = field(default_factory=list)
    after_script: list[str] = field(default_factory=list)
    image: dict[str, Any] | None = None  # {"name": ..., "entrypoint": [...]}
    services: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # job level (matrix values too)
    global_variables: dict[str, str] = field(default_factory=dict)  # inherited top level
    raw_variables: frozenset[str] = frozenset()  # ``expand: false``: $ kept as written
    rules: list[dict[str, Any]] | None = None
    only: dict[str, Any] | None = None
    except_: dict[str, Any] | None = None
    when: str = "on_success"
    start_in: str | None = None
    allow_failure: bool | None = None  # None: GitLab's default for ``when``
    allow_exit_codes: list[int] = field(default_factory=list)
    needs: list[Need] | None = None  # None: the stage order decides
    dependencies: list[str] | None = None
    artifacts: dict[str, Any] | None = None
    cache: list[dict[str, Any]] = field(default_factory=list)
    retry: Retry = field(default_factory=Retry)
    timeout: int | None = None  # seconds
    interruptible: bool = False
    resource_group: str | None = None
    environment: dict[str, Any] | None = None
    node_index: int | None = None
    node_total: int | None = None
    matrix: dict[str, str] = field(default_factory=dict)


@dataclass
class Pipeline:
    file: str
    stages: list[str]
    variables: dict[str, str]
    jobs: dict[str, Job]  # instance name -> job, in file order
    workflow: dict[str, Any] | None = None
    instances: dict[str, list[str]] = field(default_factory=dict)  # key -> instance names
    expanded: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> merged mapping


_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")


def duration(text: Any) -> int | None:
    """Seconds of a GitLab duration (``3600``, ``1h 30m``, ``2 hours 5 minutes``); None if bad."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    if not isinstance(text, str) or not text.strip():
        return None
    s = text.strip().lower().replace(",", " ").replace(" and ", " ")
    total = 0.0
    pos = 0
    for m in _PART.finditer(s):
        if s[pos : m.start()].strip():
            return None
        unit = m.group(2) or "s"
        if unit not in _UNITS:
            return None
        total += float(m.group(1)) * _UNITS[unit]
        pos = m.end()
    if s[pos:].strip() or pos == 0:
        return None
    return int(total)
