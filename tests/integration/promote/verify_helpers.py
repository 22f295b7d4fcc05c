"""Helpers for the verification tests: a health endpoint whose answer a test sets, Kargo docs."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

from shipway.model.resources import Resource, parse_text
from shipway.promote import freight as freight_mod
from shipway.store import resources as store_resources
from shipway.store.db import Store


@dataclass
class Health:
    """``GET /healthz`` answers ``body`` with ``code``; ``/metrics`` serves ``web_ok``."""

    url: str = ""
    code: int = 200
    body: dict[str, Any] = field(default_factory=lambda: {"status": "ok", "score": 1.0})
    hits: int = 0


@contextmanager
def health_server() -> Iterator[Health]:
    health = Health()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            health.hits += 1
            if self.path == "/metrics":
                ok = 1 if health.body.get("status") == "ok" else 0
                data = f"# TYPE web_ok gauge\nweb_ok {ok}\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
            else:
                data = json.dumps(health.body).encode()
                self.send_response(health.code)
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    health.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield health
    finally:
        server.shutdown()
        server.server_close()


def docs(url: str, *, policies: list[dict[str, Any]] | None = None,
         windows: list[dict[str, Any]] | None = None, metric: dict[str, Any] | None = None,
         soak: str = "1h", uat_notes: dict[str, str] | None = None,
         args: dict[str, str] | None = None) -> str:  # fmt: skip
    """Project demo: Warehouse web, Stages test (direct, verified by the template) and uat."""
    steps = [
        {
            "uses": "compose-output",
            "as": "out",
            "config": {"freight": "${{ ctx.targetFreight.name }}"},
        }
    ]
    metric = metric or {"name": "health", "successCondition": "result == 'ok'",
                        "provider": {"web": {"url": "{{args.base}}/healthz",
                                             "jsonPath": "{$.status}"}}}  # fmt: skip
    out = [
        {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Project", "metadata": {"name": "demo"}},
        {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "ProjectConfig",
         "metadata": {"name": "demo", "namespace": "demo"},
         "spec": {"promotionPolicies": policies or [{"stageSelector": {"name": "test"}}],
                  "promotionWindows": windows or []}},
        {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Warehouse",
         "metadata": {"name": "web", "namespace": "demo"},
         "spec": {"subscriptions": [{"image": {"repoURL": "registry.example/web"}}]}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
         "metadata": {"name": "health", "namespace": "demo"},
         "spec": {"args": [{"name": n} for n in ["base", *(args or {})]], "metrics": [metric]}},
        {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Stage",
         "metadata": {"name": "test", "namespace": "demo"},
         "spec": {"requestedFreight": [{"origin": {"kind": "Warehouse", "name": "web"},
                                        "sources": {"direct": True}}],
                  "promotionTemplate": {"spec": {"steps": steps}},
                  "verification": {"analysisTemplates": [{"name": "health"}],
                                   "args": [{"name": "base", "value": url},
                                            *({"name": k, "value": v}
                                              for k, v in (args or {}).items())]}}},
        {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Stage",
         "metadata": {"name": "uat", "namespace": "demo",
                      "annotations": uat_notes or {}},
         "spec": {"requestedFreight": [{"origin": {"kind": "Warehouse", "name": "web"},
                                        "sources": {"stages": ["test"],
                                                    "requiredSoakTime": soak}}],
                  "promotionTemplate": {"spec": {"steps": steps}}}},
    ]  # fmt: skip
    return yaml.safe_dump_all(out, sort_keys=False)


def setup(store: Store, text: str) -> None:
    store_resources.apply(store, parse_text(text, "kargo.yaml"))


def add_freight(store: Store, tag: str, *, author: str = "") -> str:
    """A Freight of Warehouse web with image tag ``tag``; its name."""
    digest = "sha256:" + hashlib.sha256(tag.encode()).hexdigest()
    image = {"repoURL": "registry.example/web", "tag": tag, "digest": digest}
    body: dict[str, Any] = {"origin": {"kind": "Warehouse", "name": "web"}, "images": [image]}
    if author:
        body["commits"] = [{"repoURL": "https://git.example/web", "id": "a" * 40,
                            "author": author}]  # fmt: skip
    name = freight_mod.freight_name("web", body["images"], body.get("commits") or [])
    doc = {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Freight",
           "metadata": {"name": name, "namespace": "demo"}, "alias": f"v{tag.replace('.', '-')}",
           **body}  # fmt: skip
    store_resources.apply(store, [Resource(api_version=doc["apiVersion"], kind="Freight",
                                           name=name, namespace="demo", body=doc)])  # fmt: skip
    return name
