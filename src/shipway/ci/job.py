"""Run one job instance (one matrix combination) step by step, on the host or in a sandbox.

Owns the job's workspace and temp directory under the run directory, the
runner files (``GITHUB_OUTPUT``, ``GITHUB_ENV``, ``GITHUB_PATH``,
``GITHUB_STEP_SUMMARY``, ``GITHUB_STATE``), workflow commands in step output,
and the step/job results (outcome vs conclusion, continue-on-error, timeouts).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.ci import shells
from shipway.ci.commands import FileFormatError, parse_command, parse_env_file
from shipway.ci.container import session
from shipway.ci.exec.base import Session, SessionSpec, StepSpec, open_session
from shipway.ci.expr.evaluate import Scope
from shipway.ci.expr.lexer import ExprError
from shipway.ci.expr.template import condition, render_deep, render_str
from shipway.ci.expr.values import from_json_value, to_num, to_str, truthy
from shipway.ci.plan.model import Job, Step
from shipway.ci.runinfo import default_env, github_context, runner_context
from shipway.ci.runstate import RunState
from shipway.ci.uses import run_pre_steps, run_uses
from shipway.model.errors import InputError, ShipwayError
from shipway.runtime.host import Cancel
from shipway.store.db import Store


@dataclass
class StepResult:
    id: str
    name: str
    outcome: str
    conclusion: str
    outputs: dict[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "outcome": self.outcome,
                "conclusion": self.conclusion, "outputs": self.outputs}  # fmt: skip


AFTER_CANCEL_SECONDS = 300.0  # how long steps that run after a cancel may take


class StepFailed(Exception):
    pass


class JobRun:
    """One job instance: contexts, environment, files, steps."""

    def __init__(
        self,
        rs: RunState,
        job: Job,
        key: str,
        display: str,
        matrix: dict[str, Any],
        strategy: dict[str, Any],
        needs: dict[str, Any],
        cancel: Cancel | None = None,
    ) -> None:
        self.rs, self.job, self.display, self.key = rs, job, display, key
        self.box: Session | None = None  # the job's session (ci.exec) while it runs
        self.cancel = cancel or rs.cancel
        self.step_cancel = self.cancel  # a step that starts after a cancel gets its own
        base = rs.info.base_dir / "jobs" / key
        self.workspace = base / "workspace"
        self.temp = base / "temp"
        self.files = base / "files"
        # the job's own HOME, tool cache and toolchains (virtualenvs, npm prefix): on the host
        # a job writes nothing of the machine's, and parallel jobs share nothing writable
        self.home, self.tools = base / "home", base / "tools"
        tool_cache = base / "tool-cache"
        for d in (self.workspace, self.temp, self.files, self.home, self.tools, tool_cache):
            d.mkdir(parents=True, exist_ok=True)
        self.runner = runner_context(self.temp, tool_cache)
        self.github = github_context(rs.info, rs.workflow.name, job.id, self.workspace)
        self.github["token"] = rs.secrets_ctx.get("GITHUB_TOKEN", "")
        self.permissions: dict[str, str] | None = None  # the token's scopes (set by the engine)
        self.store: Store | None = None  # where issued tokens are recorded (set by the engine)
        self.matrix, self.strategy, self.needs = matrix, strategy, needs
        self.steps_ctx: dict[str, Any] = {}
        self.results: list[StepResult] = []
        self.exported: dict[str, str] = {}  # from GITHUB_ENV
        self.paths: list[str] = []  # from GITHUB_PATH, newest first
        self.state: dict[str, str] = {}
        self.summary: list[str] = []
        self.failed = False
        self.env_ctx: dict[str, str] = {}
        self.deadline = time.monotonic() + 60 * 360.0  # set from timeout-minutes in execute()
        self.step_name = ""
        self.pending_outputs: dict[str, str] = {}
        self.inputs_ctx: dict[str, Any] = rs.inputs
        self.action_path = ""
        self.depth = 0  # composite nesting: runner files are per depth
        self.post: list[tuple[str, Callable[[], str]]] = []

    # -- contexts ---------------------------------------------------------------
    def scope(self, env: dict[str, str] | None = None) -> Scope:
        ctx = {
            "github": self.github,
            "env": self.env_ctx if env is None else env,
            "vars": self.rs.info.vars,
            "secrets": self.rs.secrets_ctx,
            "inputs": self.inputs_ctx,
            "matrix": self.matrix,
            "strategy": self.strategy,
            "needs": self.needs,
            "runner": self.runner,
            "job": self._job_ctx(),
            "steps": self.steps_ctx,
            "jobs": {},
        }
        return Scope(ctx, status=self.status_fn, hash_files=self.rs.hash_files(self.workspace))

    def _job_ctx(self) -> dict[str, Any]:
        box = self.box
        boxed = box is not None and (box.cid is not None or bool(box.services))
        container = {"id": box.cid or "", "network": box.network or ""} if box and boxed else {}
        services = {name: {"id": s.id, "network": s.network, "ports": dict(s.ports)}
                    for name, s in (box.services if box else {}).items()}  # fmt: skip
        return {"status": self.status(), "container": container, "services": services}

    def status(self) -> str:
        if self.cancel.event.is_set():
            return "cancelled"
        return "failure" if self.failed else "success"

    def status_fn(self, name: str) -> bool:
        cancelled = self.cancel.event.is_set()
        if name == "always":
            return True
        if name == "cancelled":
            return cancelled
        if name == "failure":
            return self.failed and not cancelled
        return not self.failed and not cancelled

    def _num(self, value: Any, default: float, where: str = "") -> float:
        """A number field (``timeout-minutes``); one that is not a number is an ``InputError``."""
        if value is None:
            return default
        if isinstance(value, str):
            value = render_str(value, self.scope()) if "${{" in value else value
        n = to_num(from_json_value(value) if not isinstance(value, str) else value)
        if n != n or n < 0:
            raise InputError(f"timeout-minutes: {to_str(value)!r} is not a number of minutes",
                             subject=where or self.job.where)  # fmt: skip
        return n

    # -- logging ----------------------------------------------------------------
    def log(self, line: str) -> None:
        self.rs.emit(self.display, self.step_name, line)

    # -- the job ----------------------------------------------------------------
    def execute(self) -> str:
        """Run the steps; return the job result before job-level continue-on-error."""
        self._write_event()
        scope = self.scope({})
        self.env_ctx = _strs(render_deep(self.rs.workflow.env, scope))
        self.env_ctx.update(_strs(render_deep(self.job.env, self.scope(self.env_ctx))))
        try:
            minutes = self._num(
                self.job.timeout_minutes, 360, self.job.timeout_where or self.job.where
            )
            self.deadline = time.monotonic() + 60 * minutes
            with session(self) as box:
                self.box = box
                run_pre_steps(self)
                for step in self.job.steps:
                    self.run_step(step)
                self._run_post()
        except ShipwayError as exc:
            self.log(f"::error::{exc}")
            self.failed = True
        finally:
            self.box = None
            # step scripts and runner files hold rendered secrets: gone with the job, as
            # GitHub's runner empties its temp directory
            for directory in (self.files, self.temp):
                shutil.rmtree(directory, ignore_errors=True)
        if self.cancel.event.is_set():
            return "cancelled"
        return "failure" if self.failed else "success"

    def _run_post(self) -> None:
        """Post steps of actions, last registered first (``post-if`` defaults to always())."""
        for name, fn in reversed(self.post):
            self.step_name = name
            result = StepResult(f"post-{len(self.results)}", name, "success", "success")
            try:
                result.outcome = result.conclusion = fn()
            except ShipwayError as exc:
                self.log(f"::error::{exc}")
                result.outcome = result.conclusion = "failure"
            if result.conclusion == "failure":
                self.failed = True
            self.results.append(result)
        self.step_name = ""

    @contextmanager
    def frame(
        self, inputs: dict[str, Any], action_path: Path, env: dict[str, str]
    ) -> Iterator[None]:
        """Run a composite action's steps with their own steps/inputs contexts."""
        saved = (self.steps_ctx, self.inputs_ctx, self.results, self.failed, self.action_path,
                 self.env_ctx, self.step_name)  # fmt: skip
        self.steps_ctx, self.inputs_ctx, self.results, self.failed = {}, inputs, [], False
        self.action_path, self.env_ctx = str(action_path), dict(env)
        self.github["action_path"] = self.action_path
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            (self.steps_ctx, self.inputs_ctx, self.results, self.failed, self.action_path,
             self.env_ctx, self.step_name) = saved  # fmt: skip
            self.env_ctx.update(self.exported)
            self.github["action_path"] = self.action_path

    def outputs(self) -> dict[str, str]:
        out: dict[str, str] = {}
        scope = self.scope()
        for name, expr in self.job.outputs.items():
            try:
                value = render_str(str(expr), scope)
            except ExprError as exc:
                self.log(f"::warning::job output {name!r}: {exc.message}")
                continue
            if self.rs.masker.mask(value) != value:
                self.log(f"Skip output {name!r} since it may contain secret.")
                continue
            out[name] = value
        return out

    def _write_event(self) -> None:
        path = Path(self.github["event_path"])
        if not path.exists():
            path.write_text(json.dumps(self.rs.info.payload))

    # -- steps ------------------------------------------------------------------
    def condition(self, cond: Any) -> bool:
        return condition(cond, self.scope())

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.001)

    def run_step(self, step: Step, prefix: str = "") -> None:
        self.step_name = prefix + step.name
        result = StepResult(step.id, step.name, "skipped", "skipped")
        try:
            scope = self.scope()
            if "${{" in step.name:
                result.name = render_str(step.name, scope)
                self.step_name = prefix + result.name
            if self.cancel.event.is_set() and step.if_ is None:
                ok = False
            else:
                ok = time.monotonic() < self.deadline and condition(step.if_, scope)
            if ok:
                # an always()/cancelled() step after a cancel still runs, as on GitHub
                after_cancel = self.cancel.event.is_set()
                self.step_cancel = Cancel() if after_cancel else self.cancel
                outcome = self._execute(step, result)
                result.outcome = outcome
                coe = step.continue_on_error
                if isinstance(coe, str):
                    coe = truthy(render_deep(coe, self.scope()))
                result.conclusion = "success" if outcome == "failure" and coe else outcome
        except ExprError as exc:
            self.log(f"::error::{step.where}: {exc.message}")
            result.outcome = result.conclusion = "failure"
        except ShipwayError as exc:
            self.log(f"::error::{exc}")
            result.outcome = result.conclusion = "failure"
        self.step_cancel = self.cancel
        if result.conclusion == "failure":
            self.failed = True
        self.results.append(result)
        self.steps_ctx[step.id] = {"outputs": result.outputs, "outcome": result.outcome,
                                   "conclusion": result.conclusion}  # fmt: skip
        self.step_name = ""

    def _execute(self, step: Step, result: StepResult) -> str:
        self.pending_outputs = result.outputs
        files = self.fresh_files()
        step_env = _strs(render_deep(step.env, self.scope()))
        env_ctx = {**self.env_ctx, **step_env}
        proc_env = self.process_env(env_ctx, files)
        timeout = self.deadline - time.monotonic()
        if step.timeout_minutes is not None:
            timeout = min(
                timeout, 60 * self._num(step.timeout_minutes, 0, step.timeout_where or step.where)
            )
        if step.run is not None:
            status = self._run_script(step, env_ctx, proc_env, timeout)
        else:
            status = run_uses(self, step, env_ctx, proc_env, result.outputs, timeout)
        self.read_files(files, result.outputs)
        return status

    def fresh_files(self) -> dict[str, Path]:
        names = {"GITHUB_OUTPUT": "output", "GITHUB_ENV": "env", "GITHUB_PATH": "path",
                 "GITHUB_STEP_SUMMARY": "summary", "GITHUB_STATE": "state"}  # fmt: skip
        files = {}
        for var, stem in names.items():
            p = self.files / f"{stem}{self.depth}"  # reused: creating files is the slow part
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644))
            files[var] = p
        return files

    def process_env(self, env_ctx: dict[str, str], files: dict[str, Path]) -> dict[str, str]:
        inside = self.box is not None and self.box.cid is not None
        if self.box and inside:
            env = {"PATH": self.box.path, "HOME": "/root"}
        else:
            env = dict(self.rs.base_env)
            npm_prefix = str(self.tools / "npm-global")
            env.update({"HOME": str(self.home), "TMPDIR": str(self.temp), "TMP": str(self.temp),
                        "TEMP": str(self.temp), "npm_config_prefix": npm_prefix,
                        "PIP_REQUIRE_VIRTUALENV": "true",
                        "PATH": os.pathsep.join([npm_prefix + "/bin",
                                                 env.get("PATH", os.defpath)])})  # fmt: skip
        env.update(default_env(self.github, self.runner))
        env.update({k: str(v) for k, v in files.items()})
        env.update(self.exported)
        env.update(env_ctx)
        if self.action_path:
            env["GITHUB_ACTION_PATH"] = self.action_path
        if self.paths:
            env["PATH"] = os.pathsep.join([*self.paths, env.get("PATH", os.defpath)])
        return env

    def _run_script(
        self, step: Step, env_ctx: dict[str, str], proc_env: dict[str, str], timeout: float
    ) -> str:
        scope = self.scope(env_ctx)
        script = render_str(step.run or "", scope)
        run_defaults = {
            **(self.rs.workflow.defaults.get("run") or {}),
            **(self.job.defaults.get("run") or {}),
        }
        shell = step.shell or run_defaults.get("shell")
        if shell is not None:
            shell = render_str(str(shell), scope)
        try:
            argv_t, ext = shells.resolve(shell, proc_env.get("PATH"), self._which())
        except InputError as exc:
            raise InputError(exc.message, subject=step.where) from None
        wd = step.working_directory or run_defaults.get("working-directory")
        cwd = self.workspace
        if wd:
            cwd = self.workspace / render_str(str(wd), scope)
        script_path = self.files / f"script{self.depth}{ext}"
        script_path.write_text(script if ext != ".sh" or script.endswith("\n") else script + "\n")
        argv = [a.replace("{0}", str(script_path)) for a in argv_t]
        if not cwd.is_dir():
            self.log(f"::error::working-directory {cwd} does not exist")
            return "failure"
        return self.run_process(argv, cwd, proc_env, timeout)

    def _which(self) -> Callable[[str], bool] | None:
        box = self.box
        return box.which if box is not None and box.cid is not None else None

    def run_process(
        self,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        timeout: float,
        host_only: bool = False,
        image: str | None = None,
        entrypoint: str | None = None,
    ) -> str:
        """Run one process of a step in the job's session (``ci.exec``): in the job container
        when there is one (unless ``host_only``), or in a container of ``image``; its output
        goes through workflow-command handling."""
        unsecure = env.get("ACTIONS_ALLOW_UNSECURE_COMMANDS", "").strip().lower() == "true"
        parser = OutputParser(self, unsecure)
        cancel = self.step_cancel
        if cancel is not self.cancel:  # cleanup after a cancel: bounded, as GitHub bounds it
            timeout = min(timeout, AFTER_CANCEL_SECONDS)
        step = StepSpec(argv=argv, env=env, cwd=str(cwd), timeout=max(timeout, 0.001),
                        on_line=parser.line, cancel=cancel, image=image, entrypoint=entrypoint,
                        on_host=host_only)  # fmt: skip
        try:
            if self.box is not None:
                res = self.box.run(step)
            else:  # outside a job's session: a host process
                spec = SessionSpec(run_id=self.rs.info.run_id, job=self.key, log=self.log)
                with open_session("host", spec) as box:
                    res = box.run(step)
        except OSError as exc:
            self.log(f"::error::cannot start {argv[0]}: {exc.strerror or exc}")
            return "failure"
        if res.timed_out:
            self.log("::error::The step exceeded its timeout and was cancelled.")
            return "failure"
        if res.cancelled:
            return "cancelled"
        if res.exit_code != 0:
            self.log(f"::error::Process completed with exit code {res.exit_code}.")
            return "failure"
        return "success"

    def read_files(self, files: dict[str, Path], outputs: dict[str, str]) -> None:
        text = {var: _read(path) for var, path in files.items()}
        try:
            for name, value in parse_env_file(text["GITHUB_OUTPUT"]):
                outputs[name] = value
            for name, value in parse_env_file(text["GITHUB_ENV"]):
                self.exported[name] = value
                self.env_ctx[name] = value
            for name, value in parse_env_file(text["GITHUB_STATE"]):
                self.state[name] = value
        except FileFormatError as exc:
            self.log(f"::error::{exc}")
        for line in text["GITHUB_PATH"].splitlines():
            if line.strip():
                self.paths.insert(0, line.strip())
        if text["GITHUB_STEP_SUMMARY"]:
            self.summary.append(self.rs.masker.mask(text["GITHUB_STEP_SUMMARY"]))


