"""Run a planned GitLab pipeline through the executor interface (``ci.exec.base``).

Jobs run in an order that keeps stages and ``needs`` (a job runs after its
needs, or after every job of the earlier stages when it has none), as the
neutral scheduler decides it (``ci.neutral.scheduler`` with GitLab's rules,
``ci.neutral.gitlab``): one at a time, or ``RunSpec.concurrency`` at once as a
GitLab runner's ``concurrent`` (one job of a ``resource_group`` at a time),
each in a fresh copy of the checkout: ``image:`` and ``services:`` on podman,
image-less jobs in ``RunSpec.default_image`` (the controller's podman runner
image, as a GitLab runner's default image) or else as shell jobs on the host.
``before_script`` and ``script`` run in one shell, ``after_script`` in its own
(with ``CI_JOB_STATUS``; its failure does not fail the job). Artifacts and
``reports: dotenv`` pass to later jobs (``needs: artifacts``, ``dependencies``),
caches by key; ``retry`` reruns, ``allow_failure`` (with ``exit_codes``) lets the
pipeline pass, ``when: manual`` jobs are reported as manual and not run,
``when: delayed`` waits ``start_in``. Job records carry GitLab's status word
(``status``: success, failed, skipped, manual, canceled) beside shipway's
``result``. After every job the run's state (the scheduler's, with each ended
job's record and dotenv) goes to ``RunSpec.on_state``; given back as ``prior``
it resumes the run. ``supersede`` is GitLab's auto-cancel of redundant pipelines
(``ci.gitlab.autocancel`` decides; the run's own cancel flag or the jobs' ends
it); a stored state that was cancelled whole stays cancelled. Touches the run
directory under ``base_dir``, the cache directory, and what the executors start.
"""

from __future__ import annotations

import datetime as dt
import shlex
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.ci import gitlab_files as files
from shipway.ci.exec.base import (
    ExecutorConfig,
    Mount,
    Service,
    SessionSpec,
    StepSpec,
    dns_name,
    open_session,
)
from shipway.ci.gitlab import autocancel
from shipway.ci.gitlab.expr import expand
from shipway.ci.gitlab.model import Job, Pipeline, duration
from shipway.ci.gitlab.plan import Plan, Planned
from shipway.ci.gitlab.variables import Facts, job_env, job_vars, pipeline_vars
from shipway.ci.neutral import gitlab as neutral
from shipway.ci.neutral import scheduler as sch
from shipway.model.errors import InputError, ShipwayError
from shipway.model.events import epoch_of, rfc3339, stamp
from shipway.runtime.host import Cancel

AFTER_SCRIPT_TIMEOUT = 300.0
RESULT = {"success": "success", "failed": "failure", "skipped": "skipped",
          "manual": "skipped", "canceled": "cancelled"}  # fmt: skip


@dataclass
class RunSpec:
    run_id: str
    source: Path  # the checkout
    base_dir: Path  # this run's directory
    cache_root: Path
    facts: Facts
    executor: str = "host"
    variables: Mapping[str, str] = field(default_factory=dict)  # pipeline variables
    config: ExecutorConfig = field(default_factory=ExecutorConfig)
    on_line: Callable[[str], None] = lambda _line: None
    cancel: Cancel = field(default_factory=Cancel)
    only_job: str | None = None
    max_delay: float = 3600.0
    env: Mapping[str, str] = field(default_factory=dict)  # the controller's step environment
    default_image: str | None = None  # the image of jobs without image: (None: the host)
    concurrency: int = 1  # jobs running at once (a GitLab runner's ``concurrent``)
    on_state: Callable[[dict[str, Any]], None] | None = None  # after each job: the run's state


@dataclass
class Done:
    status: str
    dotenv: dict[str, str] = field(default_factory=dict)
    exit_code: int | None = None


def _artifact_sources(p: Planned, pipe: Pipeline, prereq: list[str]) -> list[str]:
    if p.job.dependencies is not None:
        return [n for d in p.job.dependencies for n in pipe.instances.get(d, [])]
    if p.needs is not None:
        return [n for need in p.needs if need.artifacts for n in need.names(pipe.instances)]
    return prereq


