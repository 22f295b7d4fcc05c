"""Differential test: shipway's GitLab expansion against gitlab-ci-local.

For every pipeline under ``pipelines/`` (written for shipway), gitlab-ci-local's
``--list-json`` (job names, stages, ``when`` after rules, ``allow_failure``,
``needs``) and ``--preview`` (the jobs after include, extends, ``!reference`` and
default) must match shipway's own expansion (``parse_pipeline`` +
``plan_pipeline``) on the same checkout. gitlab-ci-local names parallel jobs
``job: [1/3]`` and matrix jobs ``job: [a,b]``; GitLab (and shipway) name them
``job 1/3`` and ``job: [a, b]``, so the oracle's names are mapped to GitLab's.
The oracle runs for all pipelines at once on a few threads (a session fixture).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from gitlab_oracle import PIPELINES, all_files, changed_files, list_json, make_repo, missing
from gitlab_oracle import preview as oracle_preview

from shipway.ci.gitlab.model import Job, duration
from shipway.ci.gitlab.pipeline import parse_pipeline
from shipway.ci.gitlab.plan import Context, plan_pipeline
from shipway.ci.gitlab.variables import Facts

# Where gitlab-ci-local departs from GitLab's documented behaviour, shipway follows GitLab:
# (pipeline, job, field) -> (GitLab's value, gitlab-ci-local's value, why).
KNOWN_DIFFERENCES: dict[tuple[str, str, str], tuple[Any, Any, str]] = {
    ("27-only-except", "except-main", "when"): (
        "never",
        "on_success",
        "gitlab-ci-local's list ignores except: refs",
    ),
    ("27-only-except", "only-main", "when"): (
        "on_success",
        "on_success",
        "only: [main] on main (same in both)",
    ),
    ("27-only-except", "only-tags", "when"): (
        "never",
        "on_success",
        "gitlab-ci-local's list ignores only: refs",
    ),
    ("28-only-regex", "rel", "when"): (
        "never",
        "on_success",
        "gitlab-ci-local's list ignores only: /regex/",
    ),
    ("34-when-variants", "m", "allow_failure"): (
        True,
        False,
        "GitLab: a manual job outside rules defaults to allow_failure: true",
    ),
}

NAMES = sorted(p.name for p in PIPELINES.iterdir() if (p / ".gitlab-ci.yml").is_file())


def test_there_are_enough_pipelines() -> None:
    assert len(NAMES) >= 40


@pytest.fixture(scope="module")
def oracle_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    why = missing()
    if why:
        pytest.skip(why)
    base = tmp_path_factory.mktemp("gitlab")

    def one(name: str) -> tuple[str, Any]:
        work = make_repo(PIPELINES / name, base / name)
        return name, (work, list_json(work), oracle_preview(work))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, NAMES))


def gitlab_name(name: str) -> str:
    m = re.fullmatch(r"(.*): \[(\d+)/(\d+)\]", name)
    if m:
        return f"{m.group(1)} {m.group(2)}/{m.group(3)}"
    m = re.fullmatch(r"(.*): \[(.*)\]", name)
    if m:
        return f"{m.group(1)}: [{', '.join(m.group(2).split(','))}]"
    return name


def shipway_plan(work: Path) -> Any:
    def read(path: str) -> str | None:
        f = work / path
        return f.read_text() if f.is_file() else None

    files = all_files(work)
    pipe = parse_pipeline(".gitlab-ci.yml", read, files)
    ctx = Context(Facts(sha="0" * 40, ref="main"), files=files, changed=changed_files(work))
    return pipe, plan_pipeline(pipe, ctx)


def _needs(value: Any) -> Any:
    if value is None:
        return None
    return [{"job": n["job"] if isinstance(n, dict) else n,
             "artifacts": n.get("artifacts", True) if isinstance(n, dict) else True,
             "optional": n.get("optional", False) if isinstance(n, dict) else False}
            for n in value]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_list_json_matches(name: str, oracle_results: dict[str, Any]) -> None:
    work, theirs, _ = oracle_results[name]
    _pipe, plan = shipway_plan(work)
    mine = [{"name": p.job.name, "stage": p.job.stage, "when": p.when,
             "allow_failure": p.allow_failure,
             "needs": _needs([n.__dict__ for n in p.needs]) if p.needs is not None else None}
            for p in plan.jobs]  # fmt: skip
    expected = [{"name": gitlab_name(str(j["name"])), "stage": j["stage"], "when": j["when"],
                 "allow_failure": bool(j["allow_failure"]), "needs": _needs(j.get("needs"))}
                for j in theirs]  # fmt: skip
    for (pipeline, job, field), (gitlab, local, why) in KNOWN_DIFFERENCES.items():
        if pipeline != name:
            continue
        mine_job = next(d for d in mine if d["name"] == job)
        their_job = next(d for d in expected if d["name"] == job)
        assert (mine_job[field], their_job[field]) == (gitlab, local), why
        their_job[field] = gitlab
    key = lambda d: d["name"]  # noqa: E731
    assert sorted(mine, key=key) == sorted(expected, key=key)


def _flat(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    out: list[str] = []
    for x in v:
        out.extend(_flat(x) if isinstance(x, list) else [str(x)])
    return out


def _image(v: Any) -> str | None:
    return v if isinstance(v, str) or v is None else v.get("name")


def _job_view(job: Job) -> dict[str, Any]:
    return {
        "script": job.script, "before_script": job.before_script,
        "after_script": job.after_script, "image": job.image["name"] if job.image else None,
        "services": [s["name"] for s in job.services],
        "variables": {k: v for k, v in job.variables.items() if k not in job.matrix},
        "stage": job.stage, "when": job.when,
        "needs": _needs([n.__dict__ for n in job.needs]) if job.needs is not None else None,
        "artifacts": (job.artifacts or {}).get("paths"),
        "cache": [(c["key"], c.get("paths"), c["policy"]) for c in job.cache],
        "timeout": job.timeout, "environment": (job.environment or {}).get("name"),
        "resource_group": job.resource_group, "interruptible": job.interruptible,
        "retry": job.retry.max,
    }  # fmt: skip


def _oracle_view(d: dict[str, Any]) -> dict[str, Any]:
    env = d.get("environment")
    retry = d.get("retry", 0)
    caches = d.get("cache") or []
    caches = caches if isinstance(caches, list) else [caches]
    return {
        "script": _flat(d.get("script")), "before_script": _flat(d.get("before_script")),
        "after_script": _flat(d.get("after_script")), "image": _image(d.get("image")),
        "services": [_image(s) for s in d.get("services") or []],
        "variables": {k: str(v) for k, v in (d.get("variables") or {}).items()},
        "stage": d.get("stage", "test"), "when": d.get("when", "on_success"),
        "needs": _needs(d.get("needs")), "artifacts": (d.get("artifacts") or {}).get("paths"),
        "cache": [(c.get("key", "default"), c.get("paths"), c.get("policy", "pull-push"))
                  for c in caches],
        "timeout": duration(d["timeout"]) if "timeout" in d else None,
        "environment": env.get("name") if isinstance(env, dict) else env,
        "resource_group": d.get("resource_group"), "interruptible": d.get("interruptible") is True,
        "retry": retry.get("max", 0) if isinstance(retry, dict) else retry,
    }  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_preview_matches(name: str, oracle_results: dict[str, Any]) -> None:
    work, _, theirs = oracle_results[name]
    pipe, _plan = shipway_plan(work)
    assert theirs["stages"] == pipe.stages
    assert {k: str(v) for k, v in (theirs.get("variables") or {}).items()} == pipe.variables
    reserved = {"stages", "variables", "default", "workflow", "include"}
    their_jobs = {k: v for k, v in theirs.items() if k not in reserved and not k.startswith(".")}
    assert sorted(their_jobs) == sorted(pipe.instances)
    for key, names in pipe.instances.items():
        assert _job_view(pipe.jobs[names[0]]) == _oracle_view(their_jobs[key]), key
