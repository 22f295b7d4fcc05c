"""Through the controller, ``shipway approve`` / ``promote`` / ``stage verify`` act as the
logged-in account: RBAC decides, and the approval is recorded under that account's name.

A real ``shipway controller`` serves the store; the CLI logs in with each account's token,
so the same commands a person types on the controller's host go through the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from auth_controller import Controller, cli, running

from kargo_shop import KARGO, freight

pytestmark = pytest.mark.integration

RBAC_CM = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-rbac-cm, namespace: argocd}
data:
  policy.csv: |
    p, role:release, promotions, approve, shop/prod, allow
    p, role:release, promotions, promote, shop/dev, allow
    p, role:dev, promotions, get, shop/*, allow
"""


@pytest.fixture
def ctl(shipway_home: Path) -> Iterator[Controller]:
    with running(shipway_home) as c:
        yield c


def _token(name: str, role: str) -> str:
    assert cli("account", "create", name, "--no-password", "--role", role).returncode == 0
    tok = cli("account", "token", "create", name)
    assert tok.returncode == 0, tok.stderr
    return tok.stdout.strip()


def test_approve_and_promote_as_the_logged_in_account(ctl: Controller, tmp_path: Path) -> None:
    docs = [KARGO, RBAC_CM, yaml.safe_dump(freight("f1a2b3c4d5e6", "calm-heron", "1.0.0"))]
    (tmp_path / "shop.yaml").write_text("---\n".join(docs))
    applied = cli("apply", "-f", str(tmp_path / "shop.yaml"))
    assert applied.returncode == 0, applied.stderr
    alice, bob = _token("alice", "release"), _token("bob", "dev")

    assert cli("login", ctl.url, "--token", bob).returncode == 0
    refused = cli("approve", "--project", "shop", "--freight", "calm-heron", "--stage", "prod")
    assert refused.returncode == 6, refused.stderr
    assert "promotions, approve, shop/prod" in refused.stderr

    assert cli("login", ctl.url, "--token", alice).returncode == 0
    ok = cli("approve", "--project", "shop", "--freight", "calm-heron", "--stage", "prod")
    assert ok.returncode == 0, ok.stderr
    assert "freight.kargo.akuity.io/f1a2b3c4d5e6 approved for stage prod" in ok.stdout
    # read on the controller's host: the approval is alice's, not the OS user's
    got = cli("--core", "get", "freight", "f1a2b3c4d5e6", "-n", "shop", "-o", "json")
    status = json.loads(got.stdout)["status"]
    assert "prod" in status["approvedFor"]
    assert [a["approver"] for a in status["approvals"]["prod"]] == ["alice"]

    waited = cli("promote", "--project", "shop", "--freight", "calm-heron", "--stage", "dev",
                 "--wait")  # fmt: skip
    assert waited.returncode == 2 and "--wait' works on the local store only" in waited.stderr
    started = cli("promote", "--project", "shop", "--freight", "calm-heron", "--stage", "dev")
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("promotion.kargo.akuity.io/dev.")
    name = started.stdout.split("/", 1)[1].split()[0]
    promo = cli("--core", "get", "promotion", name, "-n", "shop", "-o", "json")
    assert json.loads(promo.stdout)["metadata"]["annotations"]["kargo.akuity.io/create-actor"] \
        == "alice"  # fmt: skip
    denied = cli("stage", "verify", "--project", "shop", "prod")
    assert denied.returncode == 6 and "promotions, verify, shop/prod" in denied.stderr
