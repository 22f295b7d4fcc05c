"""Tekton Triggers' Trigger objects and remote interceptors through the controller's hook.

A loopback HTTP server stands for the webhook interceptor's Service and a
ClusterInterceptor: the event posted to ``/hooks/tekton/team/grouped`` goes
through the trigger group's ``webhook`` (which rewrites the body and adds a
header) and ``cel``, then through the selected Trigger's ClusterInterceptor
(sent Tekton's InterceptorRequest, answering extensions), and the TaskRun its
template makes runs with what each added. A Trigger selected by the
listener's ``labelSelector`` carries the github ``secretRef``: its signature
is a credential of the hook, and is checked again by the interceptor.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

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
SHIPWAY = str(Path(sys.executable).parent / "shipway")
SECRET = "trigger-secret-7"

OBJECTS = """\
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata: {name: say, namespace: team}
spec:
  params: [{name: what}]
  resourcetemplates:
    - apiVersion: tekton.dev/v1
      kind: TaskRun
      metadata: {generateName: say-}
      spec:
        taskSpec:
          steps: [{name: s, script: "echo said: $(tt.params.what)"}]
---
apiVersion: triggers.tekton.dev/v1alpha1
kind: ClusterInterceptor
metadata: {name: checker}
spec:
  clientConfig: {url: "BASE/ask"}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: Trigger
metadata: {name: checked, namespace: team, labels: {stage: checked}}
spec:
  interceptors:
    - ref: {name: checker, kind: ClusterInterceptor}
      params: [{name: want, value: ok}]
  bindings:
    - name: what
      value: "$(body.rewritten) $(header.X-Rewritten) $(extensions.short) $(extensions.verdict)"
  template: {ref: say}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: Trigger
metadata: {name: signed, namespace: team, labels: {stage: signed}}
spec:
  interceptors:
    - ref: {name: github}
      params:
        - {name: secretRef, value: {secretName: hook-secret, secretKey: token}}
        - {name: eventTypes, value: [push]}
  bindings: [{name: what, value: "signed $(body.ref)"}]
  template: {ref: say}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: grouped, namespace: team}
spec:
  triggerGroups:
    - name: rewrite
      interceptors:
        - webhook:
            url: "BASE/hook"
            header: [{name: X-Asked-By, value: shipway}]
        - ref: {name: cel}
          params:
            - {name: overlays, value: [{key: short, expression: "body.after.truncate(5)"}]}
      triggerSelector:
        labelSelector: {matchLabels: {stage: checked}}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: labelled, namespace: team}
spec:
  labelSelector: {matchLabels: {stage: signed}}