class OutputParser:
    """Handles one step's output lines: workflow commands, then masked log lines."""

    def __init__(self, job: JobRun, unsecure: bool = False) -> None:
        self.job = job
        self.stop_token: str | None = None
        self.unsecure = unsecure  # ACTIONS_ALLOW_UNSECURE_COMMANDS: set-env and add-path work

    def line(self, text: str) -> None:
        if self.stop_token is not None:
            if text.strip() == f"::{self.stop_token}::":
                self.stop_token = None
                return
            self.job.log(text)
            return
        cmd = parse_command(text) if "::" in text else None
        if cmd is None:
            self.job.log(text)
            return
        rs = self.job.rs
        if cmd.name == "add-mask":
            rs.masker.add(cmd.message)
            self.job.log("::add-mask::***")
        elif cmd.name == "stop-commands":
            self.stop_token = cmd.message
        elif cmd.name == "debug":
            if self.job.rs.step_debug:
                self.job.log(f"##[debug]{cmd.message}")
        elif cmd.name in ("group", "endgroup", "error", "warning", "notice"):
            self.job.log(text)
            if cmd.name in ("error", "warning", "notice"):
                rs.annotate(cmd.name, cmd.message, cmd.props, self.job.display)
        elif cmd.name == "set-output":
            name = cmd.props.get("name", "")
            if name:
                self.job.pending_outputs[name] = cmd.message
        elif cmd.name == "save-state":
            self.job.state[cmd.props.get("name", "")] = cmd.message
        elif cmd.name == "set-env" and self.unsecure:
            name = cmd.props.get("name", "")
            if name:
                self.job.exported[name] = self.job.env_ctx[name] = cmd.message
        elif cmd.name == "add-path" and self.unsecure:
            self.job.paths.insert(0, cmd.message)
        elif cmd.name in ("set-env", "add-path"):
            file = "GITHUB_ENV" if cmd.name == "set-env" else "GITHUB_PATH"
            self.job.log(f"::error::The `{cmd.name}` command is disabled. Please upgrade to using "
                         f"Environment Files ({file}) or opt into unsecure command execution by "
                         "setting the `ACTIONS_ALLOW_UNSECURE_COMMANDS` environment variable to "
                         "`true`.")  # fmt: skip
        else:
            self.job.log(text)


def _read(path: Path) -> str:
    """A runner file's text ('' when empty or removed by the step)."""
    try:
        if os.stat(path).st_size == 0:
            return ""
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _strs(d: Any) -> dict[str, str]:
    if not isinstance(d, dict):
        return {}
    return {str(k): to_str(from_json_value(v)) for k, v in d.items()}
