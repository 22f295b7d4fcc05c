"""Desired against live, per object, three ways as kubectl and Argo CD compare. Pure.

Each object is first put in canonical form (``normalize``: server-owned
fields dropped, empty against absent, quantities, Secret ``stringData``,
namespace of cluster-scoped objects, lists keyed by their merge key, see
``keys``) after the ``ignoreDifferences`` rules (JSON pointers, jq path
expressions run by real jq, fields owned by named managers; see ``ignore``)
removed their fields. Then ``threeway.predict`` computes the live object
as applying the desired one would leave it, given what was applied last
(``lastapplied``: shipway's server-side-apply managed fields or the
``kubectl.kubernetes.io/last-applied-configuration`` annotation, or a
target's own record): fields git removed are deleted, fields only the
server or other controllers set are kept. The object is ``Synced`` when the
prediction equals live; otherwise ``text`` is a unified diff (live →
predicted) of the fields desired or last-applied name, as YAML, with Secret
values masked (``mask``).
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from shipway.deploy.diff import ignore, keys, lastapplied, mask, normalize, threeway, twoway
from shipway.deploy.diff.ignore import JqError
from shipway.deploy.render import key_of
from shipway.model.errors import InputError

SYNCED, OUT_OF_SYNC = "Synced", "OutOfSync"
__all__ = [
    "OUT_OF_SYNC",
    "SYNCED",
    "IgnoreRule",
    "JqError",
    "ObjectDiff",
    "RuleError",
    "Scope",
    "compare",
    "compare_all",
    "normalize_object",
    "remove_pointer",
    "set_three_way",
    "to_yaml",
]

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
Scope = Callable[[str, str], bool]
"""``(group, kind) → True`` when that kind is cluster-scoped."""


@dataclass(frozen=True)
class IgnoreRule:
    """One ``ignoreDifferences`` entry.

    ``group`` None or empty matches the core group only (as Argo CD: a rule
    without ``group`` is for ``v1`` kinds); ``"*"`` matches every group.
    ``index`` is the rule's position in the Application's list (for errors).
    """

    kind: str
    group: str | None = None
    name: str | None = None
    namespace: str | None = None
    json_pointers: tuple[str, ...] = ()
    jq_paths: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()
    index: int = 0

    def matches(self, obj: Mapping[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        return (
            self.kind in ("*", obj.get("kind"))
            and (self.group or "") in ("*", group)
            and (not self.name or self.name == meta.get("name"))
            and (not self.namespace or self.namespace == meta.get("namespace"))
        )

    def describe(self) -> str:
        group = self.group or ""
        return f"ignoreDifferences[{self.index}] ({group + '/' if group else ''}{self.kind})"


class RuleError(InputError):
    """An ``ignoreDifferences`` rule that cannot be applied (``rule``, jq's ``reason``).

    Its subject is the rule (``ignoreDifferences[0] (apps/Deployment)``); the
    reconciler adds the Application.
    """

    def __init__(self, rule: IgnoreRule, reason: str) -> None:
        super().__init__(reason, subject=rule.describe())
        self.rule, self.reason = rule, reason


@dataclass
class ObjectDiff:
    """One object compared: ``live`` or ``desired`` is None when it exists on one side only."""

    key: str
    desired: dict[str, Any] | None
    live: dict[str, Any] | None
    status: str
    text: str = ""
    normalized_live: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return self.key.split("/")[1]


_THREE_WAY = [True]


def set_three_way(on: bool) -> None:
    """Switch the comparison (``False``: the pre-three-way ``twoway`` path, for benchmarks only)."""
    _THREE_WAY[0] = on


def normalize_object(obj: Mapping[str, Any], *, cluster_scoped: bool = False) -> dict[str, Any]:
    """``obj`` in canonical form with lists as lists (what the comparison sees)."""
    out = keys.plain(normalize.canonical(dict(obj), cluster_scoped=cluster_scoped))
    assert isinstance(out, dict)
    return out


def remove_pointer(obj: Any, pointer: str) -> None:
    """Delete the field at an RFC 6901 JSON pointer, if it exists."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = obj
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, dict):
            if part not in node:
                return
            if last:
                del node[part]
                return
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            if last:
                del node[int(part)]
                return
            node = node[int(part)]
        else:
            return


def check_rules(rules: Iterable[IgnoreRule]) -> None:
    """Compile every jq expression of ``rules`` (raises ``RuleError`` naming the rule)."""
    for rule in rules:
        for expr in rule.jq_paths:
            try:
                ignore.compile_deletion(expr)
            except JqError as exc:
                raise RuleError(rule, str(exc)) from None


