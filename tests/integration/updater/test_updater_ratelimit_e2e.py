"""A registry that answers 429: the updater backs off as told and still lists tags once per repo.

A small reverse proxy in front of the real registry answers the first tag
listing with ``429 Retry-After: 3``; everything else is forwarded. Sleeps are
recorded, not taken, so the test asserts what was waited for, not how long.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from updater_helpers import application, push_image, seed_config_repo

from shipway.images.registry import RegistryClient
from shipway.model.resources import parse_text
from shipway.updater import engine, ratelimit

pytestmark = pytest.mark.integration


class Proxy:
    def __init__(self, upstream: str) -> None:
        self.seen: list[tuple[str, str, int]] = []
        self.throttle_left = 1
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                if "/tags/list" in self.path and proxy.throttle_left > 0:
                    proxy.throttle_left -= 1
                    proxy.seen.append((self.command, self.path, 429))
                    self.send_response(429)
                    self.send_header("Retry-After", "3")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                resp = httpx.request(self.command, f"http://{upstream}{self.path}",
                                     headers=headers, content=body)  # fmt: skip
                proxy.seen.append((self.command, self.path, resp.status_code))
                self.send_response(resp.status_code)
                for k, v in resp.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(resp.content)

            do_GET = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(registry) -> Iterator[Proxy]:  # type: ignore[no-untyped-def]
    p = Proxy(registry.host)
    yield p
    p.stop()


def test_429_is_honoured_and_shared(registry, git_server, proxy: Proxy, tmp_path: Path):  # type: ignore[no-untyped-def]
    u = uuid.uuid4().hex[:6]
    url = git_server.bare(f"rl-{u}")
    files = {f"apps/a{i}/kustomization.yaml": "images:\n- name: hello\n" for i in range(3)}
    seed_config_repo(url, tmp_path / "seed", files)
    client = RegistryClient(registry.host)
    apps = []
    for i in range(3):
        push_image(client, f"rl/{u}-{i}", "1.0", created="2026-01-01T00:00:00Z")
        text = application(f"a{i}", f"{proxy.host}/rl/{u}-{i}", url).replace(
            "overlays/dev", f"apps/a{i}"
        )
        apps += parse_text(text, f"a{i}.yaml")

    slept: list[float] = []
    now = [0.0]

    def fake_sleep(seconds: float) -> None:  # the budget's clock moves only when it sleeps
        slept.append(seconds)
        now[0] += seconds

    budget = ratelimit.Budget(rate=1000.0, burst=1000, clock=lambda: now[0], sleep=fake_sleep)

    def factory(host: str, insecure: bool) -> RegistryClient:
        transport = ratelimit.BudgetTransport(budget, host, httpx.HTTPTransport())
        return RegistryClient(host, transport=transport, sleep=slept.append)

    eng = engine.engine_for(tmp_path / "w", factory=factory)
    results = engine.run_once(None, workdir=tmp_path / "w", resources=apps)
    assert all(r.error is None and r.config_commit for r in results), results
    assert [s for s in proxy.seen if s[2] == 429] == [("GET", proxy.seen[0][1], 429)]
    assert 3.0 in slept  # the client waited as Retry-After said
    assert budget.stats(proxy.host)["throttled"] == 1
    assert eng.resolver.tag_lists == 3  # one tag list per repository, 429 or not
    lists = [s for s in proxy.seen if "/tags/list" in s[1] and s[2] == 200]
    assert len(lists) == 3
