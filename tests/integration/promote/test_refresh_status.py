"""Kargo's refresh requests and promotion-window status as the controller writes them.

``shipway refresh warehouse|stage --project P NAME`` writes the
``kargo.akuity.io/refresh`` annotation and the object's
``status.lastHandledRefresh`` then holds it; a Warehouse carrying a request not
handled yet is discovered by the next poll whatever its interval; a Stage's
``status.promotionWindowStatus`` follows the project's ``promotionWindows``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from updater_helpers import push_image

from shipway.cli.main import cli
from shipway.images.registry import RegistryClient
from shipway.model.resources import parse_text
from shipway.promote import refreshes, stage_refresh, warehouse
from shipway.settings import Settings
from shipway.store import resources as store
from shipway.store.db import open_store

pytestmark = pytest.mark.integration

_PROJECT = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: demo}\n"


def test_warehouse_refresh_is_recorded_as_handled_and_a_pending_one_is_due(
    registry: Any, shipway_home: Path, tmp_path: Path
) -> None:
    repo = f"demo/refresh-{uuid.uuid4().hex[:8]}"
    client = RegistryClient(registry.host)
    push_image(client, repo, "1.0.0", created="2026-01-01T00:00:00Z")
    db = open_store(Settings())
    wh = (
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\n"
        "metadata: {name: web, namespace: demo}\n"
        f"spec:\n  interval: 1h\n  subscriptions:\n  - image: {{repoURL: {registry.host}/{repo}}}\n"
    )
    store.apply(db, parse_text(_PROJECT + "---\n" + wh, "w.yaml"))
    out = CliRunner().invoke(cli, ["refresh", "warehouse", "web", "--project", "demo"])
    assert out.exit_code == 0, out.output
    assert "created" in out.output
    res = store.get(db, "Warehouse", "web", "demo")
    token = res.body["metadata"]["annotations"][refreshes.ANNOTATION]
    assert dt.datetime.strptime(token, "%Y-%m-%dT%H:%M:%SZ")  # RFC 3339 UTC, as kargo's CLI
    assert res.status["lastHandledRefresh"] == token
    assert res.generation == 1  # a metadata change, not a new spec

    # within the hour: not due, unless a refresh is asked for and not handled yet
    assert warehouse.poll_due(db, workdir=tmp_path) == []
    store.annotate(db, "Warehouse", "web", refreshes.ANNOTATION, "please", "demo")
    push_image(client, repo, "1.1.0", created="2026-01-02T00:00:00Z")
    [result] = warehouse.poll_due(db, workdir=tmp_path)
    assert result.created and result.error is None
    assert store.get(db, "Warehouse", "web", "demo").status["lastHandledRefresh"] == "please"
    assert warehouse.poll_due(db, workdir=tmp_path) == []
    db.close()


def _stage_docs(windows: str) -> str:
    return (
        _PROJECT
        + f"""---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {{name: demo, namespace: demo}}
spec:
  promotionWindows:
{windows}---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: web, namespace: demo}}
spec:
  subscriptions:
  - image: {{repoURL: registry.example/web}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {{name: prod, namespace: demo}}
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: web}}
    sources: {{direct: true}}
  promotionTemplate:
    spec:
      steps:
      - uses: fail
        config: {{message: never run here}}
"""
    )


def test_stage_refresh_and_promotion_window_status(shipway_home: Path) -> None:
    db = open_store(Settings())
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(hours=1), now + dt.timedelta(hours=2)
    fmt = "%Y%m%dT%H%M%SZ"
    freeze = (f"  - name: freeze\n    kind: Deny\n    dtstart: '{start.strftime(fmt)}'\n"
              f"    dtend: '{end.strftime(fmt)}'\n")  # fmt: skip
    store.apply(db, parse_text(_stage_docs(freeze), "kargo.yaml"))
    stage_refresh.refresh(db, "demo", "prod")
    status = store.get(db, "Stage", "prod", "demo").status
    until = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert status["promotionWindowStatus"] == {
        "closed": True,
        "reason": f"deny window freeze is open until {until}",
        "nextOpen": until,
    }
    assert "lastHandledRefresh" not in status  # no refresh asked for yet

    out = CliRunner().invoke(cli, ["refresh", "stage", "prod", "--project", "demo"])
    assert out.exit_code == 0, out.output
    res = store.get(db, "Stage", "prod", "demo")
    token = res.body["metadata"]["annotations"][refreshes.ANNOTATION]
    assert res.status["lastHandledRefresh"] == token and token in out.output

    # the freeze moved to tomorrow: open, and the status says when it closes and why
    later = now + dt.timedelta(days=1)
    moved = (f"  - name: freeze\n    kind: Deny\n    dtstart: '{later.strftime(fmt)}'\n"
             f"    dtend: '{(later + dt.timedelta(hours=1)).strftime(fmt)}'\n")  # fmt: skip
    store.apply(db, parse_text(_stage_docs(moved), "kargo.yaml"))
    stage_refresh.refresh(db, "demo", "prod")
    assert store.get(db, "Stage", "prod", "demo").status["promotionWindowStatus"] == {
        "closed": False, "nextClose": later.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nextCloseReason": "deny window freeze opens"}  # fmt: skip
    out = CliRunner().invoke(cli, ["get", "stages", "--project", "demo", "-o", "json"])
    assert out.exit_code == 0, out.output
    assert '"promotionWindowStatus"' in out.output and '"lastHandledRefresh"' in out.output
    db.close()
