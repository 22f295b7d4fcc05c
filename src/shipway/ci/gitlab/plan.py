"""Decide, for one commit, which jobs of a GitLab pipeline run and how.

Pure. ``plan_pipeline(pipe, ctx)`` evaluates ``workflow:rules``, then each job's
``rules`` (``if``, ``changes``, ``exists``; the first rule that matches decides
``when``, ``allow_failure``, ``variables``, ``needs`` and ``interruptible``; no
match: the job is not added) or ``only``/``except`` (refs, variables, changes; default ``only:
[branches, tags]``). ``changes`` is true when the changed files are unknown (a
new branch), as GitLab does on push pipelines. The result lists every job with
its ``when`` (``never`` for jobs not added) in stage order, and the pipeline's
``workflow:auto_cancel:on_new_commit`` mode (``ci.gitlab.autocancel``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shipway.ci.gitlab import autocancel, expr
from shipway.ci.gitlab.model import Job, Need, Pipeline
from shipway.ci.gitlab.pipeline import need_of
from shipway.ci.gitlab.variables import Facts, pipeline_vars, resolve


@dataclass(frozen=True)
class Context:
    facts: Facts
    files: Sequence[str] = ()  # every file of the checkout (for exists:)
    changed: Sequence[str] | None = None  # None: unknown (changes: is true)
    variables: Mapping[str, str] = field(default_factory=dict)  # pipeline variables


@dataclass
class Planned:
    job: Job
    when: str
    allow_failure: bool
    rule_variables: dict[str, str] = field(default_factory=dict)
    needs: list[Need] | None = None
    interruptible: bool = False  # the job's, or its matching rule's ``interruptible``


@dataclass
class Plan:
    created: bool  # workflow:rules let the pipeline be created
    jobs: list[Planned]
    variables: dict[str, str]  # what rules:if saw
    errors: list[str] = field(default_factory=list)  # "file:line:col: reason", GitLab refuses
    auto_cancel: str = autocancel.DEFAULT  # workflow:auto_cancel:on_new_commit, as it applies
    cancel_on_failure: bool = False  # workflow:auto_cancel:on_job_failure: all


def glob_regex(pattern: str) -> re.Pattern[str]:
    """GitLab's ``changes``/``exists`` globs: ``*``, ``?``, ``**`` across directories, ``{a,b}``."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
            continue
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "{":
            end = pattern.find("}", i)
            if end > 0:
                out += "(?:" + "|".join(map(re.escape, pattern[i + 1 : end].split(","))) + ")"
                i = end + 1
                continue
            out += re.escape(c)
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z")


def _globs(value: Any) -> list[str]:
    if isinstance(value, dict):
        value = value.get("paths", [])
    return [str(v) for v in value] if isinstance(value, list) else []


def _any_match(patterns: list[str], files: Sequence[str], env: Mapping[str, str]) -> bool:
    for p in patterns:
        rx = glob_regex(expr.expand(p, env).lstrip("/"))
        if any(rx.match(f) for f in files):
            return True
    return False


def _rule_matches(rule: Mapping[str, Any], env: Mapping[str, str], ctx: Context) -> bool:
    if "if" in rule and not expr.evaluate(expr.parse(str(rule["if"])), env):
        return False
    if (
        "changes" in rule
        and ctx.changed is not None
        and not _any_match(_globs(rule["changes"]), ctx.changed, env)
    ):
        return False
    return not ("exists" in rule and not _any_match(_globs(rule["exists"]), ctx.files, env))


def _first_rule(rules: list[Any], env: Mapping[str, str], ctx: Context) -> Mapping[str, Any] | None:
    for rule in rules:
        if isinstance(rule, dict) and _rule_matches(rule, env, ctx):
            return rule
    return None


_KEYWORD_REFS = {"branches", "tags", "merge_requests", "pushes", "web", "schedules", "api",
                 "triggers", "pipelines", "external", "chat"}  # fmt: skip


def _ref_matches(ref: str, facts: Facts) -> bool:
    if ref == "branches":
        return not facts.tag
    if ref == "tags":
        return facts.tag
    if ref in ("pushes", "push"):
        return facts.source == "push"
    if ref in _KEYWORD_REFS:
        return facts.source == ref.rstrip("s") or facts.source == ref
    if len(ref) > 1 and ref.startswith("/") and ref.rstrip("i").endswith("/"):
        flags = re.I if ref.endswith("i") else 0
        return re.search(ref.rstrip("i")[1:-1], facts.ref, flags) is not None
    return ref == facts.ref