"""

BODY = json.dumps({"ref": "refs/heads/main", "after": "abcdef123"}).encode()


class Interceptors(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, dict[str, str], Any]]] = []

    def do_POST(self) -> None:
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append((self.path, dict(self.headers.items()), data))
        if self.path == "/hook":  # a webhook interceptor: answers the new body and headers
            reply = {**data, "rewritten": f"hooked-{data['ref'].rsplit('/', 1)[-1]}"}
            headers = {"X-Rewritten": self.headers.get("X-Asked-By", "")}
        else:  # a ClusterInterceptor: an InterceptorResponse
            ok = data["interceptor_params"] == {"want": "ok"} and "short" in data["extensions"]
            reply = {"continue": ok, "extensions": {"verdict": "approved"},
                     "status": {} if ok else {"code": 9, "message": "bad request"}}  # fmt: skip
            headers = {}
        out = json.dumps(reply).encode()
        self.send_response(200)
        for k, v in {**headers, "Content-Type": "application/json"}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def setup(shipway_home: Path) -> Iterator[tuple[TestClient, Store, Controller]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Interceptors)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    settings = Settings(home=shipway_home)
    store = open_store(settings)
    secret = shipway_home / "secrets" / "team" / "hook-secret.yaml"
    secret.parent.mkdir(parents=True)
    secret.write_text(json.dumps({"kind": "Secret", "stringData": {"token": SECRET}}))
    resources.apply(store, parse_text(OBJECTS.replace("BASE", base), "triggers.yaml"))
    controller = Controller(settings, store)
    Interceptors.seen = []
    yield TestClient(create_app(controller)), store, controller
    controller.shutdown()
    server.shutdown()
    server.server_close()


def _run_lane(store: Store, controller: Controller) -> list[dict[str, Any]]:
    [raw] = inbox.items(store, "tekton")
    item = inbox.Item(int(raw["id"]), "tekton", raw["payload"], 0, None, dt.datetime.now(dt.UTC))
    return tekton_hook.handle(store, controller.settings, item)


def test_a_trigger_group_and_a_cluster_interceptor_shape_the_run(
        setup: tuple[TestClient, Store, Controller]) -> None:  # fmt: skip
    client, store, controller = setup
    token = controller.tokens.tekton("team", "grouped")
    got = client.post("/hooks/tekton/team/grouped", content=BODY, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
        "X-GitHub-Event": "push"})  # fmt: skip
    assert got.status_code == 202, got.text
    [record] = _run_lane(store, controller)
    assert record["kind"] == "TaskRun" and record["conclusion"] == "success", record
    _, log = get_run(store, record["id"])
    assert "said: hooked-main shipway abcde approved" in log, log
    [(hook_path, hook_headers, hook_body), (ask_path, _, request)] = Interceptors.seen
    assert hook_path == "/hook" and hook_body == json.loads(BODY)  # no extensions yet
    assert hook_headers["X-Asked-By"] == "shipway" and "Authorization" not in hook_headers
    assert hook_headers["Eventlistener-Request-Url"] == "/hooks/tekton/team/grouped"
    assert ask_path == "/ask"
    assert json.loads(request["body"])["rewritten"] == "hooked-main"
    assert request["extensions"] == {"short": "abcde"}
    assert request["header"]["X-Rewritten"] == ["shipway"]
    assert request["context"]["trigger_id"] == "namespaces/team/triggers/checked"


def test_a_selected_triggers_secret_signs_the_hook_and_is_checked_again(
        setup: tuple[TestClient, Store, Controller]) -> None:  # fmt: skip
    client, store, controller = setup
    url = "/hooks/tekton/team/labelled"
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    assert client.post(url, content=BODY, headers=headers).status_code == 401
    sig = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    got = client.post(url, content=BODY, headers={**headers, "X-Hub-Signature-256": sig})
    assert got.status_code == 202, got.text
    [record] = _run_lane(store, controller)
    assert record["conclusion"] == "success", record
    _, log = get_run(store, record["id"])
    assert "said: signed refs/heads/main" in log, log
    # with the listener's own token but no signature, the github interceptor stops it
    token = controller.tokens.tekton("team", "labelled")
    got = client.post(url, content=BODY, headers={**headers, "Authorization": f"Bearer {token}",
                                                  "X-GitHub-Delivery": "d-9"})  # fmt: skip
    assert got.status_code == 202, got.text
    latest = max(inbox.items(store, "tekton"), key=lambda i: int(i["id"]))
    item = inbox.Item(int(latest["id"]), "tekton", latest["payload"], 0, None,
                      dt.datetime.now(dt.UTC))  # fmt: skip
    assert tekton_hook.handle(store, controller.settings, item) == []


BAD = """\
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: el}
spec:
  triggers:
    - triggerRef: t
      bindings: []
  triggerGroups:
    - interceptors: [{ref: {name: gihub}}]
      triggerSelector: {labelSelector: {matchLabels: {a: b}}}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: Trigger
metadata: {name: t}
spec:
  interceptors: [{webhook: {url: "http://127.0.0.1:9/x", header: [{name: X-A, value: ""}]}}]
  template: {ref: tt, spec: {resourcetemplates: []}}
