"""One Task's steps as they run: stepTemplate merged, StepActions resolved, variables substituted.

Pure. ``task_vars`` makes the variables a Task's steps see (``params``,
``results.r.path``, ``workspaces.w.path``/``.bound``/``.claim``/``.volume``,
``context.taskRun.*``, ``context.task.*``, ``steps.step-s.exitCode.path``);
``plan_steps`` returns each step's image, command or script (with Tekton's
shebang rule: a script without ``#!`` runs under ``#!/bin/sh`` with
``set -e``), args, env, working directory, ``onError`` and timeout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipway.ci.tekton import companions, subst
from shipway.ci.tekton.params import given_map, param_vars, resolve
from shipway.ci.tekton.schema import parse_duration

RESULTS_DIR = "/tekton/results"
STEPS_DIR = "/tekton/steps"
RESULT_LIMIT = 4096  # bytes: a TaskRun's results travel in the termination message
DEFAULT_SHEBANG = "#!/bin/sh\nset -e\n"


@dataclass
class StepPlan:
    name: str  # the step's name ("unnamed-<i>" when it has none, as Tekton names it)
    image: str
    command: list[str] | None
    args: list[str]
    script: str | None
    env: dict[str, str]
    working_dir: str
    on_error: str  # "stopAndFail" | "continue"
    timeout: float | None
    results: list[str] = field(default_factory=list)  # step results (StepActions, steps)
    result_types: dict[str, str] = field(default_factory=dict)  # array/object: JSON

    @property
    def container(self) -> str:
        return f"step-{self.name}"


def script_text(script: str) -> str:
    """The script file's contents by Tekton's rule."""
    return script if script.startswith("#!") else DEFAULT_SHEBANG + script


def workspace_path(decl: dict[str, Any]) -> str:
    return str(decl.get("mountPath") or f"/workspace/{decl['name']}")


def task_vars(
    spec: dict[str, Any],
    params: dict[str, Any],
    bound: dict[str, str],
    context: dict[str, str],
    paths: tuple[str, str, dict[str, str]] | None = None,
    store: companions.Store | None = None,
) -> dict[str, Any]:
    """Variables of a Task's steps; ``bound``: workspace name -> volume name, when bound;
    ``paths``: the results and steps directories and workspace paths the steps see, when
    they are not Tekton's (the host executor's)."""
    results_dir, steps_dir, ws_paths = paths or (RESULTS_DIR, STEPS_DIR, {})
    out: dict[str, Any] = param_vars(params)
    out.update({f"inputs.{k}": v for k, v in param_vars(params).items()})  # still v1beta1's
    for r in spec.get("results") or []:
        out[f"results.{r['name']}.path"] = f"{results_dir}/{r['name']}"
    for w in spec.get("workspaces") or []:
        name = str(w["name"])
        is_bound = name in bound
        path = ws_paths.get(name) or workspace_path(w)
        out[f"workspaces.{name}.path"] = path if is_bound else ""
        out[f"workspaces.{name}.bound"] = "true" if is_bound else "false"
        out[f"workspaces.{name}.claim"] = ""
        out[f"workspaces.{name}.volume"] = bound.get(name, "")
    for i, step in enumerate(spec.get("steps") or []):
        sname = step_name(step, i)
        out[f"steps.step-{sname}.exitCode.path"] = f"{steps_dir}/step-{sname}/exitCode"
    out["credentials.path"] = "/tekton/creds"
    out["__store"] = store if store is not None else companions.Store([])  # valueFrom, envFrom
    out["__steps_dir"] = steps_dir  # not a variable (no dot): where StepAction results go
    out.update({f"context.{k}": v for k, v in context.items()})
    return out


def used_workspaces(spec: dict[str, Any]) -> set[str]:
    """The workspaces a Task's steps and sidecars name in ``$(workspaces.w...)``."""
    used = {k: v for k, v in spec.items() if k in ("steps", "sidecars", "stepTemplate")}
    return {r.parts[1] for r in subst.refs_deep(used) if r.parts[0] == "workspaces"}


def propagated(spec: dict[str, Any], given: dict[str, Any], bound: set[str] | dict[str, Any],
               ) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """An embedded spec as Tekton runs it: a bound workspace its steps use undeclared is
    declared, and the given params it does not declare are substituted as given (the
    second value: those params)."""
    declared = {str(w.get("name")) for w in spec.get("workspaces") or []}
    extra = sorted((used_workspaces(spec) & set(bound)) - declared)
    if extra:
        spec = {**spec, "workspaces": [*(spec.get("workspaces") or []),
                                       *({"name": n} for n in extra)]}  # fmt: skip
    own = {str(p.get("name")) for p in spec.get("params") or []}
    return spec, {k: v for k, v in given.items() if k not in own}


def step_name(step: dict[str, Any], index: int) -> str:
    return str(step.get("name") or f"unnamed-{index}")


def _env(items: Any) -> dict[str, dict[str, Any]]:
    """Env items by name (a ``value`` or a ``valueFrom``)."""
    return {str(e["name"]): e for e in items or [] if isinstance(e, dict)}


def _env_values(step: dict[str, Any], values: subst.Vars) -> dict[str, str]:
    """A step's environment: ``envFrom`` first, then ``env`` (``valueFrom`` read from the
    run's ConfigMaps and Secrets)."""
    store = values.get("__store")
    store = store if isinstance(store, companions.Store) else companions.Store([])
    out = store.env_from(step.get("envFrom"))
    for name, item in _env(step.get("env")).items():
        if isinstance(item.get("valueFrom"), dict) and "value" not in item:
            got = store.env_value(item["valueFrom"])
            if got is not None:
                out[name] = got
        else:
            out[name] = subst.render(str(item.get("value", "")), values)
    return out


