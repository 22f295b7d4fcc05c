"""A Tekton EventListener's own URL on the controller: ``POST /hooks/tekton/<ns>/<listener>``.

Through the controller's HTTP app: 404 for no such listener, 401 without a
credential, the listener's token, the forge secret's signature and a github
interceptor's ``secretRef`` signature accepted (202, the event in the
inbox), a delivery told again ignored, a body that is not a JSON object a 400;
then the lane's handler fires the listener's trigger on the stored event and
runs the PipelineRun its template makes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shipway.controller import tekton_hook
from shipway.controller.core import Controller
from shipway.model.resources import parse_text
from shipway.server.app import create_app
from shipway.settings import Settings
from shipway.store import inbox, resources
from shipway.store.db import Store, open_store
from shipway.store.runs import get_run

pytestmark = pytest.mark.integration
SECRET = "interceptor-secret-1"
SHIPWAY = str(Path(sys.executable).parent / "shipway")

LISTENER = """\
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata: {name: show, namespace: team}
spec:
  params: [{name: ref}]
  resourcetemplates:
    - apiVersion: tekton.dev/v1
      kind: PipelineRun
      metadata: {generateName: show-}
      spec:
        pipelineSpec:
          tasks:
            - name: say
              taskSpec:
                steps:
                  - {name: s, script: "echo pushed $(tt.params.ref)"}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: pushes, namespace: team}
spec:
  triggers:
    - name: on-push
      interceptors:
        - ref: {name: github}
          params:
            - {name: secretRef, value: {secretName: hook-secret, secretKey: token}}
            - {name: eventTypes, value: [push]}
      bindings:
        - {name: ref, value: $(body.ref)}
      template: {ref: show}
"""

BODY = json.dumps({"ref": "refs/heads/main", "after": "a" * 40}).encode()


@pytest.fixture
def setup(shipway_home: Path) -> Iterator[tuple[TestClient, Store, Controller]]:
    settings = Settings(home=shipway_home)
    store = open_store(settings)
    secret = shipway_home / "secrets" / "team" / "hook-secret.yaml"
    secret.parent.mkdir(parents=True)
    secret.write_text(json.dumps({"kind": "Secret", "stringData": {"token": SECRET}}))
    resources.apply(store, parse_text(LISTENER, "listener.yaml"))
    controller = Controller(settings, store)
    yield TestClient(create_app(controller)), store, controller
    controller.shutdown()


def _sig(secret: str, body: bytes = BODY) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _headers(**extra: str) -> dict[str, str]:
    return {"X-GitHub-Event": "push", "Content-Type": "application/json", **extra}


def test_the_hook_checks_its_credential(setup: tuple[TestClient, Store, Controller]) -> None:
    client, store, controller = setup
    url = "/hooks/tekton/team/pushes"
    assert client.post("/hooks/tekton/team/nope", content=BODY,
                       headers=_headers()).status_code == 404  # fmt: skip
    assert client.post(url, content=BODY, headers=_headers()).status_code == 401
    wrong = client.post(url, content=BODY, headers=_headers(**{"X-Hub-Signature-256":
                                                              _sig("other")}))  # fmt: skip
    assert wrong.status_code == 401
    other_listener = controller.tokens.tekton("team", "other")
    assert client.post(url, content=BODY, headers=_headers(
        Authorization=f"Bearer {other_listener}")).status_code == 401  # fmt: skip
    assert inbox.items(store, "tekton") == []
    token = controller.tokens.tekton("team", "pushes")
    printed = subprocess.run([SHIPWAY, "hook", "token", "tekton", "team/pushes"],
                             capture_output=True, text=True, check=True)  # fmt: skip
    assert printed.stdout.strip() == token
    by_token = client.post(url, content=BODY, headers=_headers(Authorization=f"Bearer {token}"))
    assert by_token.status_code == 202, by_token.text
    forge = controller.tokens.forge()
    by_forge = client.post(url, content=BODY, headers=_headers(**{
        "X-Hub-Signature-256": _sig(forge), "X-GitHub-Delivery": "d-1"}))  # fmt: skip
    assert by_forge.status_code == 202, by_forge.text
    by_interceptor = client.post(url, content=BODY, headers=_headers(**{
        "X-Hub-Signature-256": _sig(SECRET), "X-GitHub-Delivery": "d-2"}))  # fmt: skip
    assert by_interceptor.status_code == 202, by_interceptor.text
    again = client.post(url, content=BODY, headers=_headers(**{
        "X-Hub-Signature-256": _sig(SECRET), "X-GitHub-Delivery": "d-2"}))  # fmt: skip
    assert again.status_code == 200 and again.json()["duplicate"] is True
    listed = b"[1, 2]"
    bad = client.post(url, content=listed, headers=_headers(Authorization=f"Bearer {token}"))
    assert bad.status_code == 400 and "not a JSON object" in bad.text
    deep = b"[" * 50_000 + b"]" * 50_000  # past the interpreter's recursion limit
    for hostile, reason in ((deep, "nested deeper than 200 levels"), (b"{\xff}", "not UTF-8")):
        refused = client.post(url, content=hostile,
                              headers=_headers(Authorization=f"Bearer {token}"))  # fmt: skip
        assert refused.status_code == 400 and reason in refused.text, refused.text
    items = inbox.items(store, "tekton")
    assert len(items) == 3
    assert all("Authorization" not in i["payload"]["headers"] for i in items)


def test_the_lane_runs_what_the_trigger_makes(setup: tuple[TestClient, Store, Controller],
                                              shipway_home: Path) -> None:  # fmt: skip
    client, store, controller = setup
    got = client.post("/hooks/tekton/team/pushes", content=BODY, headers=_headers(**{
        "X-Hub-Signature-256": _sig(SECRET)}))  # fmt: skip
    assert got.status_code == 202, got.text
    [raw] = inbox.items(store, "tekton")
    item = inbox.Item(int(raw["id"]), "tekton", raw["payload"], 0, None, dt.datetime.now(dt.UTC))
    [record] = tekton_hook.handle(store, controller.settings, item)
    assert record["kind"] == "PipelineRun" and record["name"].startswith("show-")
    assert record["conclusion"] == "success", record
    stored, log = get_run(store, record["id"])
    assert stored["status"]["conditions"][0]["reason"] == "Succeeded"
    assert "[say] [step-s] pushed refs/heads/main" in log
