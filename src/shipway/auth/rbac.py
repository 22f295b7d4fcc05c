"""RBAC as Argo CD does it: ``argocd-rbac-cm`` read as-is, enforced with casbin (pure).

Input is the ConfigMap's ``data``: ``policy.csv`` (then every
``policy.<name>.csv``, in key order, below it), ``policy.default``,
``scopes`` (default ``[groups]``) and ``policy.matchMode`` (``glob``,
default, or ``regex``). Lines are ``p, SUBJECT, RESOURCE, ACTION, OBJECT[,
allow|deny]`` and ``g, SUBJECT, ROLE``; ``#`` starts a comment. A bad line is
an ``InputError`` naming ``ConfigMap/argocd-rbac-cm policy.csv:LINE``.

Evaluation follows Argo CD's documented order: the default role first (what
it allows cannot be taken away by a ``deny``); then the account itself
(with the roles ``g`` lines and ``--role`` give it), then each group the
``scopes`` name, one at a time. Within one subject a matching ``deny`` wins
over any ``allow``. Globs are Argo CD's: ``*`` matches any run of characters
including ``/``, ``?`` one character, ``[...]``/``[!...]`` a class, ``{a,b}``
alternatives; ``regex`` mode searches with the pattern as Argo CD's does.

Resources and actions shipway enforces (objects as Argo CD spells them):

========================  ==================================  =============================
resource                  actions                             object
========================  ==================================  =============================
applications              get create update delete sync       ``<project>/<application>``
                          override rollback action/...
applicationsets, logs     get (…)                             ``<project>/<name>``
projects, clusters,       get create update delete            ``<name>`` (repositories: URL)
repositories, pipelines
ci-runs                   get logs create delete              ``<pipeline>/<run id>``
                          approve                             ``<pipeline>/<environment>``
promotions                get promote approve abort verify    ``<project>/<stage>``
accounts                  get update                          ``<account>``
events                    get                                 ``*``
========================  ==================================  =============================

Release records are read with ``applications, get`` of their application.
"""

from __future__ import annotations

import csv
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import casbin
from casbin.model import Model

from shipway.model.errors import InputError

CONFIGMAP = "argocd-rbac-cm"

_MODEL = """
[request_definition]
r = sub, res, act, obj

[policy_definition]
p = sub, res, act, obj, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && tokenMatch(r.res, p.res) && tokenMatch(r.act, p.act) \
&& tokenMatch(r.obj, p.obj)
"""

_READ = {
    "applications": "*/*", "applicationsets": "*/*", "logs": "*/*", "clusters": "*",
    "repositories": "*", "write-repositories": "*", "projects": "*", "accounts": "*",
    "certificates": "*", "gpgkeys": "*", "pipelines": "*", "promotions": "*/*", "events": "*",
}  # fmt: skip
_WRITE = {
    "applications": ("create", "update", "update/*", "delete", "delete/*", "sync", "rollback",
                     "override", "action/*"),
    "applicationsets": ("create", "update", "delete"),
    "clusters": ("create", "update", "delete"),
    "repositories": ("create", "update", "delete"),
    "write-repositories": ("create", "update", "delete"),
    "certificates": ("create", "update", "delete"),
    "gpgkeys": ("create", "delete"),
    "projects": ("create", "update", "delete"),
    "pipelines": ("create", "update", "delete"),
    "accounts": ("update",),
    "exec": ("create",),
    "promotions": ("promote", "approve", "abort", "verify", "create", "delete"),
}  # fmt: skip


def builtin_rules() -> list[tuple[str, ...]]:
    """``role:readonly`` (get everything, and read CI logs) and ``role:admin`` (all of it)."""
    rules: list[tuple[str, ...]] = [
        ("p", "role:readonly", res, "get", obj, "allow") for res, obj in _READ.items()
    ]
    rules += [("p", "role:readonly", "ci-runs", act, "*/*", "allow") for act in ("get", "logs")]
    for res, acts in _WRITE.items():
        obj = "*/*" if res in ("applications", "applicationsets", "exec", "promotions") else "*"
        rules += [("p", "role:admin", res, act, obj, "allow") for act in acts]
    rules += [
        ("p", "role:admin", "ci-runs", act, "*/*", "allow")
        for act in ("create", "delete", "approve")
    ]
    rules += [("g", "role:admin", "role:readonly"), ("g", "admin", "role:admin")]
    return rules


