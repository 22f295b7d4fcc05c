"""``Enforcer.object_filter`` answers as ``allowed`` does, object by object (it only picks
the rules once): default role, the account, roles of roles, groups, denies, globs."""

from __future__ import annotations

import pytest

from shipway.auth import rbac

POLICIES = {
    "glob": {
        "policy.default": "role:none",
        "policy.csv": """\
p, role:dev, applications, get, team-a/*, allow
p, role:dev, applications, get, team-a/secret-*, deny
p, role:lead, applications, *, team-?/web, allow
g, role:lead, role:dev
g, bob, role:lead
p, ops, applications, get, "{team-b,team-c}/*", allow
p, carol, applications, sync, */[!x]*, allow
""",
    },
    "default-readonly": {"policy.default": "role:readonly", "policy.csv": ""},
}
OBJECTS = ["team-a/web", "team-a/secret-db", "team-b/web", "team-c/api", "team-d/web",
           "x/xray", "x/yak", "default/web", "team-a/nested/app"]  # fmt: skip
WHO = [("alice", {}), ("bob", {}), ("carol", {}), ("dave", {"groups": ["ops"]}),
       ("admin", {}), ("erin", {"groups": ["role:dev"]})]  # fmt: skip


# not regex mode: ``allowed`` itself raises there on the built-in glob rules (re.error
# "nothing to repeat" on ``*``), a finding for the auth module's owner
CASES = [(n, a) for n in sorted(POLICIES) for a in ("get", "sync", "delete")]


@pytest.mark.parametrize(("name", "action"), CASES)
def test_filter_agrees_with_allowed(name: str, action: str) -> None:
    policy = rbac.parse_configmap(POLICIES[name]).with_bindings([("alice", "dev")])
    enf = rbac.Enforcer(policy)
    seen = set()
    for who, claims in WHO:
        check = enf.object_filter(who, claims, "applications", action)
        for obj in OBJECTS:
            want = enf.allowed(who, claims, "applications", action, obj)
            assert check(obj) == want, (name, who, action, obj)
            seen.add(want)
    if action == "get" and name != "default-readonly":
        assert seen == {True, False}  # the cases tell allowed from refused
