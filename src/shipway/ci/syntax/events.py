"""The ``on:`` section of a GitHub Actions workflow, checked as GitHub and actionlint check it.

Events must be known; each event takes only its own filters (``branches``,
``tags``, ``paths`` and their ``-ignore`` forms, ``types``, ``workflows``,
``inputs``…), never a filter together with its ``-ignore`` form; ``types``
must be activity types the event has; ``workflow_dispatch`` and
``workflow_call`` inputs are typed as documented; ``schedule`` entries are
valid POSIX cron. Pure: data in, ``(path, message)`` problems out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

PathKey = str | int
Report = Callable[[tuple[PathKey, ...], str], None]

_PR_TYPES = """assigned unassigned labeled unlabeled opened edited closed reopened synchronize
converted_to_draft locked unlocked enqueued dequeued milestoned demilestoned ready_for_review
review_requested review_request_removed auto_merge_enabled auto_merge_disabled"""
_ISSUE_TYPES = """opened edited deleted transferred pinned unpinned closed reopened assigned
unassigned labeled unlabeled locked unlocked milestoned demilestoned typed untyped"""
_DISCUSSION_TYPES = """created edited deleted transferred pinned unpinned labeled unlabeled
locked unlocked category_changed answered unanswered"""
_CED = "created edited deleted"
TYPES: dict[str, frozenset[str]] = {
    name: frozenset(words.split())
    for name, words in {
        "branch_protection_rule": _CED,
        "check_run": "created rerequested completed requested_action",
        "check_suite": "completed",
        "discussion": _DISCUSSION_TYPES,
        "discussion_comment": _CED,
        "issue_comment": _CED,
        "issues": _ISSUE_TYPES,
        "label": _CED,
        "merge_group": "checks_requested",
        "milestone": "created closed opened edited deleted",
        "pull_request": _PR_TYPES,
        "pull_request_target": _PR_TYPES,
        "pull_request_review": "submitted edited dismissed",
        "pull_request_review_comment": _CED,
        "registry_package": "published updated",
        "release": "published unpublished created edited deleted prereleased released",
        "watch": "started",
        "workflow_run": "completed requested in_progress",
    }.items()
}
_FILTERS = ("branches", "tags", "paths")
_PUSH = frozenset({"branches", "branches-ignore", "tags", "tags-ignore", "paths", "paths-ignore"})
_PULL = frozenset({"types", "branches", "branches-ignore", "paths", "paths-ignore"})
KEYS: dict[str, frozenset[str]] = {
    **{name: frozenset({"types"}) for name in TYPES},
    "push": _PUSH,
    "pull_request": _PULL,
    "pull_request_target": _PULL,
    "workflow_run": frozenset({"types", "workflows", "branches", "branches-ignore"}),
    "workflow_dispatch": frozenset({"inputs"}),
    "workflow_call": frozenset({"inputs", "outputs", "secrets"}),
    "repository_dispatch": frozenset({"types"}),  # its types are the sender's own words
}
_DISPATCH_TYPES = ("string", "boolean", "choice", "number", "environment")
_CALL_TYPES = ("string", "boolean", "number")
_INPUT_KEYS = frozenset({"description", "required", "default", "type", "options"})


def check_on(on: dict[str, Any], report: Report) -> None:
    """Report every problem of a normalised ``on`` mapping (event name -> its settings)."""
    for event, spec in on.items():
        path: tuple[PathKey, ...] = ("on", event)
        if event == "schedule":
            _schedule(spec, path, report)
            continue
        if spec in (None, {}):
            continue
        if not isinstance(spec, dict):
            report(path, f"the settings of event {event!r} must be a mapping")
            continue
        allowed = KEYS.get(event, frozenset())
        for key, value in spec.items():
            if key not in allowed:
                expected = ", ".join(sorted(allowed)) or "nothing"
                report((*path, key), f"unknown key {key!r} for event {event!r} "
                                     f"(expected {expected})")  # fmt: skip
            elif key in ("inputs", "outputs", "secrets"):
                _declarations(event, key, value, (*path, key), report)
            else:
                _strings(value, (*path, key), report)
        for name in _FILTERS:
            if name in spec and f"{name}-ignore" in spec:
                report((*path, f"{name}-ignore"),
                       f"'{name}' and '{name}-ignore' cannot both filter event {event!r}; "
                       f"use '!' patterns in '{name}' to exclude")  # fmt: skip
        known = TYPES.get(event)
        if known is not None and isinstance(spec.get("types"), list | str):
            given = spec["types"] if isinstance(spec["types"], list) else [spec["types"]]
            for i, word in enumerate(given):
                if str(word) not in known:
                    report((*path, "types", i), f"unknown activity type {word!r} for event "
                           f"{event!r} (expected one of: {', '.join(sorted(known))})")  # fmt: skip


def _strings(value: Any, path: tuple[PathKey, ...], report: Report) -> None:
    ok = isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    )
    if not ok:
        report(path, f"{path[-1]!r} must be a string or a sequence of strings")


def _declarations(event: str, key: str, value: Any, path: tuple[PathKey, ...],
                  report: Report) -> None:  # fmt: skip
    if value is None:
        return
    if not isinstance(value, dict):
        report(path, f"{key!r} of {event!r} must be a mapping of names")
        return
    for name, decl in value.items():
        where = (*path, name)
        if decl is None:
            decl = {}
        if not isinstance(decl, dict):
            report(where, f"{key[:-1]} {name!r} must be a mapping")
        elif key == "inputs":
            _input(event, str(name), decl, where, report)
        elif key == "outputs":
            if "value" not in decl and event == "workflow_call":
                report(where, f"output {name!r} of workflow_call needs a 'value'")
            for k in decl:
                if k not in ("description", "value"):
                    report((*where, k), f"unknown key {k!r} in output {name!r}")
        else:
            for k in decl:
                if k not in ("description", "required"):
                    report((*where, k), f"unknown key {k!r} in secret {name!r}")


def _input(event: str, name: str, decl: dict[str, Any], where: tuple[PathKey, ...],
           report: Report) -> None:  # fmt: skip
    for k in decl:
        if k not in _INPUT_KEYS:
            report((*where, k), f"unknown key {k!r} in input {name!r}")
    kinds = _DISPATCH_TYPES if event == "workflow_dispatch" else _CALL_TYPES
    kind = decl.get("type", "string" if event == "workflow_dispatch" else None)
    if kind not in kinds:
        at = (*where, "type") if "type" in decl else where
        report(at, f"type of input {name!r} of {event} must be one of "
                   f"{', '.join(kinds)}, got {kind!r}")  # fmt: skip
    if kind not in kinds:
        return
    options = decl.get("options")
    if kind == "choice":
        if not isinstance(options, list) or not options:
            report(where, f"choice input {name!r} needs a non-empty 'options' list")
        elif "default" in decl and str(decl["default"]) not in [str(o) for o in options]:
            message = f"default {decl['default']!r} of input {name!r} is not one of its options"
            report((*where, "default"), message)
    elif options is not None:
        report((*where, "options"), f"'options' is only for choice inputs ({name!r} is {kind})")
    default = decl.get("default")
    is_expr = isinstance(default, str) and default.startswith("${{")
    if kind == "boolean" and "default" in decl and not isinstance(default, bool) and not is_expr:
        report((*where, "default"), f"default of boolean input {name!r} must be a boolean")
    number = isinstance(default, int | float) and not isinstance(default, bool)
    if kind == "number" and "default" in decl and not number and not is_expr:
        report((*where, "default"), f"default of number input {name!r} must be a number")


def _schedule(spec: Any, path: tuple[PathKey, ...], report: Report) -> None:
    if not isinstance(spec, list) or not spec:
        report(path, "'schedule' must be a sequence of {cron: '…'} entries")
        return
    for i, entry in enumerate(spec):
        if not isinstance(entry, dict) or set(entry) != {"cron"}:
            report((*path, i), "each 'schedule' entry must be a mapping with only 'cron'")
            continue
        problem = cron_problem(str(entry["cron"]))
        if problem:
            report((*path, i, "cron"), f"invalid cron {entry['cron']!r}: {problem}")


_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    (
        "month",
        1,
        12,
        tuple(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]),
    ),
    ("day of week", 0, 6, tuple(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])),
)


def cron_problem(text: str) -> str | None:
    """What is wrong with a five-field POSIX cron expression, or None."""
    fields = text.split()
    if len(fields) != 5:
        return f"expected 5 fields (minute hour day month weekday), got {len(fields)}"
    for value, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for part in value.split(","):
            problem = _cron_part(part, low, high, names)
            if problem:
                return f"{name} field {value!r}: {problem}"
    return None


def _cron_part(part: str, low: int, high: int, names: tuple[str, ...] | tuple[()]) -> str | None:
    m = re.fullmatch(r"(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/([0-9]+))?", part)
    if not m:
        return f"cannot read {part!r}"
    if m.group(2) is not None and int(m.group(2)) == 0:
        return "a step of 0"
    if m.group(1) == "*":
        return None
    for bound in m.group(1).split("-"):
        number = _cron_value(bound, names)
        if number is None:
            return f"{bound!r} is not a number or name"
        if not low <= number <= high:
            return f"{number} is outside {low}-{high}"
    return None


def _cron_value(text: str, names: tuple[str, ...] | tuple[()]) -> int | None:
    if text.isdigit():
        return int(text)
    upper = text.upper()
    if upper in names:
        offset = 1 if len(names) == 12 else 0
        return list(names).index(upper) + offset
    return None
