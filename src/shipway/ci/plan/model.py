"""The plan model every workflow syntax parses into (GitHub Actions today).

Pure data. Values that may hold ``${{ }}`` expressions are kept as written;
the engine renders them when it runs. ``where`` fields are ``file:line:col``
for errors found while running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Step:
    index: int
    id: str  # the user's id, or "__<n>" when none
    name: str  # display name (may hold expressions)
    where: str
    if_: Any = None
    uses: str | None = None
    run: str | None = None
    shell: str | None = None
    working_directory: str | None = None
    with_: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    continue_on_error: Any = False
    timeout_minutes: Any = None
    user_id: bool = False
    timeout_where: str = ""  # file:line:col of timeout-minutes, when written (else ``where``)


@dataclass
class Strategy:
    matrix: Any = None  # dict, or an expression string (fromJSON)
    fail_fast: Any = True
    max_parallel: Any = None


@dataclass
class Job:
    id: str
    where: str
    name: str | None = None
    needs: list[str] = field(default_factory=list)
    if_: Any = None
    runs_on: Any = None
    env: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    strategy: Strategy | None = None
    timeout_minutes: Any = 360
    continue_on_error: Any = False
    concurrency: Any = None
    timeout_where: str = ""  # file:line:col of timeout-minutes, when written (else ``where``)
    container: Any = None
    services: dict[str, Any] = field(default_factory=dict)
    environment: Any = None
    uses: str | None = None  # a reusable workflow
    with_: dict[str, Any] = field(default_factory=dict)
    secrets: Any = None  # dict, or "inherit"
    permissions: Any = None  # "read-all" | "write-all" | {scope: level}; None = the workflow's


@dataclass
class Workflow:
    file: str
    name: str
    on: dict[str, Any]  # event name -> filter mapping (normalised)
    jobs: dict[str, Job]
    env: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    concurrency: Any = None
    run_name: str | None = None
    permissions: Any = None

    @property
    def call_spec(self) -> dict[str, Any] | None:
        """The ``workflow_call`` trigger's inputs/outputs/secrets, when it has one."""
        spec = self.on.get("workflow_call")
        return None if "workflow_call" not in self.on else (spec or {})
