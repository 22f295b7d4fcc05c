"""Parse ``.gitlab-ci.yml`` into ``model.Pipeline``: every job as GitLab expands it.

Pure: ``parse_pipeline(file, read, files)`` loads the file and its ``include:
local`` files through ``read``, resolves ``!reference``, ``extends`` and
``default``, expands ``parallel``/``parallel: matrix`` into GitLab's job names,
and checks the result (a script in every job, known stages, needs that exist and
form no cycle). Every problem is raised at once as one ``InputError`` whose
subject is the first ``file:line:col`` (each further one on its own line).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from shipway.ci.gitlab import check
from shipway.ci.gitlab.expand import (
    apply_default,
    inherit_variables,
    resolve_extends,
    resolve_references,
)
from shipway.ci.gitlab.model import (
    DEFAULT_STAGES,
    Job,
    Need,
    Pipeline,
    Retry,
    duration,
    matrix_names,
)
from shipway.ci.gitlab.source import Problems, Reader, Source, load
from shipway.ci.plan.dag import find_cycle

MAX_MATRIX = 200


def parse_pipeline(file: str, read: Reader, files: Sequence[str] = ()) -> Pipeline:
    problems = Problems()
    src = load(file, read, problems, files)
    check.check_top(src, problems)
    job_keys = [k for k in src.data if k not in check.GLOBAL_KEYS]
    for key in job_keys:
        if not key.startswith("."):
            check.check_job(src, key, problems)
    resolve_references(src, problems)
    raw = {k: src.data[k] for k in job_keys if isinstance(src.data[k], dict)}
    resolve_extends(src, raw, problems)
    stages = _stages(src)
    default = _default(src)
    top_vars = variables_of(src.data.get("variables"))
    top_raw = raw_names(src.data.get("variables"))
    pipe = Pipeline(file=file, stages=stages, variables=top_vars, jobs={},
                    workflow=src.data.get("workflow") if isinstance(src.data.get("workflow"),
                                                                    dict) else None)  # fmt: skip
    for key, body in raw.items():
        if key.startswith("."):
            continue
        merged = apply_default(body, default)
        pipe.expanded[key] = merged
        where = src.where(key)
        if not any(k in merged for k in ("script", "run", "trigger")):
            problems.add(where, f"jobs:{key} config should implement the script:, run:, or "
                                "trigger: keyword")  # fmt: skip
        stage = merged.get("stage", "test")
        if isinstance(stage, str) and stage not in stages:
            problems.add(src.where(key, "stage") if "stage" in src.data[key] else where,
                         f"jobs:{key} chosen stage {stage} does not exist; available stages "
                         f"are {', '.join(stages)}")  # fmt: skip
        names = []
        for job in _instances(key, where, merged, inherit_variables(merged, top_vars),
                              problems):  # fmt: skip
            job.raw_variables |= top_raw
            pipe.jobs[job.name] = job
            names.append(job.name)
        pipe.instances[key] = names
    _check_needs(src, pipe, problems)
    problems.raise_any()
    return pipe


def _stages(src: Source) -> list[str]:
    given = src.data.get("stages")
    stages = [s for s in given if isinstance(s, str)] if isinstance(given, list) else None
    stages = list(DEFAULT_STAGES) if stages is None else stages
    return [".pre", *[s for s in stages if s not in (".pre", ".post")], ".post"]


def _default(src: Source) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("image", "services", "cache", "before_script", "after_script"):
        if key in src.data:  # the deprecated global forms of default:
            out[key] = src.data[key]
    default = src.data.get("default")
    if isinstance(default, dict):
        out.update(default)
    return out


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def variables_of(value: Any) -> dict[str, str]:
    """``variables:`` as name -> text (``{value: ...}`` forms reduced to their value)."""
    if not isinstance(value, dict):
        return {}
    out = {}
    for k, v in value.items():
        out[str(k)] = _text(v.get("value")) if isinstance(v, dict) else _text(v)
    return out


def raw_names(*values: Any) -> frozenset[str]:
    """Variables declared with ``expand: false``."""
    return frozenset(str(k) for value in values if isinstance(value, dict)
                     for k, v in value.items()
                     if isinstance(v, dict) and v.get("expand") is False)  # fmt: skip


def _flatten(script: Any) -> list[str]:
    if script is None:
        return []
    if isinstance(script, str):
        return [script]
    out: list[str] = []
    for item in script if isinstance(script, list) else []:
        out.extend(_flatten(item) if isinstance(item, list) else [_text(item)])
    return out


def _image(v: Any) -> dict[str, Any] | None:
    if isinstance(v, str):
        return {"name": v}
    if isinstance(v, dict) and isinstance(v.get("name"), str):
        return dict(v)
    return None


def need_of(n: dict[str, Any]) -> Need:
    par = n.get("parallel")
    matrix = par.get("matrix") if isinstance(par, dict) else None
    names = tuple(matrix_names(str(n["job"]), matrix)) if matrix is not None else None
    return Need(str(n["job"]), bool(n.get("artifacts", True)), bool(n.get("optional")), names)


def _needs(v: Any) -> list[Need] | None:
    if not isinstance(v, list):
        return None
    out = []
    for n in v:
        if isinstance(n, str):
            out.append(Need(n))
        elif isinstance(n, dict) and isinstance(n.get("job"), str):
            out.append(need_of(n))
    return out


def _retry(v: Any) -> Retry:
    if isinstance(v, int) and not isinstance(v, bool):
        return Retry(max=v)
    if isinstance(v, dict):
        whens = v.get("when", ["always"])
        codes = v.get("exit_codes", [])
        whens = whens if isinstance(whens, list) else [whens]
        codes = codes if isinstance(codes, list) else [codes]
        return Retry(max=int(v.get("max", 0) or 0), when=[str(w) for w in whens],
                     exit_codes=[int(c) for c in codes])  # fmt: skip
    return Retry()


def _cache(v: Any) -> list[dict[str, Any]]:
    items = v if isinstance(v, list) else [v] if isinstance(v, dict) else []
    out = []
    for c in items:
        if isinstance(c, dict):
            key = c.get("key", "default")
            out.append({**c, "key": key if isinstance(key, str | dict) else _text(key),
                        "policy": c.get("policy", "pull-push"),
                        "when": c.get("when", "on_success")})  # fmt: skip
    return out


def _base_job(key: str, where: str, d: dict[str, Any], top_vars: dict[str, str]) -> Job:
    af = d.get("allow_failure")
    env = d.get("environment")
    return Job(
        name=key, key=key, where=where, stage=_text(d.get("stage", "test")),
        script=_flatten(d.get("script")), before_script=_flatten(d.get("before_script")),
        after_script=_flatten(d.get("after_script")), image=_image(d.get("image")),
        services=[s for s in map(_image, d.get("services") or []) if s is not None],
        variables=variables_of(d.get("variables")), global_variables=top_vars,
        raw_variables=raw_names(d.get("variables")),
        rules=d["rules"] if isinstance(d.get("rules"), list) else None,
        only=_filter(d.get("only")), except_=_filter(d.get("except")),
        when=_text(d.get("when", "on_success")), start_in=d.get("start_in"),
        allow_failure=af if isinstance(af, bool) else (True if isinstance(af, dict) else None),
        allow_exit_codes=_codes(af), needs=_needs(d.get("needs")),
        dependencies=list(d["dependencies"]) if isinstance(d.get("dependencies"), list) else None,
        artifacts=d.get("artifacts") if isinstance(d.get("artifacts"), dict) else None,
        cache=_cache(d.get("cache")), retry=_retry(d.get("retry")),
        timeout=duration(d["timeout"]) if "timeout" in d else None,
        interruptible=d.get("interruptible") is True,
        resource_group=rg if isinstance(rg := d.get("resource_group"), str) else None,
        environment={"name": env} if isinstance(env, str) else env if isinstance(env, dict)
        else None,
    )  # fmt: skip


def _codes(af: Any) -> list[int]:
    if isinstance(af, dict):
        codes = af.get("exit_codes", [])
        return [int(c) for c in (codes if isinstance(codes, list) else [codes])]
    return []


def _filter(v: Any) -> dict[str, Any] | None:
    if isinstance(v, list):
        return {"refs": v}
    return dict(v) if isinstance(v, dict) else None


def _instances(key: str, where: str, d: dict[str, Any], top_vars: dict[str, str],
               problems: Problems) -> list[Job]:  # fmt: skip
    par = d.get("parallel")
    if isinstance(par, int) and not isinstance(par, bool) and par > 1:
        jobs = []
        for i in range(1, par + 1):
            job = _base_job(key, where, d, top_vars)
            job.name, job.node_index, job.node_total = f"{key} {i}/{par}", i, par
            jobs.append(job)
        return jobs
    if isinstance(par, dict) and isinstance(par.get("matrix"), list):
        combos: list[dict[str, str]] = []
        for entry in par["matrix"]:
            if not isinstance(entry, dict):
                continue
            axes = [[_text(x) for x in (v if isinstance(v, list) else [v])]
                    for v in entry.values()]  # fmt: skip
            for values in itertools.product(*axes):
                combos.append(dict(zip(entry.keys(), values, strict=True)))
        if len(combos) > MAX_MATRIX:
            problems.add(where, f"jobs:{key}:parallel:matrix config generates too many jobs "
                                f"(maximum is {MAX_MATRIX})")  # fmt: skip
            combos = combos[:MAX_MATRIX]
        jobs = []
        for i, combo in enumerate(combos, 1):
            job = _base_job(key, where, d, top_vars)
            job.name = f"{key}: [{', '.join(combo.values())}]"
            job.node_index, job.node_total, job.matrix = i, len(combos), combo
            job.variables = {**job.variables, **combo}
            jobs.append(job)
        return jobs
    job = _base_job(key, where, d, top_vars)
    if par == 1:
        job.node_index, job.node_total = 1, 1
    return [job]


def _check_needs(src: Source, pipe: Pipeline, problems: Problems) -> None:
    edges: dict[str, list[str]] = {}
    for key in pipe.instances:
        raw_needs = pipe.expanded[key].get("needs")
        job = pipe.jobs[pipe.instances[key][0]] if pipe.instances[key] else None
        if job is None or job.needs is None:
            continue
        own = "needs" in (src.data.get(key) or {})
        for i, need in enumerate(job.needs):
            at = src.where(key, "needs", i) if own else src.where(key)
            if need.job not in pipe.instances:
                if not need.optional:
                    problems.add(at, f"{key} job: undefined need: {need.job}")
                continue
            if need.matrix is not None and not need.names(pipe.instances):
                problems.add(at, f"{key} job: need {need.job} names no instance of its "
                                 "parallel: matrix")  # fmt: skip
            edges.setdefault(key, []).append(need.job)
            mine = pipe.stages.index(job.stage) if job.stage in pipe.stages else 0
            other = pipe.jobs[pipe.instances[need.job][0]].stage
            if other in pipe.stages and pipe.stages.index(other) > mine:
                problems.add(at, f"{key} job: need {need.job} is not defined in current or "
                                 "prior stages")  # fmt: skip
        if isinstance(raw_needs, list) and len(raw_needs) > 50:
            problems.add(src.where(key, "needs"), f"{key} job: more than 50 needs")
    cycle = find_cycle(edges)
    if cycle:
        problems.add(src.where(cycle[0], "needs"),
                     f"needs form a cycle: {' -> '.join(cycle)}")  # fmt: skip
