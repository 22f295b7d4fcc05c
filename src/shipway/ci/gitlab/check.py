"""Check the keywords of ``.gitlab-ci.yml`` as GitLab's linter does, before anything runs.

Pure: looks at the merged top level (``source.Source``) and reports each
problem with ``file:line:col`` into ``source.Problems``: unknown keywords, wrong
types, bad ``when``/``retry``/``timeout``/``parallel`` values, and ``rules:if``
expressions that do not parse. Checks on the expanded jobs (script present,
stage known, needs) are ``pipeline``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipway.ci.gitlab import expr
from shipway.ci.gitlab.model import JOB_WHENS, WHENS, duration
from shipway.ci.gitlab.source import Problems, Ref, Source

GLOBAL_KEYS = frozenset(
    [
        "default",
        "include",
        "stages",
        "variables",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "spec",
    ]
)
JOB_KEYS = frozenset(
    [
        "after_script",
        "allow_failure",
        "artifacts",
        "before_script",
        "cache",
        "coverage",
        "dast_configuration",
        "dependencies",
        "environment",
        "except",
        "extends",
        "hooks",
        "id_tokens",
        "identity",
        "image",
        "inherit",
        "interruptible",
        "manual_confirmation",
        "needs",
        "only",
        "pages",
        "parallel",
        "release",
        "resource_group",
        "retry",
        "rules",
        "run",
        "script",
        "secrets",
        "services",
        "stage",
        "start_in",
        "tags",
        "timeout",
        "trigger",
        "variables",
        "when",
    ]
)
DEFAULT_KEYS = frozenset(
    [
        "after_script",
        "artifacts",
        "before_script",
        "cache",
        "hooks",
        "id_tokens",
        "image",
        "interruptible",
        "retry",
        "services",
        "tags",
        "timeout",
    ]
)
RULE_KEYS = frozenset(
    ["if", "changes", "exists", "when", "allow_failure", "variables", "needs", "interruptible"]
)
RETRY_WHENS = frozenset(
    [
        "always",
        "unknown_failure",
        "script_failure",
        "api_failure",
        "stuck_or_timeout_failure",
        "runner_system_failure",
        "runner_unsupported",
        "stale_schedule",
        "job_execution_timeout",
        "archived_failure",
        "unmet_prerequisites",
        "scheduler_failure",
        "data_integrity_failure",
    ]
)

Checker = Callable[[Any], str | None]


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _script(v: Any) -> str | None:
    if isinstance(v, str):
        return None
    if isinstance(v, list) and all(isinstance(x, str | list | Ref) for x in v):
        return None
    return "should be a string or a nested array of strings up to 10 levels deep"


def _image(v: Any) -> str | None:
    if isinstance(v, str) or (isinstance(v, dict) and isinstance(v.get("name"), str)):
        return None
    return "should be a string or a mapping with name:"


def _services(v: Any) -> str | None:
    if not isinstance(v, list):
        return "should be an array of images"
    for s in v:
        if _image(s) is not None:
            return "each service should be a string or a mapping with name:"
    return None


def _variables(v: Any) -> str | None:
    if not isinstance(v, dict):
        return "should be a hash of key value pairs"
    for k, val in v.items():
        if isinstance(val, dict):
            extra = set(val) - {"value", "description", "expand", "options"}
            if extra:
                return f"variable {k!r} has unknown keys: {', '.join(sorted(extra))}"
        elif not isinstance(val, str | int | float | bool) and val is not None:
            return f"variable {k!r} should be a string or a number"
    return None


def _when(allowed: tuple[str, ...]) -> Checker:
    def check(v: Any) -> str | None:
        return None if v in allowed else f"should be one of: {', '.join(allowed)}"

    return check


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "should be a boolean value"


def _allow_failure(v: Any) -> str | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, dict) and set(v) == {"exit_codes"}:
        codes = v["exit_codes"]
        codes = codes if isinstance(codes, list) else [codes]
        if all(isinstance(c, int) and not isinstance(c, bool) for c in codes):
            return None
    return "should be a boolean or a hash with exit_codes: (integers)"


def _retry(v: Any) -> str | None:
    if isinstance(v, int) and not isinstance(v, bool):
        return None if 0 <= v <= 2 else "should be an integer between 0 and 2"
    if not isinstance(v, dict):
        return "should be an integer or a hash"
    extra = set(v) - {"max", "when", "exit_codes"}
    if extra:
        return f"has unknown keys: {', '.join(sorted(extra))}"
    if "max" in v and (not isinstance(v["max"], int) or not 0 <= v["max"] <= 2):
        return "max should be an integer between 0 and 2"
    whens = v.get("when", [])
    whens = whens if isinstance(whens, list) else [whens]
    bad = [w for w in whens if w not in RETRY_WHENS]
    if bad:
        return f"when has unknown failure types: {', '.join(map(str, bad))}"
    return None


def _duration(v: Any) -> str | None:
    return None if duration(v) is not None else "should be a duration (e.g. 1h 30m)"


def _parallel(v: Any) -> str | None:
    if isinstance(v, int) and not isinstance(v, bool):
        return None if 1 <= v <= 200 else "should be an integer between 1 and 200"
    if isinstance(v, dict) and set(v) == {"matrix"} and isinstance(v["matrix"], list):
        for entry in v["matrix"]:
            if not isinstance(entry, dict) or not entry:
                return "matrix entries should be hashes of variables"
        return None
    return "should be an integer or a hash with matrix:"


def _needs(v: Any) -> str | None:
    if not isinstance(v, list):
        return "should be an array of job names or hashes"
    for n in v:
        if isinstance(n, str):
            continue
        if not isinstance(n, dict) or not isinstance(n.get("job", n.get("pipeline")), str):
            return "each need should be a job name or a hash with job:"
        extra = set(n) - {"job", "artifacts", "optional", "parallel", "pipeline", "project", "ref"}
        if extra:
            return f"need has unknown keys: {', '.join(sorted(extra))}"
    return None


def _artifacts(v: Any) -> str | None:
    if not isinstance(v, dict):
        return "should be a hash"
    known = {"paths", "exclude", "expire_in", "expose_as", "name", "public", "reports",
             "untracked", "when", "access"}  # fmt: skip
    extra = set(v) - known
    if extra:
        return f"has unknown keys: {', '.join(sorted(extra))}"
    if "paths" in v and not (isinstance(v["paths"], list) and all(map(_is_str, v["paths"]))):
        return "paths should be an array of strings"
    return None


def _cache(v: Any) -> str | None:
    items = v if isinstance(v, list) else [v]
    known = {"key", "paths", "untracked", "policy", "when", "unprotect", "fallback_keys"}
    for c in items:
        if not isinstance(c, dict):
            return "should be a hash or an array of hashes"
        extra = set(c) - known
        if extra:
            return f"has unknown keys: {', '.join(sorted(extra))}"
    return None


def _environment(v: Any) -> str | None:
    if isinstance(v, str) or (isinstance(v, dict) and isinstance(v.get("name"), str)):
        return None
    return "should be a string or a hash with name:"


def _str(v: Any) -> str | None:
    return None if isinstance(v, str) else "should be a string"


def _str_list(v: Any) -> str | None:
    if isinstance(v, str) or (isinstance(v, list) and all(map(_is_str, v))):
        return None
    return "should be a string or an array of strings"


def _refs_filter(v: Any) -> str | None:
    if isinstance(v, list) and all(map(_is_str, v)):
        return None
    if isinstance(v, dict) and not set(v) - {"refs", "variables", "changes", "kubernetes"}:
        return None
    return "should be an array of refs or a hash with refs/variables/changes"


def _any(_v: Any) -> str | None:
    return None


_JOB_CHECKS: dict[str, Checker] = {
    "script": _script, "before_script": _script, "after_script": _script, "image": _image,
    "services": _services, "variables": _variables, "when": _when(JOB_WHENS),
    "allow_failure": _allow_failure, "retry": _retry, "timeout": _duration,
    "start_in": _duration, "parallel": _parallel, "needs": _needs, "artifacts": _artifacts,
    "cache": _cache, "environment": _environment, "stage": _str, "resource_group": _str,
    "interruptible": _bool, "extends": _str_list, "dependencies": _str_list,
    "only": _refs_filter, "except": _refs_filter, "tags": _str_list,
}  # fmt: skip


def check_top(src: Source, problems: Problems) -> None:
    """The global keywords, ``default`` and ``workflow``."""
    data = src.data
    stages = data.get("stages")
    if stages is not None and not (isinstance(stages, list) and all(map(_is_str, stages))):
        problems.add(src.where("stages"), "stages config should be an array of strings")
    if "variables" in data and (msg := _variables(data["variables"])):
        problems.add(src.where("variables"), f"variables config {msg}")
    default = data.get("default")
    if default is not None:
        if not isinstance(default, dict):
            problems.add(src.where("default"), "default config should be a hash")
        else:
            for key, value in default.items():
                if key not in DEFAULT_KEYS:
                    problems.add(src.where("default", key),
                                 f"default config contains unknown keys: {key}")  # fmt: skip
                elif (check := _JOB_CHECKS.get(key)) and (msg := check(value)):
                    problems.add(src.where("default", key), f"default:{key} config {msg}")
    workflow = data.get("workflow")
    if isinstance(workflow, dict):
        _check_rules(src, "workflow", workflow.get("rules"), problems, ("workflow", "rules"))
        _check_auto_cancel(src, workflow, problems, ("workflow",))
        for i, rule in enumerate(workflow.get("rules") or []):
            if isinstance(rule, dict):
                _check_auto_cancel(src, rule, problems, ("workflow", "rules", i))


AUTO_CANCEL = {"on_new_commit": ("conservative", "interruptible", "none"),
               "on_job_failure": ("all", "none")}  # fmt: skip


def _check_auto_cancel(src: Source, owner: dict[str, Any], problems: Problems,
                       path: tuple[Any, ...]) -> None:  # fmt: skip
    """``workflow:auto_cancel`` (or a workflow rule's): its keys and their values."""
    if "auto_cancel" not in owner:
        return
    block = owner["auto_cancel"]
    if not isinstance(block, dict):
        problems.add(src.where(*path, "auto_cancel"), "workflow:auto_cancel config should be "
                                                      "a hash")  # fmt: skip
        return
    for key, value in block.items():
        at = src.where(*path, "auto_cancel", key)
        if key not in AUTO_CANCEL:
            problems.add(at, f"workflow:auto_cancel config contains unknown keys: {key}")
        elif value not in AUTO_CANCEL[key]:
            words = key.replace("_", " ")
            problems.add(at, f"workflow:auto_cancel {words} must be one of: "
                             f"{', '.join(AUTO_CANCEL[key])}")  # fmt: skip


def check_job(src: Source, name: str, problems: Problems) -> None:
    """One job's own keywords (as written, before ``extends``)."""
    job = src.data[name]
    if not isinstance(job, dict):
        problems.add(src.where(name), f"jobs:{name} config should be a hash")
        return
    for key, value in job.items():
        at = src.where(name, key)
        if key not in JOB_KEYS:
            problems.add(at, f"jobs:{name} config contains unknown keys: {key}")
            continue
        check = _JOB_CHECKS.get(key)
        if check is not None and not isinstance(value, Ref) and (msg := check(value)):
            problems.add(at, f"jobs:{name}:{key} config {msg}")
    if "rules" in job:
        if "only" in job or "except" in job:
            msg = f"jobs:{name} config key may not be used with `rules`: only, except"
            problems.add(src.where(name, "rules"), msg)
        _check_rules(src, name, job["rules"], problems, (name, "rules"))
    for key in ("only", "except"):
        value = job.get(key)
        if isinstance(value, dict):
            for i, text in enumerate(value.get("variables") or []):
                _check_expr(src, text, problems, (name, key, "variables", i))
    if "when" in job and job.get("when") == "delayed" and "start_in" not in job:
        problems.add(src.where(name, "when"), f"jobs:{name} start in should be specified "
                                              "for delayed job")  # fmt: skip


def _check_rules(src: Source, owner: str, rules: Any, problems: Problems,
                 path: tuple[str, ...]) -> None:  # fmt: skip
    if rules is None:
        return
    if not isinstance(rules, list):
        problems.add(src.where(*path), f"{owner}:rules config should be an array of hashes")
        return
    for i, rule in enumerate(rules):
        if isinstance(rule, Ref):
            continue
        at = src.where(*path, i)
        if not isinstance(rule, dict):
            problems.add(at, f"{owner}:rules:rule config should be a hash")
            continue
        for key in rule:
            if key not in RULE_KEYS and not (owner == "workflow" and key == "auto_cancel"):
                problems.add(src.where(*path, i, key),
                             f"{owner}:rules:rule config contains unknown keys: {key}")  # fmt: skip
        if "when" in rule and rule["when"] not in WHENS:
            msg = f"{owner}:rules:rule when should be one of: {', '.join(WHENS)}"
            problems.add(src.where(*path, i, "when"), msg)
        if "if" in rule:
            _check_expr(src, rule["if"], problems, (*path, i, "if"))


def _check_expr(src: Source, text: Any, problems: Problems, path: tuple[Any, ...]) -> None:
    if not isinstance(text, str):
        problems.add(src.where(*path), "should be a string expression")
        return
    try:
        expr.parse(text)
    except expr.ExprSyntax as exc:
        problems.add(src.where(*path), f"invalid expression syntax: {exc.message} "
                                       f"(column {exc.column} of {text!r})")  # fmt: skip
