"""GitLab's expansion of job definitions: ``!reference``, ``extends`` and ``default``.

Pure. ``!reference [job, key, ...]`` is replaced by the value it names (nested
references up to 10 deep; a reference inside a list whose value is a list is
spliced in, as GitLab does in scripts). ``extends`` merges parents first, up to
11 levels: hashes are merged deeply, everything else (arrays too) replaced by
the child. ``default`` keys are copied into a job that lacks them unless the
job's ``inherit: default`` says otherwise. Problems go to ``source.Problems``.
"""

from __future__ import annotations

from typing import Any

from shipway.ci.gitlab.source import Problems, Ref, Source

MAX_EXTENDS = 11
MAX_REFERENCE_DEPTH = 10
DEFAULT_KEYS = (
    "after_script", "artifacts", "before_script", "cache", "hooks", "id_tokens", "image",
    "interruptible", "retry", "services", "tags", "timeout",
)  # fmt: skip


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``extends``' merge: hashes deeply, anything else replaced by ``over``."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def resolve_references(src: Source, problems: Problems) -> None:
    """Replace every ``Ref`` in ``src.data`` by what it names."""
    for key in list(src.data):
        src.data[key] = _resolve(src, src.data[key], problems, 0)


def _lookup(src: Source, ref: Ref, problems: Problems, depth: int) -> Any:
    if not ref.path:
        problems.add(ref.where, "!reference needs at least a job name")
        return None
    if depth >= MAX_REFERENCE_DEPTH:
        problems.add(ref.where, f"!reference nested deeper than {MAX_REFERENCE_DEPTH} levels")
        return None
    value: Any = src.data
    for i, part in enumerate(ref.path):
        if isinstance(value, Ref):
            value = _lookup(src, value, problems, depth + 1)
        if not isinstance(value, dict) or part not in value:
            shown = ", ".join(ref.path[: i + 1])
            problems.add(ref.where, f"!reference [{shown}] could not be found")
            return None
        value = value[part]
    return _resolve(src, value, problems, depth + 1)


def _resolve(src: Source, value: Any, problems: Problems, depth: int) -> Any:
    if isinstance(value, Ref):
        return _lookup(src, value, problems, depth)
    if isinstance(value, dict):
        return {k: _resolve(src, v, problems, depth) for k, v in value.items()}
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            if isinstance(item, Ref):
                got = _lookup(src, item, problems, depth)
                if isinstance(got, list):
                    out.extend(got)  # scripts splice a referenced list in place
                elif got is not None:
                    out.append(got)
            else:
                out.append(_resolve(src, item, problems, depth))
        return out
    return value


def resolve_extends(src: Source, jobs: dict[str, dict[str, Any]], problems: Problems) -> None:
    """Merge each job's ``extends`` chain into it (in place)."""
    done: dict[str, dict[str, Any]] = {}
    for name in list(jobs):
        jobs[name] = _extended(src, name, jobs, done, problems, [])


def _parents(src: Source, name: str, job: dict[str, Any], problems: Problems) -> list[str]:
    value = job.get("extends")
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    problems.add(src.where(name, "extends"), "extends must be a job name or a list of names")
    return []


def _extended(src: Source, name: str, jobs: dict[str, dict[str, Any]],
              done: dict[str, dict[str, Any]], problems: Problems,
              chain: list[str]) -> dict[str, Any]:  # fmt: skip
    if name in done:
        return done[name]
    job = jobs[name]
    merged: dict[str, Any] = {}
    for i, parent in enumerate(_parents(src, name, job, problems)):
        at = src.where(name, "extends", i) if isinstance(job.get("extends"), list) else \
            src.where(name, "extends")  # fmt: skip
        if parent not in jobs:
            problems.add(at, f"{name}: unknown key in extends: {parent!r}")
            continue
        if parent in chain or parent == name:
            problems.add(at, f"{name}: circular dependency detected in extends")
            continue
        if len(chain) + 1 >= MAX_EXTENDS:
            problems.add(at, f"{name}: extends nesting too deep (at most {MAX_EXTENDS} levels)")
            continue
        merged = deep_merge(merged, _extended(src, parent, jobs, done, problems,
                                              [*chain, name]))  # fmt: skip
    result = deep_merge(merged, job)
    result.pop("extends", None)
    done[name] = result
    return result


def apply_default(job: dict[str, Any], default: dict[str, Any]) -> dict[str, Any]:
    """Copy ``default`` keys the job lacks, as its ``inherit: default`` allows."""
    inherit = job.get("inherit")
    allowed: Any = True
    if isinstance(inherit, dict) and "default" in inherit:
        allowed = inherit["default"]
    out = dict(job)
    for key, value in default.items():
        if key in out:
            continue
        if allowed is False or (isinstance(allowed, list) and key not in allowed):
            continue
        out[key] = value
    return out


def inherit_variables(job: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """The top-level variables a job sees (``inherit: variables``), lowest precedence."""
    inherit = job.get("inherit")
    allowed: Any = True
    if isinstance(inherit, dict) and "variables" in inherit:
        allowed = inherit["variables"]
    if allowed is False:
        return {}
    if isinstance(allowed, list):
        return {k: v for k, v in top.items() if k in allowed}
    return dict(top)
