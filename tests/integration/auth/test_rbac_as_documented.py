"""argocd-rbac-cm in the forms Argo CD's RBAC pages document, stored with ``shipway apply``
and asked with ``shipway account can-i --as`` (the local store's policy).

The ConfigMap carries what a real one does: labels, comments inside ``policy.csv``, an
extra ``policy.<name>.csv`` key, quoted ``scopes`` and ``policy.matchMode``; the lines
use Argo CD's resources beyond shipway's own (``exec``, ``logs``, ``applicationsets``,
``extensions``, ``certificates``, ``gpgkeys``), ``*`` actions, fine-grained
``update/*`` and ``delete/<group>/<kind>/<ns>/<name>`` actions, SSO-style group names
with a colon and an email subject. Each line must be accepted and decide as documented.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from auth_controller import cli

pytestmark = pytest.mark.integration

CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-rbac-cm
  namespace: argocd
  labels:
    app.kubernetes.io/name: argocd-rbac-cm
    app.kubernetes.io/part-of: argocd
data:
  policy.default: role:readonly
  scopes: '[groups, email]'
  policy.matchMode: 'glob'
  policy.csv: |
    # the platform team administers every project's applications
    p, role:platform, applications, *, */*, allow
    p, role:platform, applicationsets, get, */*, allow
    p, role:platform, clusters, get, *, allow
    p, role:platform, repositories, *, *, allow
    p, role:platform, logs, get, */*, allow
    p, role:platform, exec, create, */*, allow
    p, role:platform, extensions, invoke, metrics, allow
    p, role:platform, certificates, get, *, allow
    p, role:platform, gpgkeys, get, *, allow
    # but may not touch the payments app's objects, except deleting its pods
    p, role:platform, applications, update/*, payments/api, deny
    p, role:platform, applications, delete/*/Pod/*/*, payments/api, allow
    g, acme-org:platform, role:platform

    # one developer syncs the shop project
    p, carol, applications, sync, shop/*, allow
  policy.qa.csv: |
    p, role:qa, applications, sync, staging/*, allow
    g, qa@example.org, role:qa
"""


@pytest.fixture
def policy(shipway_home: Path, tmp_path: Path) -> None:
    (tmp_path / "rbac.yaml").write_text(CM)
    applied = cli("apply", "-f", str(tmp_path / "rbac.yaml"))
    assert applied.returncode == 0, applied.stderr
    for args in (("ops", "--group", "acme-org:platform"), ("carol",),
                 ("quinn", "--email", "qa@example.org"), ("dave",)):  # fmt: skip
        made = cli("account", "create", *args[:1], "--no-password", *args[1:])
        assert made.returncode == 0, made.stderr


@pytest.mark.parametrize(
    ("who", "action", "resource", "obj", "answer"),
    [
        ("ops", "delete", "applications", "shop/web", "yes"),  # '*' action, '*/*' object
        ("ops", "get", "applicationsets", "shop/web-set", "yes"),
        ("ops", "create", "exec", "shop/web", "yes"),
        ("ops", "get", "logs", "shop/web", "yes"),
        ("ops", "invoke", "extensions", "metrics", "yes"),
        ("ops", "invoke", "extensions", "other", "no"),
        ("ops", "update", "repositories", "https://git.example/shop.git", "yes"),
        ("ops", "update", "clusters", "prod", "no"),
        ("ops", "update/apps/Deployment/pay/api", "applications", "payments/api", "no"),
        ("ops", "delete//Pod/pay/api-7d9c", "applications", "payments/api", "yes"),
        ("carol", "sync", "applications", "shop/web", "yes"),
        ("carol", "sync", "applications", "payments/api", "no"),
        ("carol", "get", "applications", "payments/api", "yes"),  # policy.default
        ("quinn", "sync", "applications", "staging/web", "yes"),  # by email, a scope
        ("quinn", "sync", "applications", "shop/web", "no"),
        ("dave", "get", "certificates", "x", "yes"),  # role:readonly, built in
        ("dave", "delete", "applications", "shop/web", "no"),
    ],
)
def test_documented_forms_decide_as_argo_cd_does(
    policy: None, who: str, action: str, resource: str, obj: str, answer: str
) -> None:
    can = cli("account", "can-i", action, resource, obj, "--as", who)
    assert (can.returncode, can.stdout.strip()) == (0, answer), can.stderr


def test_a_bad_line_names_its_key_and_line(shipway_home: Path, tmp_path: Path) -> None:
    bad = CM.replace("    g, qa@example.org, role:qa\n", "    g, qa@example.org\n")
    (tmp_path / "rbac.yaml").write_text(bad)
    applied = cli("apply", "-f", str(tmp_path / "rbac.yaml"))
    assert applied.returncode == 2, applied.stdout + applied.stderr
    assert "policy.qa.csv:2: expected 'g, SUBJECT, ROLE'" in applied.stderr
