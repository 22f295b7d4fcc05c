"""Kargo's expression context for promotion steps: ``vars``, ``ctx``, ``outputs``, functions.

Pure: no I/O. ``Scope`` holds what one step sees; ``render`` evaluates every
``${{ }}`` in a config (strings, nested lists and maps), ``condition``
evaluates a step's ``if`` (default ``success()``). The functions are
Kargo's: ``imageFrom(repoURL[, origin])`` and ``commitFrom(repoURL[, origin])``
look in the promotion's Freight collection (an origin is ``warehouse(name)``;
without one, the artifact must come from exactly one origin),
``chartFrom(repoURL[, name][, origin])`` (an OCI chart by its repository
alone, a classic one by repository and name; ``RepoURL``, ``Name``,
``Version``), ``quote``/``unsafeQuote``,
``secret(name)`` (a generic-credentials Secret's data, ``{}`` when there is
none) and ``configMap(name)`` (a ConfigMap's data in the Project, ``{}`` when
none), and ``success()``, ``failure()``, ``always()``, ``status(alias)`` (a
step's status: Succeeded, Failed, Errored, Skipped, Running; ``""`` for a
step not run yet; without an alias, the promotion's so far). ``ctx`` is
Kargo's: ``uiBaseUrl``, ``project``, ``stage``, ``promotion``, ``targetFreight`` (``name``,
``alias``, ``origin``) and ``meta`` (``promotion.actor``,
``promotion.rollback``, ``step.alias``). ``asYAML``, ``asJSON``, ``semverParse`` and
``semverDiff`` are ``templates.kargo_funcs``; ``freightMetadata(name)``,
``freightStatus(name)`` and ``stageMetadata(name)`` read the project's objects through
``lookup`` (``{}`` for one that does not exist); ``sharedSecret``/``sharedConfigMap``
read Kargo's shared resources namespace (``SHARED_NAMESPACE``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shipway.promote.freight import normalize_chart_url, normalize_git_url
from shipway.templates import kargo_funcs
from shipway.templates.errors import ExprError
from shipway.templates.exprlang import Fail, evaluate, render_template
from shipway.templates.exprlang.template import KARGO_PURE_FUNCS

SHARED_NAMESPACE = "kargo-shared-resources"
"""Kargo's default shared resources namespace (``sharedSecret``, ``sharedConfigMap``)."""


