"""The fake API server over HTTP (a thread per request; watches stream JSON lines)."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

from fake_kube import pod_io, resources, ssa
from fake_kube.kubelet import Kubelet
from fake_kube.pod_logs import PodLogs
from fake_kube.store import ApiError, Store, matches, parse_selector

_PATH = re.compile(
    r"^/(?:api/(?P<cv>v1)|apis/(?P<g>[^/]+)/(?P<v>[^/]+))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?/?$"
)


_SUB = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)/(?P<sub>log|exec)$")


class FakeKube:
    """A running fake: ``url`` to talk to, ``store`` to inspect, ``close()`` to stop.

    With ``podman_env``, a fake kubelet runs Pods with podman (see ``kubelet``);
    ``claims`` maps PersistentVolumeClaim names to host directories for it.
    Without one, ``logs`` holds each container's output, as a test writes it,
    and serves the Pods' ``log`` subresource from it (see ``pod_logs``).
    """

    def __init__(
        self, podman_env: dict[str, str] | None = None, claims: dict[str, str] | None = None
    ) -> None:
        self.store = Store()
        self.logs = PodLogs(self.store)
        self.kubelet: Kubelet | None = None
        if podman_env is not None:
            self.kubelet = Kubelet(self.store, podman_env, claims)
            self.store.real_pods = True
        handler = type("Handler", (_Handler,), {"fake": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = self._handle_error  # type: ignore[method-assign]
        self.closing = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client gone is no error
            ThreadingHTTPServer.handle_error(self.httpd, request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def kubeconfig(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }

    def close(self) -> None:
        self.closing = True
        self.logs.close()
        if self.kubelet is not None:
            self.kubelet.close()
        with self.store.lock:
            self.store.lock.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def running(podman_env: dict[str, str] | None = None) -> Iterator[FakeKube]:
    fake = FakeKube(podman_env)
    try:
        yield fake
    finally:
        fake.close()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeKube
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- plumbing -----------------------------------------------------------

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        ctype = self.headers.get("Content-Type", "")
        if "yaml" in ctype:
            return yaml.safe_load(raw.decode() or "{}")
        return json.loads(raw.decode() or "{}")

    def _route(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        full = urllib.parse.parse_qs(url.query)
        q = {k: v[-1] for k, v in full.items()}
        try:
            sub = _SUB.match(url.path)
            if sub and self.command == "GET":
                return self._pod_io(sub["ns"], sub["name"], sub["sub"], full)
            self._dispatch(url.path, q)
        except ApiError as exc:
            self._send(exc.code, exc.status())
        except (ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
            self._send(400, ApiError(400, "BadRequest", str(exc)).status())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _route

    # -- routing ---------------------------------------------------------------

    def _dispatch(self, path: str, q: dict[str, str]) -> None:
        if self.command == "GET" and self._discovery(path):
            return
        m = _PATH.match(path)
        if not m:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource ({path})"
            )
        group, version = (m["g"], m["v"]) if m["g"] else ("", "v1")
        kind = resources.BY_PATH.get((group, version, m["plural"]))
        if kind is None:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource ({path})"
            )
        ns = m["ns"] or ("" if not kind.namespaced else None)
        name = m["name"]
        store = self.fake.store
        with store.lock:
            if self.command == "GET" and name is None and q.get("watch") in ("true", "1"):
                pass
            elif self.command == "GET" and name is None:
                items, rv = store.list(kind, ns, q.get("labelSelector", ""))
                items = _field_filter(items, q.get("fieldSelector", ""))
                return self._send(
                    200,
                    {
                        "kind": f"{kind.kind}List",
                        "apiVersion": kind.group_version,
                        "metadata": {"resourceVersion": rv},
                        "items": items,
                    },
                )
            elif self.command == "GET":
                return self._send(200, store.get(kind, ns or "", name))
            elif self.command == "POST" and name is None:
                obj = store.create(kind, ns or "", self._body())
                obj = ssa.record_update(None, obj, q.get("fieldManager", "unknown"))
                store.objects[(kind.kind, ns or "", obj["metadata"]["name"])] = obj
                if kind.kind == "Pod" and self.fake.kubelet is not None:
                    self.fake.kubelet.created(obj)
                return self._send(201, obj)
            elif self.command == "PUT" and name:
                before = store.get(kind, ns or "", name)
                obj = store.replace(kind, ns or "", name, self._body())
                obj = ssa.record_update(before, obj, q.get("fieldManager", "unknown"))
                store.objects[(kind.kind, ns or "", name)] = obj
                return self._send(200, obj)
            elif self.command == "PATCH" and name:
                return self._patch(kind, ns or "", name, q)
            elif self.command == "DELETE" and name:
                pods = [k for k in store.objects if k[0] == "Pod" and
                        (k[1:] == (ns, name) if kind.kind == "Pod" else
                         kind.kind == "Namespace" and k[1] == name)]  # fmt: skip
                gone = store.delete(kind, ns or "", name)
                for _, pns, pname in pods if self.fake.kubelet is not None else []:
                    self.fake.kubelet.deleted(pns, pname)
                if kind.kind == "Pod":  # graceful deletion answers with the object
                    gone["metadata"]["deletionTimestamp"] = gone["metadata"]["creationTimestamp"]
                    return self._send(200, gone)
                return self._send(
                    200,
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "metadata": {},
                        "status": "Success",
                        "details": {"name": name, "kind": kind.plural},
                    },
                )
            else:
                raise ApiError(405, "MethodNotAllowed", f"{self.command} is not supported here")
        self._watch(kind, ns, q)

    def _pod_io(self, ns: str, name: str, sub: str, q: dict[str, list[str]]) -> None:
        kubelet = self.fake.kubelet
        if kubelet is None and sub == "log":
            self.fake.logs.serve(self, ns, name, q)
            self.close_connection = True
            return
        if kubelet is None:
            raise ApiError(400, "BadRequest", "this fake runs no kubelet (no podman_env)")
        with self.fake.store.lock:
            ctr = kubelet.container(ns, name, (q.get("container") or [""])[-1])
        if sub == "log":
            pod_io.logs(self, kubelet, ctr, q)
        else:
            pod_io.exec_ws(self, kubelet, ctr, q.get("command") or [])
        self.close_connection = True

    def _discovery(self, path: str) -> bool:
        p = path.rstrip("/")
        if p == "/version":
            self._send(
                200,
                {
                    "major": "1",
                    "minor": "32",
                    "gitVersion": "v1.32.0-fake",
                    "platform": "linux/amd64",
                },
            )
        elif p == "/api":
            self._send(200, resources.discovery_root())
        elif p == "/apis":
            self._send(200, resources.discovery_groups())
        elif re.fullmatch(r"/api/v1|/apis/[^/]+/[^/]+", p):
            parts = p.split("/")
            group, version = ("", "v1") if parts[1] == "api" else (parts[2], parts[3])
            found = resources.discovery_resources(group, version)
            if found is None:
                return False
            self._send(200, found)
        else:
            return False
        return True

    def _patch(self, kind: resources.Kind, ns: str, name: str, q: dict[str, str]) -> None:
        store = self.fake.store
        ctype = self.headers.get("Content-Type", "")
        body = self._body()
        cur = store.find(kind, ns, name)
        if "apply-patch" in ctype:
            manager = q.get("fieldManager")
            if not manager:
                raise ApiError(
                    422,
                    "Invalid",
                    "PatchOptions.meta.k8s.io is invalid: "
                    "fieldManager: Required value: is required for apply patch",
                )
            body.setdefault("metadata", {}).setdefault("name", name)
            try:
                new = ssa.apply(cur, body, manager, q.get("force") == "true")
            except ssa.ApplyConflict as exc:
                fields = [(m, ssa.describe(p)) for m, p in exc.conflicts]
                msg = (
                    f"Apply failed with {len(fields)} conflict{'s' if len(fields) > 1 else ''}: "
                    + "; ".join(f'conflict with "{m}": {f}' for m, f in fields)
                )
                raise ApiError(
                    409,
                    "Conflict",
                    msg,
                    causes=[
                        {
                            "reason": "FieldManagerConflict",
                            "message": f'conflict with "{m}"',
                            "field": f,
                        }
                        for m, f in fields
                    ],
                ) from None
            if cur is None:
                obj = store.create(kind, ns, new)
                managed = new["metadata"]["managedFields"]
                obj["metadata"]["managedFields"] = managed
                store.objects[(kind.kind, ns, name)]["metadata"]["managedFields"] = managed
                return self._send(201, obj)
            new["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
            return self._send(200, store.replace(kind, ns, name, new))
        if cur is None:
            raise ApiError(404, "NotFound", f'{kind.plural} "{name}" not found', name=name)
        if "merge-patch" in ctype or "strategic-merge-patch" in ctype:
            new = _merge(cur, body)
        else:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an "
                "unknown format - accepted media types include: "
                "application/merge-patch+json, application/apply-patch+yaml",
            )
        new = ssa.record_update(cur, new, q.get("fieldManager", "unknown"))
        new["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
        self._send(200, store.replace(kind, ns, name, new))

    def _watch(self, kind: resources.Kind, ns: str | None, q: dict[str, str]) -> None:
        store = self.fake.store
        sel = parse_selector(q.get("labelSelector", ""))
        timeout = float(q.get("timeoutSeconds") or 300)
        deadline = time.monotonic() + timeout
        with store.lock:
            since = int(q.get("resourceVersion") or 0) or store.rv
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        pos = 0
        try:
            while not self.fake.closing and time.monotonic() < deadline:
                with store.lock:
                    while pos < len(store.events) and store.events[pos][0] <= since:
                        pos += 1
                    batch = store.events[pos:]
                    pos = len(store.events)
                    if not batch:
                        store.lock.wait(timeout=0.5)
                for rv, k, etype, obj in batch:
                    since = rv
                    if k != kind.kind or (
                        ns is not None and obj["metadata"].get("namespace", "") != ns
                    ):
                        continue
                    if not matches(obj["metadata"].get("labels") or {}, sel):
                        continue
                    line = json.dumps({"type": etype, "object": obj}).encode() + b"\n"
                    self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


def _merge(base: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7386)."""
    if not isinstance(patch, dict):
        return patch
    out = dict(base) if isinstance(base, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(out.get(k), v)
    return out


def _field_filter(items: list[dict[str, Any]], selector: str) -> list[dict[str, Any]]:
    for part in [p for p in selector.split(",") if p]:
        key, _, value = part.partition("=")
        if key == "metadata.name":
            items = [i for i in items if i["metadata"]["name"] == value]
        elif key == "metadata.namespace":
            items = [i for i in items if i["metadata"].get("namespace") == value]
    return items
