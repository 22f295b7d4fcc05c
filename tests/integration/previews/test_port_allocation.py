"""Port allocation in the store: a preview keeps its ports, no two previews share one, a port
something listens on is skipped, a full range is an error naming it, teardown frees them."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from shipway.deploy import preview_ports
from shipway.model.errors import ClusterError
from shipway.settings import Settings
from shipway.store import previews as store_previews
from shipway.store.db import open_store

pytestmark = pytest.mark.integration


def test_allocation(shipway_home: Path) -> None:
    store = open_store(Settings())
    rng = range(29500, 29510)
    a = store_previews.allocate(store, "a", ["Service/a/web:80", "Service/a/api:81"], rng,
                                lambda p: True)  # fmt: skip
    assert sorted(a.values()) == [29500, 29501]
    again = store_previews.allocate(store, "a", ["Service/a/web:80"], rng, lambda p: False)
    assert again == {"Service/a/web:80": a["Service/a/web:80"]}  # kept, not asked again
    b = store_previews.allocate(store, "b", ["Service/b/web:80"], rng, lambda p: p != 29502)
    assert b == {"Service/b/web:80": 29503}  # 29502 is someone else's
    with pytest.raises(ClusterError, match=r"no free host port left .* 29500-29509"):
        store_previews.allocate(store, "c", [f"Service/c/s{i}:1" for i in range(9)], rng,
                                lambda p: True)  # fmt: skip
    store_previews.remove(store, "a")
    assert store_previews.ports_of(store, "a") == {}
    assert 29500 not in store_previews.all_ports(store)
    store.close()


def test_racing_allocations_never_share_a_port(shipway_home: Path) -> None:
    store = open_store(Settings())
    out: dict[str, dict[str, int]] = {}

    def take(name: str) -> None:
        out[name] = store_previews.allocate(store, name, [f"Service/{name}/web:80"],
                                            range(29600, 29700), lambda p: True)  # fmt: skip

    threads = [threading.Thread(target=take, args=(f"p{i}",)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ports = [next(iter(v.values())) for v in out.values()]
    assert len(out) == 20 and len(set(ports)) == 20
    store.close()


def test_remap_skips_a_listening_port(shipway_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        monkeypatch.setenv("SHIPWAY_PREVIEW_PORTS", f"{busy}-{busy + 1}")
        store = open_store(Settings())
        ports = [{"port": 80, "nodePort": 30080}]
        svc = {"kind": "Service", "metadata": {"name": "web", "namespace": "pr-1"},
               "spec": {"type": "LoadBalancer", "ports": ports}}  # fmt: skip
        preview_ports.remap(store, "pr-1", [svc])
        assert svc["spec"]["ports"][0]["nodePort"] == busy + 1  # type: ignore[index]
        store.close()
