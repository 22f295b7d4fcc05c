"""The podman target's host-port check: one ``podman ps`` for the usual case, the holder
described only on a conflict (a recording stand-in for podman: its JSON as podman 4.3 prints)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shipway.cluster import podman_ports as ports
from shipway.model.errors import ClusterError

OBJ = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}


class Podman:
    def __init__(self, port: int) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.port = port

    def podman(self, *args: str, subject: str = "podman", check: bool = True) -> str:
        self.calls.append(args)
        infra = {"IsInfra": True, "Pod": "abc", "PodName": "web-pod",
                 "Ports": [{"host_port": self.port, "range": 1}]}  # fmt: skip
        if args[:2] == ("ps", "-a"):
            return json.dumps([infra])
        if args[:2] == ("pod", "ps"):
            labels = {"shipway.dev/owner-kind": "Deployment"}
            return json.dumps([{"Id": "abc", "Name": "web-pod", "Labels": labels}])
        raise AssertionError(args)


def test_the_pods_being_replaced_hold_their_own_port() -> None:
    p = Podman(18080)
    ports.check_free(p, OBJ, {18080: "Service web"}, {"web-pod"})
    assert p.calls == [("ps", "-a", "--pod", "--format", "json")]


def test_another_pod_holding_the_port_is_named() -> None:
    p = Podman(18080)
    with pytest.raises(ClusterError, match=r"127.0.0.1:18080 .* already held by pod web-pod"):
        ports.check_free(p, OBJ, {18080: "Service web"}, {"other-pod"})
    assert [c[:2] for c in p.calls][-1] == ("pod", "ps")


def test_a_free_port_passes(monkeypatch: Any) -> None:
    monkeypatch.setattr(ports, "holder", lambda port: None)
    p = Podman(18080)
    ports.check_free(p, OBJ, {18081: "Service web"}, set())
    assert len(p.calls) == 1