@dataclass
class Scope:
    """What a step's expressions see."""

    project: str
    stage: str
    promotion: str
    target: dict[str, Any]
    """The target Freight (``name``, ``origin``, ``images``, ``commits``, ``charts``)."""
    collection: list[dict[str, Any]] = field(default_factory=list)
    """Every Freight the stage will hold (the target replaces its origin's)."""
    vars: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    task_outputs: dict[str, Any] | None = None
    secrets: dict[str, Any] = field(default_factory=dict)
    config_maps: dict[str, Any] = field(default_factory=dict)
    shared_secrets: dict[str, Any] = field(default_factory=dict)
    """Generic-credentials Secrets of Kargo's shared resources namespace."""
    shared_config_maps: dict[str, Any] = field(default_factory=dict)
    failed: bool = False
    """An earlier step failed (``failure()``, ``status()``)."""
    statuses: dict[str, str] = field(default_factory=dict)
    """Each step run so far by alias (a task's steps as ``<task>::<alias>``)."""
    task_prefix: str = ""
    """``<task>::`` inside a task: ``status(alias)`` looks there first."""
    actor: str = ""
    rollback: bool = False
    step_alias: str = ""
    ui_base_url: str = ""
    lookup: Callable[[str, str], dict[str, Any]] = field(default=lambda _kind, _name: {})
    """``(kind, name)`` -> that Freight's or Stage's status in the project ({} if none):
    ``freightMetadata``, ``freightStatus``, ``stageMetadata``."""
    """``ctx.uiBaseUrl``: where shipway's UI is served (the controller's URL), or ""."""

    def env(self) -> dict[str, Any]:
        origin = self.target.get("origin") or {}
        env: dict[str, Any] = {
            "vars": self.vars,
            "ctx": {
                "uiBaseUrl": self.ui_base_url,
                "project": self.project,
                "stage": self.stage,
                "promotion": self.promotion,
                "targetFreight": {
                    "name": self.target.get("name", ""),
                    "alias": self.target.get("alias", ""),
                    "origin": origin,
                },
                "meta": {
                    "promotion": {"actor": self.actor, "rollback": self.rollback},
                    "step": {"alias": self.step_alias},
                },
            },
            "outputs": self.outputs,
            "secrets": self.secrets,
        }
        if self.task_outputs is not None:
            env["task"] = {"outputs": self.task_outputs}
        return env

    def funcs(self) -> dict[str, Callable[..., Any]]:
        return {
            **KARGO_PURE_FUNCS,
            **kargo_funcs.FUNCS,
            "freightMetadata": lambda name: dict(
                (self.lookup("Freight", str(name)).get("metadata")) or {}
            ),
            "freightStatus": lambda name: self.lookup("Freight", str(name)),
            "stageMetadata": lambda name: dict(
                (self.lookup("Stage", str(name)).get("metadata")) or {}
            ),
            "imageFrom": self._image_from,
            "commitFrom": self._commit_from,
            "chartFrom": self._chart_from,
            "warehouse": _warehouse,
            "success": lambda: not self.failed,
            "failure": lambda: self.failed,
            "always": lambda: True,
            "status": self._status,
            "secret": lambda name: dict(self.secrets.get(str(name)) or {}),
            "configMap": lambda name: dict(self.config_maps.get(str(name)) or {}),
            "sharedSecret": lambda name: dict(self.shared_secrets.get(str(name)) or {}),
            "sharedConfigMap": lambda name: dict(self.shared_config_maps.get(str(name)) or {}),
        }

    def _status(self, alias: Any = None) -> str:
        if alias is None:
            return "Failed" if self.failed else "Succeeded"
        name = str(alias)
        found = self.statuses.get(self.task_prefix + name) if self.task_prefix else None
        return found or self.statuses.get(name, "")

    def _freights(self, origin: Any) -> list[dict[str, Any]]:
        pool = [self.target] + [
            f for f in self.collection if f.get("origin") != self.target.get("origin")
        ]
        if origin is None:
            return pool
        if not isinstance(origin, Mapping) or "name" not in origin:
            raise Fail("a Freight origin is warehouse(name)")
        want = {"kind": origin.get("kind", "Warehouse"), "name": origin["name"]}
        return [f for f in pool if (f.get("origin") or {}) == want]

    def _found(self, what: str, url: str, hits: list[tuple[dict[str, Any], Any]]) -> Any:
        origins = {(f.get("origin") or {}).get("name") for f, _ in hits}
        if not hits:
            raise Fail(f"no {what} {url!r} in the Freight of this promotion")
        if len(origins) > 1:
            names = ", ".join(sorted(str(o) for o in origins))
            raise Fail(f"{what} {url!r} comes from several origins ({names}): pass warehouse(name)")
        return hits[0][1]

    def _image_from(self, repo_url: str, origin: Any = None) -> dict[str, Any]:
        hits = [
            (f, img)
            for f in self._freights(origin)
            for img in f.get("images") or []
            if img.get("repoURL") == repo_url
        ]
        img = self._found("image", repo_url, hits)
        return {"RepoURL": img["repoURL"], "Tag": img.get("tag") or "",
                "Digest": img.get("digest") or ""}  # fmt: skip

    def _commit_from(self, repo_url: str, origin: Any = None) -> dict[str, Any]:
        want = normalize_git_url(repo_url)
        hits = [
            (f, c)
            for f in self._freights(origin)
            for c in f.get("commits") or []
            if normalize_git_url(c.get("repoURL", "")) == want
        ]
        c = self._found("commit", repo_url, hits)
        names = {
            "repoURL": "RepoURL",
            "id": "ID",
            "branch": "Branch",
            "tag": "Tag",
            "message": "Message",
            "author": "Author",
            "committer": "Committer",
        }
        return {go: c.get(k) or "" for k, go in names.items()}  # fmt: skip

    def _chart_from(self, repo_url: Any, *rest: Any) -> dict[str, Any]:
        if len(rest) > 2:
            raise Fail("chartFrom takes repoURL, an optional chart name and an optional origin")
        name, origin = "", None
        for arg in rest:
            if isinstance(arg, str) and not name and origin is None:
                name = arg
            elif isinstance(arg, Mapping) and origin is None:
                origin = arg
            else:
                raise Fail("chartFrom(repoURL[, name][, warehouse(name)]): bad argument "
                           f"{arg!r}")  # fmt: skip
        want = normalize_chart_url(str(repo_url))
        hits = [
            (f, ch)
            for f in self._freights(origin)
            for ch in f.get("charts") or []
            if normalize_chart_url(str(ch.get("repoURL", ""))) == want
            and (ch.get("name") or "") == name
        ]
        label = f"{repo_url} {name}".strip()
        ch = self._found("chart", label, hits)
        return {"RepoURL": ch["repoURL"], "Name": ch.get("name") or "",
                "Version": ch.get("version") or ""}  # fmt: skip


def _warehouse(name: str) -> dict[str, str]:
    return {"kind": "Warehouse", "name": name}


def render(value: Any, scope: Scope) -> Any:
    """``value`` with every ``${{ }}`` evaluated (``ExprError`` naming the expression)."""
    env, funcs = scope.env(), scope.funcs()
    return _render(value, env, funcs)


def _render(value: Any, env: dict[str, Any], funcs: dict[str, Callable[..., Any]]) -> Any:
    if isinstance(value, str):
        return render_template(value, env, funcs=funcs) if "${{" in value else value
    if isinstance(value, list):
        return [_render(v, env, funcs) for v in value]
    if isinstance(value, dict):
        return {k: _render(v, env, funcs) for k, v in value.items()}
    return value


def condition(text: str | None, scope: Scope) -> bool:
    """A step's ``if``: an expression (``${{ }}`` optional), default ``success()``."""
    if text is None or text == "":
        return not scope.failed
    body = text.strip()
    if body.startswith("${{") and body.endswith("}}"):
        result = render_template(body, scope.env(), funcs=scope.funcs())
    else:
        result = evaluate(body, scope.env(), funcs=scope.funcs())
    if not isinstance(result, bool):
        raise ExprError(f"if must give a bool, got {result!r}", source=text, pos=0)
    return result


def expression(text: str, env: Mapping[str, Any], funcs: Mapping[str, Callable[..., Any]]) -> Any:
    """One bare expression (``successExpression``, ``fromExpression``) against ``env``."""
    return evaluate(text, env, funcs={**KARGO_PURE_FUNCS, **kargo_funcs.FUNCS, **funcs})