class PipelineRun:
    """One pipeline's run; ``prior`` (a stored ``state()``) resumes it: jobs that ended keep
    their status, records and dotenv, the others run."""

    def __init__(self, pipe: Pipeline, plan: Plan, spec: RunSpec,
                 prior: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.pipe, self.plan, self.spec = pipe, plan, spec
        self.nplan = neutral.compile_pipeline(pipe, plan, spec.only_job)
        self.rules = neutral.GitLabRules(run_manual=spec.only_job is not None)
        self.ids = {nid: i for i, nid in enumerate(self.nplan.order(), 1)}
        self.done: dict[str, Done] = {}
        self.records: list[dict[str, Any]] = []
        self.lines: list[str] = []
        self.started = time.time()
        self.tries: dict[str, int] = {}
        self.output: dict[str, list[str]] = {}  # each job's script output (without `$ cmd`)
        self._cache_lock = threading.Lock()
        self._lock = threading.Lock()
        self.sched = sch.State.new(self.nplan)
        self.superseded_by = ""  # the newer pipeline's sha, when it cancelled this one
        self.interrupt: set[str] = set()  # jobs a newer pipeline cancelled (``interruptible``)
        self.started_jobs: set[str] = set()  # jobs that started running
        self.job_cancels: dict[str, Cancel] = {}  # the running jobs' own flags
        self.failed_fast = False  # a failure cancelled the rest (on_job_failure: all)
        if prior is not None:
            self._resume(prior)

    def _resume(self, prior: dict[str, Any]) -> None:
        self.sched = sch.State.from_data(self.nplan, dict(prior.get("scheduler") or {}))
        self.sched.cancelled = False
        self.started = epoch_of(prior.get("started")) or self.started
        self.lines.extend(str(x) for x in prior.get("lines") or [])
        self.superseded_by = str(prior.get("superseded_by") or "")
        self.interrupt = {str(x) for x in prior.get("interrupt") or []}
        self.started_jobs = {str(x) for x in prior.get("started_jobs") or []}
        if prior.get("superseded_whole"):  # cancelled before the stop: nothing runs again
            self.spec.cancel.cancel()
        for nid, ns in self.sched.nodes.items():
            if ns.done and isinstance(ns.data.get("record"), dict):
                self.done[nid] = Done(neutral.WORD[ns.status], dict(ns.results),
                                      ns.data.get("exit_code"))  # fmt: skip
                self.records.append(ns.data["record"])
        if self.done:
            self.log(f"resumed: {len(self.done)} job(s) had ended, "
                     f"{len(self.nplan.nodes) - len(self.done)} to go")  # fmt: skip

    def state(self) -> dict[str, Any]:
        """What a resume needs, as data: the scheduler's state, the start time and the log."""
        with self._lock:
            return {"scheduler": self.sched.to_data(), "started": stamp(self.started),
                    "lines": list(self.lines), "superseded_by": self.superseded_by,
                    "superseded_whole": bool(self.superseded_by and not self.interrupt),
                    "interrupt": sorted(self.interrupt),
                    "started_jobs": sorted(self.started_jobs)}  # fmt: skip

    def log(self, line: str) -> None:
        self.lines.append(line)
        self.spec.on_line(line)

    def _step_line(self, job: str) -> Callable[[str], None]:
        def say(line: str) -> None:
            if not line.startswith("$ "):
                self.output.setdefault(job, []).append(line)
            self.log(f"[{job}] {line}")

        return say

    def run(self) -> dict[str, Any]:
        """Run the jobs the scheduler gives, in run order: one at a time, or as soon as their
        prerequisites ended, ``concurrency`` at once, one job of a ``resource_group`` at a
        time; records stay in run order."""
        if self.spec.concurrency > 1 and len(self.nplan.nodes) > 1:
            files.shared_git(self.spec.source, self.spec.base_dir / "repo.git")  # made once, here
            self._parallel()
        else:
            while True:
                self.sched.cancelled = self.spec.cancel.event.is_set()
                found = sch.decide(self.nplan, self.sched, self.rules)
                if not found:
                    break
                self._finish(found[0].node, *self._timed(found[0]))
        self.records.sort(key=lambda r: self.ids.get(r["name"], 0))
        return self.record()

    def supersede(self, sha: str) -> autocancel.Decision:
        """A newer pipeline of the ref (at ``sha``) started: cancel what GitLab's
        ``workflow:auto_cancel:on_new_commit`` says, as it stands now."""
        with self._lock:
            states = [autocancel.JobState(nid, self.nplan.nodes[nid].source.interruptible,
                                          started=nid in self.started_jobs,
                                          ended=nid in self.done)
                      for nid in self.nplan.order()]  # fmt: skip
            decision = autocancel.decide(self.plan.auto_cancel, states)
            if decision.cancels:
                self.superseded_by = sha
            if not decision.whole:
                self.interrupt.update(decision.jobs)
            running = [self.job_cancels[n] for n in decision.jobs if n in self.job_cancels]
        newer = f"a newer pipeline of this ref ({sha[:12] or 'unknown commit'})"
        if not decision.cancels:
            self.log(f"{newer} started; not cancelled: {decision.reason}")
            return decision
        what = "the pipeline" if decision.whole else ", ".join(decision.jobs)
        self.log(f"{newer} started: auto-canceling {what} "
                 f"(workflow:auto_cancel:on_new_commit {self.plan.auto_cancel})")  # fmt: skip
        if decision.whole:
            self.spec.cancel.cancel()
        for flag in running:
            flag.cancel()
        if self.spec.on_state is not None:
            self.spec.on_state(self.state())
        return decision

    def _finish(self, nid: str, done: Done, rec: dict[str, Any]) -> None:
        with self._lock:
            self.done[nid] = done
            self.records.append(rec)
            self.sched.finish(nid, neutral.STATUS[done.status], done.dotenv,
                              allowed=bool(rec["allow_failure_applied"]), record=rec,
                              exit_code=done.exit_code)  # fmt: skip
        if (
            self.plan.cancel_on_failure
            and done.status == "failed"
            and not rec["allow_failure_applied"]
            and not self.spec.cancel.event.is_set()
        ):
            self.log(f"{nid} failed: canceling the pipeline (workflow:auto_cancel:on_job_failure "
                     "all)")  # fmt: skip
            self.failed_fast = True
            self.spec.cancel.cancel()
        if self.spec.on_state is not None:
            self.spec.on_state(self.state())

    def _timed(self, v: sch.Verdict) -> tuple[Done, dict[str, Any]]:
        p = self.nplan.nodes[v.node].source
        t0 = time.time()
        done = self._one(p, v, self.ids[v.node])
        return done, self._record(p, done, time.time() - t0)

    def _parallel(self) -> None:
        running: dict[Future[tuple[Done, dict[str, Any]]], str] = {}
        groups: set[str] = set()
        with ThreadPoolExecutor(max_workers=self.spec.concurrency) as pool:
            while True:
                self.sched.cancelled = self.spec.cancel.event.is_set()
                moved = False
                for v in sch.decide(self.nplan, self.sched, self.rules):
                    group = self.nplan.nodes[v.node].resource_group
                    if v.action != "run":
                        self._finish(v.node, *self._timed(v))
                        moved = True
                        continue
                    if len(running) >= self.spec.concurrency or (group and group in groups):
                        continue
                    if group:
                        groups.add(group)
                    self.sched.start(v.node)
                    running[pool.submit(self._timed, v)] = v.node
                    moved = True
                if moved:  # a skip may have let more jobs' turn come: decide again
                    continue
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    nid = running.pop(fut)
                    self._finish(nid, *fut.result())
                    groups.discard(self.nplan.nodes[nid].resource_group or "")

    def _one(self, p: Planned, v: sch.Verdict, job_id: int) -> Done:
        if v.action == "cancel" or p.job.name in self.interrupt:
            return Done("canceled")
        if v.action == "manual":
            self.log(f"[{p.job.name}] manual job: not started (run it with --job)")
            return Done("manual")
        if v.action == "skip":
            return Done("skipped")
        if p.when == "delayed":
            wait = min(float(duration(p.job.start_in) or 0), self.spec.max_delay)
            self.log(f"[{p.job.name}] delayed: starting in {wait:g}s")
            if self.spec.cancel.event.wait(wait):
                return Done("canceled")
        return self._execute(p, job_id)

    def _env(
        self, p: Planned, job_id: int, project_dir: str, prereq_sources: list[str]
    ) -> dict[str, str]:
        facts = Facts(**{**self.spec.facts.__dict__, "project_dir": project_dir})
        dotenv: dict[str, str] = {}
        for name in prereq_sources:
            d = self.done.get(name)
            if d is not None:
                dotenv.update(d.dotenv)
        predefined = {**pipeline_vars(facts), **job_vars(p.job, job_id)}
        mine = job_env(predefined, p.job, p.rule_variables, dotenv, self.spec.variables)
        return {**self.spec.env, **mine}

    def _execute(self, p: Planned, job_id: int) -> Done:
        job = p.job
        jdir = self.spec.base_dir / "jobs" / f"{job_id}-{files.safe(job.name)}"
        shared = files.shared_git(self.spec.source, self.spec.base_dir / "repo.git")
        gitdir = files.job_git(shared, jdir / "git")  # an index of its own per job
        project = files.fresh_project(self.spec.source, jdir / "project", gitdir)
        scratch = jdir / "scratch"
        scratch.mkdir(parents=True, exist_ok=True)
        in_container = job.image is not None or self.spec.default_image is not None
        target = f"/builds/{self.spec.facts.project_path}" if in_container else str(project)
        sources = _artifact_sources(p, self.pipe, self._prereq_of(p))
        for name in sources:
            if files.restore(self.spec.base_dir / "artifacts" / files.safe(name), project):
                self.log(f"[{job.name}] Downloading artifacts from {name}")
        env = self._env(p, job_id, target, sources)
        caches = [(files.cache_dir(self.spec.cache_root, expand(str(c["key"]), env)), c)
                  for c in job.cache if isinstance(c.get("key"), str)]  # fmt: skip
        for path, c in caches:
            with self._cache_lock:
                restored = c["policy"] in ("pull", "pull-push") and files.restore(path, project)
            if restored:
                self.log(f"[{job.name}] Restored cache {path.name}")
        image = expand(str(job.image["name"]), env) if job.image else self.spec.default_image
        with self._lock:
            if job.name in self.interrupt:  # cancelled by a newer pipeline while it set up
                return Done("canceled")
            flag = self.job_cancels[job.name] = self.spec.cancel.child()
            self.started_jobs.add(job.name)
        spec = SessionSpec(run_id=self.spec.run_id, job=dns_name(f"{job_id}-{job.name}", 40),
                           mounts=[Mount(str(project), target),
                                   *(Mount(str(g.resolve()), str(g.resolve()))
                                     for g in (shared, gitdir) if g),
                                   *(Mount(str(o), str(o), read_only=True)
                                     for o in files.object_stores(shared))]
                           if in_container else [],
                           scratch=str(scratch), workdir=target, image=image,
                           services=[_service(s, env) for s in job.services],
                           log=lambda line: self.log(f"[{job.name}] {line}"),
                           cancel=flag)  # fmt: skip
        status, code, tries = "failed", None, 0
        self.log(f"[{job.name}] Running {'in ' + image if image else 'on the host (shell)'}")
        try:
            with open_session(self.spec.executor, spec, self.spec.config) as s:
                while True:
                    tries += 1
                    step_env = {**env, "PATH": _path(s.path, self.spec.env, in_container)}
                    out = s.run(StepSpec(script=_script([*job.before_script, *job.script]),
                                         shell=_shell(in_container), env=step_env, cwd=target,
                                         timeout=float(job.timeout or 3600),
                                         on_line=self._step_line(job.name),
                                         ))  # fmt: skip
                    code = out.exit_code
                    status = "success" if out.ok else "canceled" if out.cancelled else "failed"
                    if out.timed_out:
                        self.log(f"[{job.name}] ERROR: Job failed: execution took longer than "
                                 f"{job.timeout or 3600}s")  # fmt: skip
                    if status != "failed" or not _retry(job, tries, out.timed_out, code):
                        break
                    self.log(f"[{job.name}] retrying ({tries}/{job.retry.max})")
                if job.after_script:  # also after a cancel (its own flag), as GitLab runs it
                    say = self._step_line(job.name)
                    own = Cancel() if status == "canceled" else None
                    s.run(StepSpec(script=_script(job.after_script), shell=_shell(in_container),
                                   env={**env, "PATH": _path(s.path, self.spec.env, in_container),
                                        "CI_JOB_STATUS": status},
                                   cwd=target, timeout=AFTER_SCRIPT_TIMEOUT, on_line=say,
                                   cancel=own))  # fmt: skip
        except (ShipwayError, OSError) as exc:
            self.log(f"[{job.name}] ERROR: {exc}")
            status = "failed"
        with self._lock:
            self.job_cancels.pop(job.name, None)
        dotenv = self._save(p, project, status)
        for path, c in caches:
            ok = c["when"] == "always" or (c["when"] == "on_success") == (status == "success")
            if c["policy"] in ("push", "pull-push") and ok:
                with self._cache_lock:
                    files.remove(path)
                    files.save_paths(project, [str(x) for x in c.get("paths") or []], path)
        self.log(f"[{job.name}] Job {'succeeded' if status == 'success' else status}")
        shutil.rmtree(project, ignore_errors=True)
        if gitdir is not None:
            shutil.rmtree(gitdir, ignore_errors=True)
        self.tries[job.name] = tries
        return Done(status, dotenv, code)

    def _prereq_of(self, p: Planned) -> list[str]:
        node = self.nplan.nodes.get(p.job.name)
        return node.parents if node is not None else []

    def _save(self, p: Planned, project: Path, status: str) -> dict[str, str]:
        art = p.job.artifacts or {}
        when = art.get("when", "on_success")
        if not (when == "always" or (when == "on_success") == (status == "success")):
            return {}
        target = self.spec.base_dir / "artifacts" / files.safe(p.job.name)
        files.remove(target)
        paths = [str(x) for x in art.get("paths") or []]
        reports = art.get("reports") if isinstance(art.get("reports"), dict) else {}
        dotenv_files = reports.get("dotenv") if reports else None
        dotenv_list = [dotenv_files] if isinstance(dotenv_files, str) else dotenv_files or []
        n = files.save_paths(project, paths, target) if paths else 0
        if paths:
            self.log(f"[{p.job.name}] Uploading artifacts: {n} matching path(s)")
        found: dict[str, str] = {}
        for name in dotenv_list:
            got, problems = files.read_dotenv(project / str(name))
            for problem in problems:
                self.log(f"[{p.job.name}] WARNING: {problem}")
            found.update(got)
        return found

    def _record(self, p: Planned, done: Done, seconds: float) -> dict[str, Any]:
        job = p.job
        allowed = done.status == "failed" and p.allow_failure and (
            not job.allow_exit_codes or done.exit_code in job.allow_exit_codes)  # fmt: skip
        ran = done.status in ("success", "failed") or done.exit_code is not None
        steps = [{"id": "script", "name": "script", "outcome": RESULT[done.status],
                  "conclusion": RESULT[done.status], "outputs": {}}] if ran else []  # fmt: skip
        return {
            "id": job.key, "name": job.name, "stage": job.stage, "when": p.when,
            "status": done.status, "result": RESULT[done.status],
            "allow_failure": p.allow_failure, "allow_failure_applied": allowed,
            "exit_code": done.exit_code, "retried": max(self.tries.get(job.name, 1) - 1, 0),
            "matrix": job.matrix, "outputs": done.dotenv, "steps": steps,
            "image": job.image["name"] if job.image else None,
            "environment": (job.environment or {}).get("name"),
            "resource_group": job.resource_group, "interruptible": p.interruptible,
            "seconds": round(seconds, 3),
        }  # fmt: skip

    def record(self) -> dict[str, Any]:
        statuses = self.records
        failed = any(r["status"] == "failed" and not r["allow_failure_applied"] for r in statuses)
        if failed and self.failed_fast:
            status = "failed"
        elif any(r["status"] == "canceled" for r in statuses) or self.spec.cancel.event.is_set():
            status = "canceled"
        elif failed:
            status = "failed"
        elif statuses and all(r["status"] in ("manual", "skipped") for r in statuses):
            status = "manual" if any(r["status"] == "manual" for r in statuses) else "skipped"
        else:
            status = "success"
        conclusion = {"success": "success", "failed": "failure", "canceled": "cancelled",
                      "manual": "success", "skipped": "skipped"}[status]  # fmt: skip
        if not self.plan.created:
            status, conclusion = "skipped", "skipped"
        return {
            "id": self.spec.run_id, "syntax": "gitlab", "workflow": self.pipe.file,
            "file": self.pipe.file, "event": self.spec.facts.source,
            "ref": ("refs/tags/" if self.spec.facts.tag else "refs/heads/") + self.spec.facts.ref,
            "commit": self.spec.facts.sha, "status": "completed", "conclusion": conclusion,
            "gitlab_status": status,
            "started": rfc3339(dt.datetime.fromtimestamp(self.started, dt.UTC)),
            "seconds": round(time.time() - self.started, 3), "jobs": self.records,
            "annotations": [], **({"superseded_by": self.superseded_by}
                                  if self.superseded_by else {}),
        }  # fmt: skip


def _retry(job: Job, tries: int, timed_out: bool, code: int | None) -> bool:
    r = job.retry
    if tries > r.max:
        return False
    if r.exit_codes and code not in r.exit_codes:
        return False
    whens = set(r.when)
    if "always" in whens:
        return True
    if timed_out:
        return bool(whens & {"stuck_or_timeout_failure", "job_execution_timeout"})
    return "script_failure" in whens or "unknown_failure" in whens


def _path(session: str, base: Mapping[str, str], in_container: bool) -> str:
    """The job's PATH: the container's, or on the host the controller's step PATH if given."""
    return session if in_container or not base.get("PATH") else base["PATH"]


def _shell(in_container: bool) -> tuple[str, ...]:
    if not in_container and shutil.which("bash"):
        return ("bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "{0}")
    return ("sh", "-e", "{0}")


def _script(lines: list[str]) -> str:
    """GitLab's shell script: each command echoed as ``$ command``, the first failure ends it."""
    out = []
    for line in lines:
        shown = line.splitlines()[0] if line.strip() else line
        if "\n" in line.strip():
            shown += " # collapsed multi-line command"
        out.append(f"printf '%s\\n' {shlex.quote('$ ' + shown)}")
        out.append(line)
    return "\n".join(out) + "\n"


def _service(s: dict[str, Any], env: Mapping[str, str]) -> Service:
    image = expand(str(s["name"]), env)
    bare = image.split("@")[0].rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    bare = bare.split("@")[0]
    aliases = [str(s["alias"])] if s.get("alias") else []
    aliases += [bare.replace("/", "__"), bare.replace("/", "-")]
    entry = s.get("entrypoint")
    cmd = s.get("command")
    variables = s.get("variables") if isinstance(s.get("variables"), dict) else {}
    return Service(name=dns_name(aliases[0], 30), image=image,
                   aliases=tuple(dict.fromkeys(a for a in aliases if a)),
                   env={**env, **{str(k): str(v) for k, v in (variables or {}).items()}},
                   entrypoint=tuple(map(str, entry)) if isinstance(entry, list) else None,
                   command=tuple(map(str, cmd)) if isinstance(cmd, list) else ())  # fmt: skip


def run_pipeline(pipe: Pipeline, plan: Plan, spec: RunSpec, prior: dict[str, Any] | None = None,
                 started: Callable[[PipelineRun], None] | None = None,
                 ) -> tuple[dict[str, Any], str]:  # fmt: skip
    """Run the plan; return the run record and its log. A plan GitLab would refuse
    (``Plan.errors``) raises ``InputError`` naming every problem, before anything runs.
    ``started`` gets the run before its first job (to ``supersede`` it later)."""
    if plan.errors:
        first, *rest = plan.errors
        where, _, message = first.partition(": ")
        raise InputError("\n".join([message, *rest]), subject=where)
    spec.base_dir.mkdir(parents=True, exist_ok=True)
    run = PipelineRun(pipe, plan, spec, prior)
    if started is not None:
        started(run)
    record = run.run()
    return record, "\n".join(run.lines)
