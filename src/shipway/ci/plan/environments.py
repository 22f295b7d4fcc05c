"""Deployment environments: their definitions and protection rules. Pure.

An environment (GitHub's repository environments) has ``vars``, ``secrets``
and protection rules: ``deploymentBranches`` / ``deploymentTags`` (GitHub's
glob patterns, as ``on:`` filters use them), ``waitTimer`` (minutes) and
``requiredReviewers`` (a job waits for an approval by one of them;
``requiredReviewers: true`` lets anyone review) with ``preventSelfReview``
(the run's actor may not approve their own run). A job naming an
environment nobody defined gets an empty one with no rules, as GitHub
creates it on first use. Definitions come as data: the CLI reads a file, the
controller a ``Pipeline``'s ``environments`` field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipway.ci.plan.triggers import matches

_KEYS = {"vars", "secrets", "secretsFile", "deploymentBranches", "deploymentTags", "waitTimer",
         "requiredReviewers", "preventSelfReview", "url"}  # fmt: skip
ANYONE = "anyone"  # ``requiredReviewers: true``: a review is needed, anyone may give it


class EnvironmentSpecError(ValueError):
    """A definition that does not make sense (the caller adds file and line)."""


@dataclass
class Environment:
    name: str
    vars: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    secrets_file: str | None = None
    branches: list[str] | None = None  # None: any branch may deploy
    tags: list[str] | None = None  # None: any tag may deploy (unless branches is set)
    wait_minutes: float = 0.0
    reviewers: list[str] = field(default_factory=list)
    prevent_self_review: bool = False
    defined: bool = True

    @property
    def needs_approval(self) -> bool:
        return bool(self.reviewers)


def _strs(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EnvironmentSpecError(f"{what} must be a list of patterns")
    return list(value)


def _map(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EnvironmentSpecError(f"{what} must be a mapping of names to strings")
    return {str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in value.items()}  # fmt: skip


def parse_one(name: str, data: Any) -> Environment:
    """One environment from its mapping (``None`` means no settings)."""
    data = data or {}
    if not isinstance(data, dict):
        raise EnvironmentSpecError(f"environment {name!r} must be a mapping")
    unknown = sorted(set(map(str, data)) - _KEYS)
    if unknown:
        raise EnvironmentSpecError(
            f"unknown key {unknown[0]!r} in environment {name!r} "
            f"(expected one of: {', '.join(sorted(_KEYS))})"
        )
    wait = data.get("waitTimer", 0) or 0
    if isinstance(wait, bool) or not isinstance(wait, int | float) or wait < 0:
        raise EnvironmentSpecError(f"waitTimer of {name!r} must be a number of minutes")
    reviewers = data.get("requiredReviewers") or []
    if reviewers is True:
        reviewers = [ANYONE]
    prevent = data.get("preventSelfReview", False)
    if not isinstance(prevent, bool):
        raise EnvironmentSpecError(f"preventSelfReview of {name!r} must be true or false")
    return Environment(
        name=name,
        vars=_map(data.get("vars"), f"vars of {name!r}"),
        secrets=_map(data.get("secrets"), f"secrets of {name!r}"),
        secrets_file=None if data.get("secretsFile") is None else str(data["secretsFile"]),
        branches=None if "deploymentBranches" not in data
        else _strs(data["deploymentBranches"], "deploymentBranches"),
        tags=None if "deploymentTags" not in data
        else _strs(data["deploymentTags"], "deploymentTags"),
        wait_minutes=float(wait),
        reviewers=_strs(reviewers, "requiredReviewers"),
        prevent_self_review=prevent,
    )  # fmt: skip


def parse_all(data: Any) -> dict[str, Environment]:
    """``{name: settings}`` (or a document with an ``environments`` key) to environments."""
    if isinstance(data, dict) and set(data) == {"environments"}:
        data = data["environments"]
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EnvironmentSpecError("environments must be a mapping of names to settings")
    return {str(n): parse_one(str(n), d) for n, d in data.items()}


def lookup(defined: dict[str, Environment], name: str) -> Environment:
    """The environment called ``name`` (names compare case-insensitively, as on GitHub)."""
    for env in defined.values():
        if env.name.lower() == name.lower():
            return env
    return Environment(name=name, defined=False)


def ref_refusal(env: Environment, ref: str) -> str | None:
    """GitHub's message when ``ref`` may not deploy to ``env``; None when it may."""
    if env.branches is None and env.tags is None:
        return None
    if ref.startswith("refs/tags/"):
        kind, name, patterns = "Tag", ref.removeprefix("refs/tags/"), env.tags or []
    else:
        kind, name, patterns = "Branch", ref.removeprefix("refs/heads/"), env.branches or []
    if matches(patterns, name):
        return None
    rules = "due to environment protection rules."
    return f'{kind} "{name}" is not allowed to deploy to {env.name} {rules}'


def review_refusal(reviewers: list[str], prevent_self: bool, actor: str, who: str) -> str | None:
    """Why ``who`` may not review a deployment (None: they may), as GitHub decides it.

    Only a listed reviewer may decide (names compare case-insensitively, as
    GitHub logins do); with ``preventSelfReview`` not the actor who triggered
    the run, even when listed.
    """
    listed = [r for r in reviewers if r]
    lowered = {r.lower() for r in listed}
    if prevent_self and who.lower() == actor.lower():
        others = sorted(lowered - {who.lower()})
        may = ", ".join(others) if others and ANYONE not in lowered else "another reviewer"
        return f"{who} triggered this run and may not review it (preventSelfReview); ask {may}"
    if not listed or ANYONE in lowered or who.lower() in lowered:
        return None
    return f"{who} is not a required reviewer; who may review: {', '.join(listed)}"