@dataclass(frozen=True)
class Policy:
    """A parsed ``argocd-rbac-cm``: rules (``p``/``g`` tuples), default role, scopes, mode."""

    rules: tuple[tuple[str, ...], ...] = ()
    default_role: str = ""
    scopes: tuple[str, ...] = ("groups",)
    match_mode: str = "glob"
    bindings: tuple[tuple[str, str], ...] = field(default=())
    """``(account, role)`` from ``shipway account create --role``: extra ``g`` lines."""

    def with_bindings(self, bindings: Iterable[tuple[str, str]]) -> Policy:
        return Policy(self.rules, self.default_role, self.scopes, self.match_mode,
                      tuple(sorted(bindings)))  # fmt: skip


def role_name(role: str) -> str:
    """``dev`` → ``role:dev``; ``role:dev`` stays."""
    role = role.strip()
    return role if not role or role.startswith("role:") else f"role:{role}"


def parse_csv(text: str, where: str) -> list[tuple[str, ...]]:
    """The ``p``/``g`` rules of one policy file; ``where`` names it in errors."""
    rules: list[tuple[str, ...]] = []
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            cells = next(csv.reader([stripped], skipinitialspace=True))
        except csv.Error as exc:
            raise InputError(f"not a CSV line: {exc}", subject=f"{where}:{n}") from None
        cells = [c.strip() for c in cells]
        kind = cells[0]
        if kind == "p":
            if len(cells) == 5:
                cells.append("allow")
            if len(cells) != 6 or not all(cells[1:5]):
                raise InputError(
                    "expected 'p, SUBJECT, RESOURCE, ACTION, OBJECT, allow|deny'",
                    subject=f"{where}:{n}",
                )
            if cells[5] not in ("allow", "deny"):
                raise InputError(f"effect must be allow or deny, not {cells[5]!r}",
                                 subject=f"{where}:{n}")  # fmt: skip
        elif kind == "g":
            if len(cells) != 3 or not all(cells[1:]):
                raise InputError("expected 'g, SUBJECT, ROLE'", subject=f"{where}:{n}")
        else:
            raise InputError(f"a policy line starts with p or g, not {kind!r}",
                             subject=f"{where}:{n}")  # fmt: skip
        rules.append(tuple(cells))
    return rules


def _scopes(text: str, where: str) -> tuple[str, ...]:
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    elif inner.startswith("[") or inner.endswith("]"):
        raise InputError(f"scopes must look like '[groups, email]', not {text!r}", subject=where)
    return tuple(s.strip().strip("'\"") for s in inner.split(",") if s.strip())


def parse_configmap(data: Mapping[str, str], name: str = f"ConfigMap/{CONFIGMAP}") -> Policy:
    """``argocd-rbac-cm``'s ``data`` as a Policy (errors name ``name`` and the key:line)."""
    rules = parse_csv(str(data.get("policy.csv", "")), f"{name} policy.csv")
    for key in sorted(k for k in data if re.fullmatch(r"policy\..+\.csv", k)):
        rules += parse_csv(str(data[key]), f"{name} {key}")
    mode = str(data.get("policy.matchMode", "") or "glob").strip()
    if mode not in ("glob", "regex"):
        raise InputError(f"policy.matchMode must be glob or regex, not {mode!r}", subject=name)
    if mode == "regex":
        for rule in rules:
            for cell in rule[2:5] if rule[0] == "p" else ():
                try:
                    re.compile(cell)
                except re.error as exc:
                    raise InputError(f"bad regular expression {cell!r}: {exc}",
                                     subject=f"{name} policy.csv") from None  # fmt: skip
    scopes = _scopes(str(data["scopes"]), f"{name} scopes") if "scopes" in data else ("groups",)
    return Policy(tuple(rules), role_name(str(data.get("policy.default", ""))), scopes, mode)


