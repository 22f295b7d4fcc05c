"""RBAC read from argocd-rbac-cm data as Argo CD documents it, enforced with casbin."""

from __future__ import annotations

import pytest

from shipway.auth import rbac
from shipway.model.errors import InputError


def enforcer(csv: str, default: str = "", **extra: str) -> rbac.Enforcer:
    return rbac.Enforcer(rbac.parse_configmap({"policy.csv": csv, "policy.default": default,
                                               **extra}))  # fmt: skip


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("default/*", "default/web", True),
        ("default/*", "other/web", False),
        ("*", "proj/app/deep", True),  # no separators: * crosses '/'
        ("action/extensions/*", "action/extensions/DaemonSet/test", True),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("[!x]b", "ab", True),
        ("[!x]b", "xb", False),
        ("[a-c]z", "bz", True),
        ("{dev,prod}/*", "prod/web", True),
        ("{dev,prod}/*", "qa/web", False),
        ("web.dev", "webxdev", False),  # '.' is literal
        ("x\\*", "x*", True),
        ("x\\*", "xy", False),
        ("default/web", "default/web2", False),  # anchored
    ],
)
def test_glob_matching(pattern: str, value: str, expected: bool) -> None:
    cell = f'"{pattern}"' if "," in pattern else pattern  # CSV quoting, as casbin reads it
    e = enforcer(f"p, alice, applications, get, {cell}, allow")
    assert e.allowed("alice", {}, "applications", "get", value) is expected


def test_roles_and_deny_overrides_allow() -> None:
    e = enforcer(
        "p, role:dev, applications, sync, default/*, allow\n"
        "p, role:dev, applications, sync, default/secret, deny\n"
        "g, alice, role:dev\n"
    )
    assert e.allowed("alice", {}, "applications", "sync", "default/web")
    assert not e.allowed("alice", {}, "applications", "sync", "default/secret")
    assert not e.allowed("alice", {}, "applications", "delete", "default/web")
    assert not e.allowed("bob", {}, "applications", "sync", "default/web")


def test_order_of_lines_does_not_matter() -> None:
    lines = [
        "p, alice, ci-runs, approve, web/*, allow",
        "p, alice, ci-runs, approve, web/prod, deny",
    ]
    for csv in ("\n".join(lines), "\n".join(reversed(lines))):
        e = enforcer(csv)
        assert not e.allowed("alice", {}, "ci-runs", "approve", "web/prod")
        assert e.allowed("alice", {}, "ci-runs", "approve", "web/staging")


def test_default_role_cannot_be_denied() -> None:
    e = enforcer("p, alice, applications, get, default/web, deny", default="role:readonly")
    # Argo CD: what policy.default grants, a deny for the subject does not take away
    assert e.allowed("alice", {}, "applications", "get", "default/web")
    assert not e.allowed("alice", {}, "applications", "sync", "default/web")


def test_builtin_roles() -> None:
    e = enforcer("g, viewer, role:readonly\n")
    for res, obj in [("applications", "p/a"), ("clusters", "c"), ("repositories", "r"),
                     ("projects", "p"), ("pipelines", "x"), ("promotions", "p/s")]:  # fmt: skip
        assert e.allowed("viewer", {}, res, "get", obj)
        assert e.allowed("admin", {}, res, "get", obj)  # role:admin inherits role:readonly
    assert e.allowed("viewer", {}, "ci-runs", "logs", "web/123")
    assert not e.allowed("viewer", {}, "ci-runs", "approve", "web/prod")
    assert not e.allowed("viewer", {}, "applications", "sync", "default/web")
    assert e.allowed("admin", {}, "ci-runs", "approve", "web/prod")
    assert e.allowed("admin", {}, "applications", "action/apps/Deployment/restart", "p/a")
    assert not e.allowed("nobody", {}, "applications", "get", "p/a")


def test_scopes_name_the_claims_used_as_groups() -> None:
    csv = "g, team-a, role:admin\ng, a@example.org, role:readonly\n"
    groups = enforcer(csv)  # scopes default to [groups]
    assert groups.allowed("carol", {"groups": ["team-a"]}, "clusters", "delete", "c")
    assert not groups.allowed("carol", {"email": "a@example.org"}, "clusters", "get", "c")
    email = enforcer(csv, scopes="[groups, email]")
    assert email.allowed("carol", {"email": "a@example.org"}, "clusters", "get", "c")
    none = enforcer(csv, scopes="[]")
    assert not none.allowed("carol", {"groups": ["team-a"]}, "clusters", "get", "c")


def test_each_subject_is_evaluated_alone() -> None:
    # Argo CD checks the user, then each group: a group's allow is not cancelled by
    # a deny written for the user, only a deny within the same subject counts
    e = enforcer("p, dave, pipelines, delete, web, deny\np, ops, pipelines, delete, *, allow")
    assert not e.allowed("dave", {}, "pipelines", "delete", "web")
    assert e.allowed("dave", {"groups": ["ops"]}, "pipelines", "delete", "web")


def test_extra_policy_files_and_bindings() -> None:
    policy = rbac.parse_configmap(
        {
            "policy.csv": "p, role:dev, pipelines, get, *, allow",
            "policy.b.csv": "g, erin, role:dev",
            "policy.a.csv": "p, role:qa, pipelines, update, *, allow",
        }
    )
    e = rbac.Enforcer(policy.with_bindings([("frank", "qa")]))
    assert e.allowed("erin", {}, "pipelines", "get", "x")
    assert e.allowed("frank", {}, "pipelines", "update", "x")
    assert not e.allowed("frank", {}, "pipelines", "get", "x")


def test_regex_match_mode() -> None:
    e = enforcer("p, alice, applications, get, ^default/web-[0-9]+$, allow",
                 **{"policy.matchMode": "regex"})  # fmt: skip
    assert e.allowed("alice", {}, "applications", "get", "default/web-12")
    assert not e.allowed("alice", {}, "applications", "get", "default/web-x")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"policy.csv": "# fine\n\np, a, b, c\n"}, "policy.csv:3: expected 'p, SUBJECT"),
        ({"policy.csv": "p, a, b, c, d, maybe"}, "policy.csv:1: effect must be allow or deny"),
        ({"policy.csv": "g, alice"}, "policy.csv:1: expected 'g, SUBJECT, ROLE'"),
        ({"policy.csv": "x, a, b"}, "policy.csv:1: a policy line starts with p or g"),
        ({"policy.x.csv": "\n\nq"}, "policy.x.csv:3:"),
        ({"policy.matchMode": "fuzzy"}, "policy.matchMode must be glob or regex"),
        ({"scopes": "[groups"}, "scopes must look like"),
    ],
)
def test_bad_policy_names_the_line(data: dict[str, str], message: str) -> None:
    with pytest.raises(InputError) as err:
        rbac.parse_configmap(data)
    assert message in str(err.value)
    assert str(err.value).startswith("ConfigMap/argocd-rbac-cm")


def test_role_names() -> None:
    assert rbac.role_name("dev") == "role:dev"
    assert rbac.role_name("role:admin") == "role:admin"
    assert rbac.role_name("") == ""