def merge_template(template: dict[str, Any] | None, step: dict[str, Any]) -> dict[str, Any]:
    """``stepTemplate`` under a step: the step's fields win, ``env`` merges by name."""
    if not template:
        return dict(step)
    merged = {**template, **step}
    if template.get("env") or step.get("env"):
        env = {**_env(template.get("env")), **_env(step.get("env"))}
        merged["env"] = list(env.values())
    return merged


def from_action(step: dict[str, Any], action: dict[str, Any], values: subst.Vars,
                steps_dir: str = STEPS_DIR, strict: bool = True) -> dict[str, Any]:  # fmt: skip
    """A step that refers to a StepAction: the action's fields with the step's params
    (``strict``: a param's problem is an error; else, before the earlier steps' results
    are known, it is left unsubstituted)."""
    given = {k: subst.render_value(v, values) for k, v in given_map(step.get("params")).items()}
    params, problems = resolve(list(action.get("params") or []), given, "StepAction")
    if problems and strict:
        raise ValueError("; ".join(problems))
    own = {**param_vars(params), **_result_paths(step, action.get("results"), steps_dir)}
    fields = {k: action[k] for k in ("image", "command", "args", "env", "script", "workingDir")
              if k in action}  # fmt: skip
    out: dict[str, Any] = {
        k: subst.render_list(list(v), own) if k in ("command", "args") and isinstance(v, list)
        else subst.render_deep(v, own) for k, v in fields.items()}  # fmt: skip
    for k in ("name", "onError", "timeout", "workspaces"):
        if k in step:
            out[k] = step[k]
    out["results"] = list(action.get("results") or [])
    return dict(out)


def _result_paths(step: dict[str, Any], results: Any, steps_dir: str) -> dict[str, str]:
    """``step.results.<r>.path`` of a step's (or its StepAction's) results."""
    return {f"step.results.{r['name']}.path": f"{steps_dir}/{step.get('name')}/results/"
            f"{r['name']}" for r in results or [] if isinstance(r, dict)}  # fmt: skip


def _result_type(decl: dict[str, Any]) -> str:
    return str(decl.get("type") or ("object" if decl.get("properties") else "string"))


def plan_steps(
    spec: dict[str, Any],
    values: subst.Vars,
    actions: dict[str, dict[str, Any]],
    strict: bool = True,
    at: int | None = None,
) -> list[StepPlan]:
    """Each step ready to run; ``actions``: StepAction specs by name; ``strict``: see
    ``from_action`` (with ``at``: only step ``at`` is planned strictly)."""
    out: list[StepPlan] = []
    template = spec.get("stepTemplate")
    for i, raw in enumerate(spec.get("steps") or []):
        step = dict(raw)
        ref = step.get("ref")
        if isinstance(ref, dict):
            steps_dir = str(values.get("__steps_dir", STEPS_DIR))
            step = from_action(step, actions[str(ref["name"])], values, steps_dir,
                               strict and at in (None, i))  # fmt: skip
        elif step.get("results"):  # an inline step's own results
            paths = _result_paths(step, step["results"], str(values.get("__steps_dir",
                                                                       STEPS_DIR)))  # fmt: skip
            step = subst.render_deep(step, paths)
        step = merge_template(template, step)
        declared = [r for r in step.get("results") or [] if isinstance(r, dict)]
        script = step.get("script")
        timeout = parse_duration(str(step["timeout"])) if step.get("timeout") else None
        on_error = subst.render(str(step.get("onError") or "stopAndFail"), values)
        if on_error not in ("continue", "stopAndFail"):
            raise ValueError(f"invalid value: {on_error!r}: steps[{i}].onError (expected one "
                             "of: continue, stopAndFail)")  # fmt: skip
        out.append(StepPlan(
            name=step_name(raw, i),
            image=subst.render(str(step.get("image") or ""), values),
            command=subst.render_list(list(step["command"]), values) if "command" in step
            else None,
            args=subst.render_list(list(step.get("args") or []), values),
            script=script_text(subst.render(str(script), values)) if script is not None
            else None,
            env=_env_values(step, values),
            working_dir=subst.render(str(step.get("workingDir") or ""), values),
            on_error=on_error,
            timeout=timeout or None,
            results=[str(r["name"]) for r in declared],
            result_types={str(r["name"]): _result_type(r) for r in declared},
        ))  # fmt: skip
    return out


def check_results(spec: dict[str, Any], written: dict[str, bytes]) -> tuple[list[dict[str, Any]],
                                                                             str]:  # fmt: skip
    """The TaskRun's ``results`` from the files written under /tekton/results, and a failure
    message when they exceed Tekton's limit or an array/object result is not JSON."""
    import json

    total = sum(len(v) for v in written.values())
    if total > RESULT_LIMIT:
        return [], (f"Termination message is above max allowed size {RESULT_LIMIT}, caused by "
                    "large task result.")  # fmt: skip
    out: list[dict[str, Any]] = []
    for r in spec.get("results") or []:
        name = str(r["name"])
        if name not in written:
            continue
        text = written[name].decode("utf-8", errors="replace")
        kind = str(r.get("type") or ("object" if r.get("properties") else "string"))
        value: Any = text
        if kind in ("array", "object"):
            try:
                value = json.loads(text)
            except ValueError:
                return out, f"result {name!r} of type {kind} is not valid JSON: {text[:80]!r}"
            if not isinstance(value, list if kind == "array" else dict):
                return out, f"result {name!r} is not a JSON {kind}"
            value = {k: str(v) for k, v in value.items()} if isinstance(value, dict) else [
                str(v) if not isinstance(v, str) else v for v in value]  # fmt: skip
        out.append({"name": name, "type": kind, "value": value})
    return out, ""