def apply_ignores(
    obj: dict[str, Any], rules: Iterable[IgnoreRule], live: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``obj`` without the fields the matching rules ignore (managers are read from ``live``).

    ``obj`` is not changed: a copy is made when a rule matches.
    """
    copied = False
    for rule in rules:
        if not rule.matches(obj):
            continue
        if not copied:
            obj, copied = copy.deepcopy(obj), True
        for ptr in rule.json_pointers:
            remove_pointer(obj, ptr)
        if rule.jq_paths:
            try:
                obj = ignore.delete_jq(obj, rule.jq_paths)
            except JqError as exc:
                raise RuleError(rule, str(exc)) from None
        if rule.managers and live is not None:
            for _, fields in ignore.managed_paths(live, rule.managers):
                ignore.delete_fields(obj, fields)
    return obj


def to_yaml(obj: Any) -> str:
    return str(yaml.dump(keys.plain(obj), Dumper=_Dumper, sort_keys=True, default_flow_style=False))


def _canon(
    obj: dict[str, Any] | None,
    rules: Sequence[IgnoreRule],
    live: dict[str, Any] | None,
    scoped: bool,
) -> dict[str, Any] | None:
    if obj is None:
        return None
    if rules:
        obj = apply_ignores(obj, rules, live)
    return normalize.canonical(obj, cluster_scoped=scoped)


def compare(
    desired: dict[str, Any] | None,
    live: dict[str, Any] | None,
    rules: Sequence[IgnoreRule] = (),
    *,
    last_applied: dict[str, Any] | None = None,
    cluster_scoped: bool = False,
) -> ObjectDiff:
    """Compare one object three ways; ``text`` is a unified diff (live → predicted).

    ``last_applied`` is what was applied last; None reads it from ``live``
    (``lastapplied.from_live``).
    """
    some = desired if desired is not None else live
    assert some is not None
    key = key_of(some)
    if not _THREE_WAY[0]:
        same, text, n_live = twoway.compare(
            desired, live, lambda o: apply_ignores(o, rules, live), to_yaml
        )
        return ObjectDiff(key, desired, live, SYNCED if same else OUT_OF_SYNC, text, n_live)
    d = _canon(desired, rules, live, cluster_scoped)
    n_live = _canon(live, rules, live, cluster_scoped)
    if d is None or n_live is None:
        left, right = n_live, d
        n_pred = d
    else:
        last_raw = last_applied if last_applied is not None else lastapplied.from_live(live or {})
        last = _canon(last_raw, rules, live, cluster_scoped) if last_raw is not None else None
        n_pred = threeway.drop_empty(
            threeway.predict(n_live, d, last if last is not None else threeway.MISSING)
        )
        if n_pred == n_live:
            return ObjectDiff(key, desired, live, SYNCED, "", n_live)
        shapes = (d, last) if last is not None else (d,)
        left, right = threeway.project(n_live, *shapes), threeway.project(n_pred, *shapes)
    if normalize.is_secret(some):
        left, right = mask.pair(left, right)
    a = to_yaml(left).splitlines(keepends=True) if left is not None else []
    b = to_yaml(right).splitlines(keepends=True) if right is not None else []
    text = "".join(difflib.unified_diff(a, b, f"live/{key}", f"desired/{key}"))
    return ObjectDiff(key, desired, live, OUT_OF_SYNC, text, n_live)


def _unscoped(obj: dict[str, Any], scope: Scope | None) -> tuple[dict[str, Any], bool]:
    """``obj`` without a namespace when its kind is cluster-scoped (and whether it is)."""
    if scope is None:
        return obj, False
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    if not scope(group, str(obj.get("kind", ""))):
        return obj, False
    meta = obj.get("metadata") or {}
    if "namespace" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "namespace"}}
    return obj, True


def compare_all(
    desired: Iterable[dict[str, Any]],
    live: Mapping[str, dict[str, Any]],
    rules: Sequence[IgnoreRule] = (),
    *,
    last_applied: Mapping[str, dict[str, Any]] | None = None,
    scope: Scope | None = None,
) -> list[ObjectDiff]:
    """Pair desired objects with live ones by key; live-only objects come last (to prune).

    ``last_applied`` maps keys to what a target recorded applying (else it is
    read from each live object); ``scope`` tells cluster-scoped kinds, whose
    desired ``namespace`` is dropped (the object's key and what is applied).
    Raises ``RuleError`` for a rule whose jq does not compile.
    """
    check_rules(rules)
    recorded = last_applied or {}
    out: list[ObjectDiff] = []
    seen: set[str] = set()
    for obj in desired:
        obj, scoped = _unscoped(obj, scope)
        k = key_of(obj)
        seen.add(k)
        out.append(
            compare(obj, live.get(k), rules, last_applied=recorded.get(k), cluster_scoped=scoped)
        )
    out += [compare(None, obj, rules) for k, obj in sorted(live.items()) if k not in seen]
    return out