"""


def test_apply_names_every_problem_and_stores_nothing(tmp_path: Path,
                                                      shipway_home: Path) -> None:  # fmt: skip
    (tmp_path / "bad.yaml").write_text(BAD)
    done = subprocess.run([SHIPWAY, "apply", "-f", "bad.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.removeprefix("error: ").splitlines()
    assert [ln.split(" ", 1)[0] for ln in lines] == [
        "bad.yaml:6:7:",
        "bad.yaml:9:29:",
        "bad.yaml:16:79:",
        "bad.yaml:17:3:",
    ], lines
    assert "interceptor 'gihub' is not served" in lines[1]
    assert "got both: triggerRef, bindings" in lines[0]
    store = open_store(Settings(home=shipway_home))
    assert resources.list_kind(store, "EventListener") == []


CHANGED = """\
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata: {name: files, namespace: team}
spec:
  params: [{name: files}]
  resourcetemplates:
    - apiVersion: tekton.dev/v1
      kind: TaskRun
      metadata: {generateName: files-}
      spec:
        taskSpec:
          steps: [{name: s, script: "echo $(tt.params.files)"}]
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: changes, namespace: team}
spec:
  triggers:
    - name: changed
      interceptors:
        - ref: {name: github}
          params:
            - name: addChangedFiles
              value:
                enabled: true
                personalAccessToken: {secretName: gh-token, secretKey: token}
      bindings: [{name: files, value: $(extensions.changed_files)}]
      template: {ref: files}
"""


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          cwd=cwd, capture_output=True, text=True, check=True).stdout  # fmt: skip


def test_add_changed_files_asks_the_forge_for_a_pull_requests_files(
        tmp_path: Path, shipway_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from forge_server import TOKEN, ForgeServer
    from shipway.ci.tekton import trigger_eval
    from shipway.ci.tekton_run.trigger_ports import store_ports

    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q", "-b", "main")
    (work / "keep.txt").write_text("k\n")
    (work / "gone.txt").write_text("g\n")
    _git(work, "add", ".")
    _git(work, "commit", "-q", "-m", "base")
    _git(work, "checkout", "-q", "-b", "feature")
    (work / "keep.txt").write_text("changed\n")
    (work / "gone.txt").unlink()
    (work / "new").mkdir()
    (work / "new" / "file.txt").write_text("n\n")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "feature")
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(tmp_path / "bare.git"))
    forge = ForgeServer()
    try:
        forge.add_repo("org/app", tmp_path / "bare.git")
        import httpx

        made = httpx.post(f"{forge.api('github')}/repos/org/app/pulls",
                          headers={"Authorization": f"Bearer {TOKEN}"},
                          json={"title": "f", "head": "feature", "base": "main"})  # fmt: skip
        assert made.status_code == 201, made.text
        number = made.json()["number"]
        monkeypatch.setenv("SHIPWAY_GITHUB_API_URL", forge.api("github"))
        store = open_store(Settings(home=shipway_home))
        resources.apply(store, parse_text(CHANGED, "changed.yaml"))
        listener = resources.find(store, "EventListener", "changes", "team")
        assert listener is not None
        keys = {("team", "gh-token", "token"): TOKEN}
        ports = store_ports(store, lambda *key: keys.get(key))
        body = {"number": number, "repository": {"full_name": "org/app"}}
        pr = trigger_eval.Event(body, {"X-GitHub-Event": "pull_request"})
        [fired] = trigger_eval.fire("changes", "team", listener.spec, pr, ports)
        assert not fired.error, fired.error
        script = fired.runs[0]["spec"]["taskSpec"]["steps"][0]["script"]
        assert sorted(script.removeprefix("echo ").split(",")) == [
            "gone.txt", "keep.txt", "new/file.txt"]  # fmt: skip
        push = trigger_eval.Event({"repository": {"full_name": "org/app"}, "commits": [
            {"added": ["a"], "modified": ["b"], "removed": []},
            {"added": [], "modified": [], "removed": ["c"]}]},
            {"X-GitHub-Event": "push"})  # fmt: skip
        [fired] = trigger_eval.fire("changes", "team", listener.spec, push, ports)
        assert fired.runs[0]["spec"]["taskSpec"]["steps"][0]["script"] == "echo a,b,c"
        wrong = store_ports(store, lambda *_key: "not-the-token")
        [fired] = trigger_eval.fire("changes", "team", listener.spec, pr, wrong)
        assert fired.error.startswith("github: error getting changed files: ") and (
            " 401 " in fired.error), fired.error  # fmt: skip
    finally:
        forge.stop()