def _translate(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[" and _class_end(pattern, i) > 0:
            end = _class_end(pattern, i)
            body = pattern[i + 1 : end]
            neg = body.startswith("!")
            body = body[1:] if neg else body
            out.append("[" + ("^" if neg else "") + body.replace("\\", "\\\\") + "]")
            i = end
        elif c == "{" and "}" in pattern[i:]:
            end = pattern.index("}", i)
            alts = pattern[i + 1 : end].split(",")
            out.append("(?:" + "|".join(_translate(a) for a in alts) + ")")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _class_end(pattern: str, start: int) -> int:
    """Index of the ``]`` closing the class opened at ``start``, else -1."""
    j = start + 1
    if pattern[j : j + 1] == "!":
        j += 1
    if pattern[j : j + 1] == "]":
        j += 1
    return pattern.find("]", j)


@lru_cache(maxsize=4096)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as Argo CD's glob package reads it (no separators), as an anchored regex."""
    return re.compile("(?s:" + _translate(pattern) + r")\Z")


def _glob_match(value: str, pattern: str) -> bool:
    return pattern == value or bool(glob_regex(pattern).match(value))


def _regex_match(value: str, pattern: str) -> bool:
    return re.search(pattern, value) is not None


def _any_of(patterns: Sequence[str], mode: str) -> Callable[[str], bool]:
    """``value → any pattern matches it``, as one compiled expression (glob mode)."""
    if not patterns:
        return lambda _value: False
    if mode == "regex":
        return lambda value: any(_regex_match(value, p) for p in patterns)
    literal = frozenset(patterns)
    rx = re.compile("(?s:" + "|".join(f"(?:{_translate(p)})" for p in patterns) + r")\Z")
    return lambda value: value in literal or rx.match(value) is not None


class Enforcer:
    """A casbin enforcer over the built-in policy and one ``Policy``; ``allowed`` is the check."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        model = Model()
        model.load_model_from_text(_MODEL)
        self._casbin = casbin.Enforcer(model)
        match = _regex_match if policy.match_mode == "regex" else _glob_match
        self._casbin.add_function("tokenMatch", match)
        rules = [*builtin_rules(), *policy.rules]
        rules += [("g", who, role_name(role)) for who, role in policy.bindings if role]
        p = [list(r[1:]) for r in rules if r[0] == "p"]
        g = [list(r[1:]) for r in rules if r[0] == "g"]
        if p:
            self._casbin.add_policies(p)
        if g:
            self._casbin.add_grouping_policies(g)
        self._lock = threading.Lock()

    def _one(self, subject: str, resource: str, action: str, obj: str) -> bool:
        with self._lock:
            return bool(self._casbin.enforce(subject, resource, action, obj))

    def object_filter(
        self, subject: str, claims: Mapping[str, Sequence[str] | str], resource: str,
        action: str,
    ) -> Callable[[str], bool]:  # fmt: skip
        """``obj → allowed(subject, claims, resource, action, obj)``, fast for many objects.

        The rules that can apply (their subject a role the caller holds, their resource
        and action matching) are picked once; each object is then matched against their
        object patterns only, in ``allowed``'s order (a list of 10,000 applications).
        """
        match = _regex_match if self.policy.match_mode == "regex" else _glob_match
        chain = [self.policy.default_role, subject]
        for scope in self.policy.scopes:
            values = claims.get(scope, ())
            chain += [values] if isinstance(values, str) else list(values)
        with self._lock:
            rules = [list(r) for r in self._casbin.get_policy()]
            held = [
                {s, *self._casbin.get_implicit_roles_for_user(s)} if s else set() for s in chain
            ]
        picked = [(r[0], r[3], r[4]) for r in rules
                  if match(resource, r[1]) and match(action, r[2])]  # fmt: skip
        mode = self.policy.match_mode
        subjects = []
        for h in held:
            allows = [o for s, o, e in picked if s in h and e == "allow"]
            if allows:
                denies = [o for s, o, e in picked if s in h and e == "deny"]
                subjects.append((_any_of(allows, mode), _any_of(denies, mode)))

        def check(obj: str) -> bool:
            return any(a(obj) and not d(obj) for a, d in subjects)

        return check

    def allowed(
        self, subject: str, claims: Mapping[str, Sequence[str] | str], resource: str,
        action: str, obj: str,
    ) -> bool:  # fmt: skip
        """Argo CD's order: the default role, then the subject, then each scoped claim."""
        default = self.policy.default_role
        if default and self._one(default, resource, action, obj):
            return True
        if subject and self._one(subject, resource, action, obj):
            return True
        for scope in self.policy.scopes:
            values = claims.get(scope, ())
            for value in [values] if isinstance(values, str) else values:
                if value and self._one(value, resource, action, obj):
                    return True
        return False
