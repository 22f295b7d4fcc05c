"""GitHub Actions workflow syntax: validate a workflow file and build the plan model.

Pure: takes the file's text and display name, returns ``plan.model.Workflow``.
Every problem (unknown key, wrong type, missing ``runs-on``, a ``needs``
cycle, a bad expression or an undefined context) is an ``InputError`` with
``file:line:column``, found before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shipway.ci.expr.lexer import ExprError
from shipway.ci.expr.parser import parse as parse_expr
from shipway.ci.expr.template import condition_text, has_expr, is_insert, split
from shipway.ci.plan import permissions as perms
from shipway.ci.plan.dag import find_cycle
from shipway.ci.plan.model import Job, Step, Strategy, Workflow
from shipway.ci.syntax.events import check_on
from shipway.model.errors import InputError
from shipway.model.yamlsrc import Located, PathKey, load_one

_CONTEXT_NAMES = "github env vars secrets inputs matrix strategy steps job jobs needs runner"
CONTEXTS = frozenset(_CONTEXT_NAMES.split())
_EVENT_NAMES = """
branch_protection_rule check_run check_suite create delete deployment deployment_status
discussion discussion_comment fork gollum issue_comment issues label merge_group milestone
page_build public pull_request pull_request_review pull_request_review_comment
pull_request_target push registry_package release repository_dispatch schedule status watch
workflow_call workflow_dispatch workflow_run
"""
EVENTS = frozenset(_EVENT_NAMES.split())
# Which contexts each place may read (GitHub's context availability table, simplified).
_WORKFLOW_CTX = frozenset({"github", "inputs", "vars", "secrets"})
_JOB_IF_CTX = frozenset({"github", "needs", "vars", "inputs"})
_JOB_CTX = frozenset({"github", "needs", "strategy", "matrix", "vars", "inputs", "secrets"})
_JOB_OUTPUTS_CTX = _JOB_CTX | {"steps", "job", "runner", "env"}
_STEP_CTX = CONTEXTS - {"jobs"}
# GitHub offers no ``secrets`` to these keys of a job (a step's may read them)
_NO_SECRETS = frozenset({"timeout-minutes", "continue-on-error"})
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_USES = re.compile(r"^(\./.*|docker://\S+|\$\{\{.*|[^/@\s]+/[^@\s]+@[^@\s]+)$")

Path = tuple[PathKey, ...]
Check = Callable[[Any], bool]


def _scalar(v: Any) -> bool:
    return isinstance(v, str | int | float | bool) or v is None


def _is_str(v: Any) -> bool:
    return isinstance(v, str | int | float) and not isinstance(v, bool)


def _expr_or(kind: Check) -> Check:
    return lambda v: kind(v) or (isinstance(v, str) and "${{" in v)


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _mapping(v: Any) -> dict[str, Any]:
    """A mapping value for the plan; anything else was reported already."""
    return dict(v) if isinstance(v, dict) else {}


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _map(v: Any) -> bool:
    return isinstance(v, dict)


def _seq(v: Any) -> bool:
    return isinstance(v, list)


def _str_or_seq(v: Any) -> bool:
    return _is_str(v) or (isinstance(v, list) and all(_is_str(x) for x in v))


def _env(v: Any) -> bool:
    return isinstance(v, dict) and all(_scalar(x) for x in v.values())


_TYPES: dict[str, tuple[Check, str]] = {
    "str": (_is_str, "a string"),
    "scalar": (_scalar, "a string, number or boolean"),
    "bool": (_expr_or(_bool), "a boolean or an expression"),
    "num": (_expr_or(_num), "a number or an expression"),
    "map": (_map, "a mapping"),
    "seq": (_seq, "a sequence"),
    "env": (_env, "a mapping of names to strings"),
    "strs": (_expr_or(_str_or_seq), "a string or a sequence of strings"),
    "any": (lambda v: True, "anything"),
    "map|str": (lambda v: _map(v) or _is_str(v), "a mapping or a string"),
    "runs-on": (lambda v: _str_or_seq(v) or _map(v), "a string, a sequence or a mapping"),
}

WORKFLOW_KEYS = {
    "name": "str", "run-name": "str", "on": "any", "permissions": "map|str", "env": "env",
    "defaults": "map", "concurrency": "map|str", "jobs": "map",
}  # fmt: skip
JOB_KEYS = {
    "name": "str", "permissions": "map|str", "needs": "strs", "if": "scalar", "runs-on": "runs-on",
    "environment": "map|str", "concurrency": "map|str", "outputs": "env", "env": "env",
    "defaults": "map", "steps": "seq", "timeout-minutes": "num", "strategy": "map",
    "continue-on-error": "bool", "container": "map|str", "services": "map", "uses": "str",
    "with": "env", "secrets": "map|str",
}  # fmt: skip
STEP_KEYS = {
    "id": "str", "if": "scalar", "name": "str", "uses": "str", "run": "str",
    "working-directory": "str", "shell": "str", "with": "env", "env": "env",
    "continue-on-error": "bool", "timeout-minutes": "num",
}  # fmt: skip
STRATEGY_KEYS = {"matrix": "any", "fail-fast": "bool", "max-parallel": "num"}
DEFAULTS_KEYS = {"run": "map"}
DEFAULTS_RUN_KEYS = {"shell": "str", "working-directory": "str"}
CONCURRENCY_KEYS = {"group": "str", "cancel-in-progress": "bool"}
ENVIRONMENT_KEYS = {"name": "str", "url": "str", "deployment": "bool"}


class _Checker:
    def __init__(self, doc: Located) -> None:
        self.doc = doc
        self.errors: list[InputError] = []
        self.allowed: frozenset[str] = CONTEXTS

    def error(self, path: Path, message: str) -> None:
        line, col = self.doc.locate(path)
        self.errors.append(InputError(message, file=self.doc.file, line=line, column=col))

    def keys(self, value: Any, path: Path, allowed: dict[str, str], what: str) -> bool:
        if not isinstance(value, dict):
            self.error(path, f"{what} must be a mapping, got {_type_name(value)}")
            return False
        for key, v in value.items():
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.error(
                    (*path, key), f"unknown key {key!r} in {what} (expected one of: {known})"
                )
                continue
            check, desc = _TYPES[allowed[key]]
            if not check(v):
                self.error((*path, key), f"{key!r} must be {desc}, got {_type_name(v)}")
        return True

    def permissions(self, value: Any, path: Path) -> None:
        """Check a ``permissions`` value: known scopes, levels each scope accepts."""
        if value is None:
            return
        for below, message in perms.problems(value):
            self.error((*path, *below), message)

    def environment(self, value: Any, path: Path) -> None:
        if isinstance(value, dict):
            self.keys(value, path, ENVIRONMENT_KEYS, "environment")
            if "name" not in value:
                self.error(path, "'environment' needs a 'name'")

    def exprs(self, value: Any, path: Path) -> None:
        """Check every ``${{ }}`` inside ``value`` parses and reads known contexts."""
        if isinstance(value, str):
            if "${{" in value:
                try:
                    for is_expr, body, _ in split(value):
                        if is_expr:
                            self.expr(body, path)
                except ExprError as exc:
                    self.error(path, f"bad expression: {exc.message}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.exprs(v, (*path, i))
        elif isinstance(value, dict):
            for k, v in value.items():
                if is_insert(k):  # its value: a mapping merged in where it stands
                    if not (isinstance(v, str) and has_expr(v)) and not isinstance(v, dict):
                        self.error((*path, k), "the value of ${{ insert }} must be a mapping "
                                   "or an expression")  # fmt: skip
                else:
                    self.exprs(k, path)
                self.exprs(v, (*path, k))

    def expr(self, body: str, path: Path) -> None:
        try:
            node = parse_expr(body)
        except ExprError as exc:
            self.error(path, f"bad expression {body!r}: {exc.message}")
            return
        from shipway.ci.expr.parser import contexts_used

        for name in sorted(contexts_used(node) - CONTEXTS):
            self.error(path, f"undefined context {name!r} in expression {body!r}")
        for name in sorted((contexts_used(node) & CONTEXTS) - self.allowed):
            self.error(path, f"context {name!r} is not available here (in {body!r})")

    def condition(self, value: Any, path: Path) -> None:
        if value is None:
            return
        try:
            text = condition_text(value)
        except ExprError as exc:
            self.error(path, f"bad expression in 'if': {exc.message}")
            return
        if not text.startswith("format("):
            self.expr(text, path)


def _type_name(v: Any) -> str:
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a sequence"
    if isinstance(v, bool):
        return "a boolean"
    if v is None:
        return "null"
    return type(v).__name__


def normalise_on(on: Any) -> dict[str, Any] | None:
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list) and all(isinstance(e, str) for e in on):
        return {e: {} for e in on}
    if isinstance(on, dict):
        return {str(k): (v if v is not None else {}) for k, v in on.items()}
    return None


def parse_workflow(text: str, file: str) -> Workflow:
    """Validate and convert a GitHub Actions workflow; raise ``InputError`` naming every problem
    (the first one's position as its subject, each further one on a line of its own)."""
    doc = load_one(text, file)
    c = _Checker(doc)
    wf = _build(doc, c)
    if c.errors:  # every problem at once, in file order (as actionlint reports them)
        found = sorted(c.errors, key=lambda e: (e.line or 0, e.column or 0))
        first = found[0]
        first.message = "\n".join([first.message, *(str(e) for e in found[1:])])
        raise first
    assert wf is not None
    return wf


def _build(doc: Located, c: _Checker) -> Workflow | None:
    data = doc.data
    if not c.keys(data, (), WORKFLOW_KEYS, "the workflow"):
        return None
    on = normalise_on(data.get("on"))
    if "on" not in data:
        c.error((), "the workflow has no 'on' key (which events trigger it)")
    elif on is None:
        c.error(("on",), "'on' must be an event name, a list of them, or a mapping")
    else:
        for ev in on:
            if ev not in EVENTS:
                c.error(("on", ev), f"unknown event {ev!r}")
        check_on({ev: spec for ev, spec in on.items() if ev in EVENTS}, c.error)
    c.allowed = _WORKFLOW_CTX
    c.exprs(data.get("env", {}), ("env",))
    c.exprs(data.get("run-name"), ("run-name",))
    c.allowed = _WORKFLOW_CTX - {"secrets"}
    c.exprs(data.get("concurrency"), ("concurrency",))
    c.allowed = CONTEXTS
    c.permissions(data.get("permissions"), ("permissions",))
    jobs_data = data.get("jobs")
    if not isinstance(jobs_data, dict) or not jobs_data:
        c.error(("jobs",) if "jobs" in data else (), "the workflow needs a 'jobs' mapping")
        return None
    jobs: dict[str, Job] = {}
    for jid, jdata in jobs_data.items():
        job = _job(c, str(jid), jdata)
        if job is not None:
            jobs[job.id] = job
    for job in jobs.values():
        for need in job.needs:
            if need not in jobs_data:
                c.error(("jobs", job.id, "needs"), f"job {job.id!r} needs unknown job {need!r}")
    cycle = find_cycle({j.id: [n for n in j.needs if n in jobs] for j in jobs.values()})
    if cycle:  # reported where it closes: the last job's needs
        c.error(("jobs", cycle[-2], "needs"), "cycle in 'needs': " + " -> ".join(cycle))
    _defaults(c, data.get("defaults"), ("defaults",))
    return Workflow(
        file=doc.file,
        name=str(data.get("name") or doc.file),
        on=on or {},
        jobs=jobs,
        env=_mapping(data.get("env")),
        defaults=_mapping(data.get("defaults")),
        concurrency=data.get("concurrency"),
        run_name=data.get("run-name"),
        permissions=data.get("permissions"),
    )


def _defaults(c: _Checker, value: Any, path: Path) -> None:
    if value is None:
        return
    if c.keys(value, path, DEFAULTS_KEYS, "defaults") and isinstance(value.get("run"), dict):
        c.keys(value["run"], (*path, "run"), DEFAULTS_RUN_KEYS, "defaults.run")


_NOT_WITH_USES = ("environment",)  # GitHub lists what a calling job may have; not this
_JOB_EXPR_KEYS = (
    "env", "outputs", "with", "runs-on", "container", "services", "name",
    "timeout-minutes", "continue-on-error", "concurrency", "environment", "secrets",
)  # fmt: skip


def _job(c: _Checker, jid: str, data: Any) -> Job | None:
    path: Path = ("jobs", jid)
    if not _ID.match(jid):
        c.error(path, f"invalid job id {jid!r}: use letters, digits, '-' and '_'")
    if not c.keys(data, path, JOB_KEYS, f"job {jid!r}"):
        return None
    if "uses" not in data and "runs-on" not in data:
        c.error(path, f"job {jid!r} has no 'runs-on'")
    for key in _NOT_WITH_USES:
        if "uses" in data and key in data:
            c.error((*path, key), f"job {jid!r} calls a reusable workflow and cannot have {key!r}")
    if "uses" in data and "steps" in data:
        c.error((*path, "steps"), f"job {jid!r} calls a reusable workflow and cannot have steps")
    if "uses" not in data and not data.get("steps"):
        c.error(path, f"job {jid!r} has no steps")
    for key in _JOB_EXPR_KEYS:
        if key in data:
            c.allowed = _JOB_OUTPUTS_CTX if key == "outputs" else _JOB_CTX
            if key in _NO_SECRETS:
                c.allowed -= {"secrets"}
            env = data[key] if key == "environment" and isinstance(data[key], dict) else {}
            if "url" in env:  # evaluated after the steps: it may read steps, job, runner, env
                c.exprs({k: v for k, v in env.items() if k != "url"}, (*path, key))
                c.allowed = _JOB_OUTPUTS_CTX
                c.exprs(env["url"], (*path, key, "url"))
            else:
                c.exprs(data[key], (*path, key))
    c.allowed = _JOB_IF_CTX
    c.condition(data.get("if"), (*path, "if"))
    c.allowed = _JOB_CTX
    _defaults(c, data.get("defaults"), (*path, "defaults"))
    strategy = None
    if isinstance(data.get("strategy"), dict):
        sd = data["strategy"]
        c.keys(sd, (*path, "strategy"), STRATEGY_KEYS, "strategy")
        c.exprs(sd, (*path, "strategy"))
        m = sd.get("matrix")
        if m is not None and not (isinstance(m, dict) or (isinstance(m, str) and "${{" in m)):
            c.error((*path, "strategy", "matrix"), "'matrix' must be a mapping or an expression")
        strategy = Strategy(sd.get("matrix"), sd.get("fail-fast", True), sd.get("max-parallel"))
    if isinstance(data.get("concurrency"), dict):
        c.keys(data["concurrency"], (*path, "concurrency"), CONCURRENCY_KEYS, "concurrency")
    c.permissions(data.get("permissions"), (*path, "permissions"))
    c.environment(data.get("environment"), (*path, "environment"))
    steps: list[Step] = []
    seen: set[str] = set()
    given_steps = data.get("steps")
    for i, sdata in enumerate(given_steps if isinstance(given_steps, list) else []):
        step = _step(c, (*path, "steps", i), i, sdata)
        if step is None:
            continue
        if step.user_id and step.id in seen:
            c.error((*path, "steps", i, "id"), f"duplicate step id {step.id!r}")
        seen.add(step.id)
        steps.append(step)
    needs = data.get("needs") or []
    return Job(
        id=jid,
        where=c.doc.where(path),
        name=None if data.get("name") is None else str(data["name"]),
        needs=[needs] if isinstance(needs, str) else [str(n) for n in _list(needs)],
        if_=data.get("if"),
        runs_on=data.get("runs-on"),
        env=_mapping(data.get("env")),
        defaults=_mapping(data.get("defaults")),
        outputs=_mapping(data.get("outputs")),
        steps=steps,
        strategy=strategy,
        timeout_minutes=data.get("timeout-minutes", 360),
        timeout_where=c.doc.where((*path, "timeout-minutes")) if "timeout-minutes" in data else "",
        continue_on_error=data.get("continue-on-error", False),
        concurrency=data.get("concurrency"),
        container=data.get("container"),
        services=_mapping(data.get("services")),
        environment=data.get("environment"),
        uses=data.get("uses"),
        with_=_mapping(data.get("with")),
        secrets=data.get("secrets"),
        permissions=data.get("permissions"),
    )


def _step(c: _Checker, path: Path, index: int, data: Any) -> Step | None:
    if not c.keys(data, path, STEP_KEYS, f"step {index + 1}"):
        return None
    if ("run" in data) == ("uses" in data):
        both = [k for k in data if k in ("run", "uses")]
        at = (*path, both[-1]) if both else path
        c.error(at, f"step {index + 1} must have exactly one of 'run' or 'uses'")
    if "id" in data and not _ID.match(str(data["id"])):
        c.error((*path, "id"), f"invalid step id {data['id']!r}")
    if isinstance(data.get("uses"), str) and not _USES.match(data["uses"]):
        c.error((*path, "uses"), f"invalid 'uses' {data['uses']!r}: expected ./path, "
                "docker://image or owner/repo[/path]@ref")  # fmt: skip
    saved, c.allowed = c.allowed, _STEP_CTX
    for key, v in data.items():
        if key != "if":
            c.exprs(v, (*path, key))
    c.allowed = _STEP_CTX - {"secrets"}  # GitHub refuses secrets in if: conditions
    c.condition(data.get("if"), (*path, "if"))
    c.allowed = saved
    uses = data.get("uses")
    run = data.get("run")
    first = next(iter(str(run).strip().splitlines()), "") if run else ""
    name = data.get("name") or (f"Run {first}" if run else f"Run {uses}")
    return Step(
        index=index,
        id=str(data["id"]) if "id" in data else f"__{index}",
        name=str(name),
        where=c.doc.where(path),
        if_=data.get("if"),
        uses=None if uses is None else str(uses),
        run=None if run is None else str(run),
        shell=data.get("shell"),
        working_directory=data.get("working-directory"),
        with_=_mapping(data.get("with")),
        env=_mapping(data.get("env")),
        continue_on_error=data.get("continue-on-error", False),
        timeout_minutes=data.get("timeout-minutes"),
        user_id="id" in data,
        timeout_where=c.doc.where((*path, "timeout-minutes")) if "timeout-minutes" in data else "",
    )


def _list(value: Any) -> list[Any]:
    """``value`` when it is a list; anything else (already reported as an error) is empty."""
    return value if isinstance(value, list) else []