def _filter_matches(f: Mapping[str, Any], env: Mapping[str, str], ctx: Context) -> bool:
    """``only``/``except``: every given part (refs, variables, changes) must match."""
    refs = f.get("refs")
    if refs is not None and not any(_ref_matches(str(r), ctx.facts) for r in refs):
        return False
    exprs = f.get("variables")
    if exprs is not None and not any(expr.evaluate(expr.parse(str(e)), env) for e in exprs):
        return False
    changes = f.get("changes")
    return changes is None or ctx.changed is None or _any_match(_globs(changes), ctx.changed, env)


def _vars(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): "" if v is None else str(v.get("value") if isinstance(v, dict) else v)
            for k, v in value.items()}  # fmt: skip


def plan_pipeline(pipe: Pipeline, ctx: Context) -> Plan:
    base = {**pipeline_vars(ctx.facts), **pipe.variables}
    env = resolve({**base, **ctx.variables})
    created, rule = True, None
    if pipe.workflow and isinstance(pipe.workflow.get("rules"), list):
        rule = _first_rule(pipe.workflow["rules"], env, ctx)
        created = rule is not None and rule.get("when", "always") != "never"
        if rule is not None:
            env = resolve({**base, **_vars(rule.get("variables")), **ctx.variables})
    jobs: list[Planned] = []
    for job in pipe.jobs.values():
        job_env = resolve(
            {**env, **job.global_variables, **job.variables, **ctx.variables}, job.raw_variables
        )
        jobs.append(_plan_job(job, job_env, ctx))
    order = {s: i for i, s in enumerate(pipe.stages)}
    jobs.sort(key=lambda p: order.get(p.job.stage, 0))  # stable: file order within a stage
    return Plan(created=created, jobs=jobs if created else [], variables=env,
                errors=_missing_needs(pipe, jobs) if created else [],
                auto_cancel=autocancel.mode_of(pipe.workflow, rule),
                cancel_on_failure=autocancel.on_job_failure(pipe.workflow, rule))  # fmt: skip


def _missing_needs(pipe: Pipeline, jobs: list[Planned]) -> list[str]:
    """GitLab refuses a pipeline where an added job needs a job the rules left out."""
    added = {p.job.name for p in jobs if p.when != "never"}
    out = []
    for p in jobs:
        if p.when == "never" or p.needs is None:
            continue
        for need in p.needs:
            names = need.names(pipe.instances)
            if not need.optional and not any(n in added for n in names):
                out.append(f"{p.job.where}: '{p.job.name}' job needs '{need.job}' job, but "
                           f"'{need.job}' is not in any previous stage")  # fmt: skip
    return list(dict.fromkeys(out))


def _default_allow(when: str) -> bool:
    return when == "manual"


def _plan_job(job: Job, env: Mapping[str, str], ctx: Context) -> Planned:
    if job.rules is not None:
        rule = _first_rule(job.rules, env, ctx)
        if rule is None:
            return Planned(job, "never", bool(job.allow_failure), needs=job.needs,
                           interruptible=job.interruptible)  # fmt: skip
        when = str(rule.get("when", job.when))
        af = rule.get("allow_failure", job.allow_failure)
        allow = bool(af) if af is not None else (_default_allow(when) and "when" not in rule)
        needs = job.needs
        if isinstance(rule.get("needs"), list):
            needs = [Need(n) if isinstance(n, str) else need_of(n)
                     for n in rule["needs"] if isinstance(n, str) or (isinstance(n, dict)
                     and isinstance(n.get("job"), str))]  # fmt: skip
        ir = rule.get("interruptible")
        return Planned(job, when, allow, _vars(rule.get("variables")), needs,
                       ir if isinstance(ir, bool) else job.interruptible)  # fmt: skip
    only = job.only if job.only is not None else {"refs": ["branches", "tags"]}
    added = _filter_matches(only, env, ctx)
    if added and job.except_ is not None:
        added = not _filter_matches(job.except_, env, ctx)
    allow = job.allow_failure if job.allow_failure is not None else _default_allow(job.when)
    return Planned(
        job, job.when if added else "never", allow, needs=job.needs, interruptible=job.interruptible
    )
