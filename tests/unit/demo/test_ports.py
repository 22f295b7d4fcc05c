"""The demo keeps its ports across runs, and says so when another program took one."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from shipway.demo import stack
from shipway.model.errors import ServiceError
from shipway.runtime import ports, services
from shipway.settings import Settings


def test_taken_port_is_replaced_and_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:  # fmt: skip
    settings = Settings(home=tmp_path / "home", database_url="")
    first = stack._choose_ports(settings)
    assert stack._choose_ports(settings) == first  # remembered
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", first["registry"]))
        busy.listen()
        again = stack._choose_ports(settings)
    assert again["registry"] != first["registry"]
    assert again["controller"] == first["controller"]
    err = capsys.readouterr().err
    assert f"port {first['registry']} for registry is taken; using {again['registry']}" in err
    saved = json.loads((settings.home / "demo" / "ports.json").read_text())
    assert saved["registry"] == again["registry"]


def test_dev_and_each_stage_get_their_own_node_port(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url="")
    lowest = next(p for p in range(30080, 32767) if ports.is_free(p))
    with socket.socket() as busy:  # a NodePort another program holds is skipped
        busy.bind(("127.0.0.1", lowest))
        busy.listen()
        first = stack._choose_ports(settings)
    nodes = [first[n] for n in ("app", "test", "uat", "prod")]
    assert lowest not in nodes
    assert len(set(nodes)) == 4
    assert all(30080 <= p <= 32767 for p in nodes)
    assert stack._choose_ports(settings) == first  # remembered, even while in use by the pods


def test_two_homes_never_pick_the_same_node_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NodePorts are bound only when the pods start: a second demo must not pick the first's."""
    monkeypatch.setattr(stack, "_claims_path", lambda: tmp_path / "claims.json")
    one = Settings(home=tmp_path / "one", database_url="")
    two = Settings(home=tmp_path / "two", database_url="")
    names = ("app", "test", "uat", "prod")
    first = stack._choose_ports(one)
    second = stack._choose_ports(two)
    assert not {first[n] for n in names} & {second[n] for n in names}
    assert stack._choose_ports(one) == first  # its own claims stay its own
    claims = json.loads((tmp_path / "claims.json").read_text())
    assert {claims[str(first[n])] for n in names} == {str(one.home)}
    (one.home / "demo" / "ports.json").unlink()  # `demo --clean` of the first home
    third = stack._choose_ports(Settings(home=tmp_path / "three", database_url=""))
    assert {third[n] for n in names} & {first[n] for n in names}  # its ports are free again


def test_free_port_lies_outside_the_kernels_ephemeral_range() -> None:
    """Outgoing connections take ephemeral ports: a chosen port must not be one of them."""
    ephemeral = ports._ephemeral_range()
    chosen = {ports.free_port() for _ in range(20)}
    assert not chosen & set(ephemeral)
    assert all(ports.is_free(p) for p in chosen)


def test_a_port_taken_before_the_start_is_replaced_and_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(home=tmp_path / "home", database_url="")
    chosen = stack._choose_ports(settings)
    tried: list[int] = []

    def start(port: int) -> services.Service:
        tried.append(port)
        if len(tried) == 1:  # what services.spawn says when the port went meanwhile
            raise ServiceError(f"port {port} is already taken", subject="registry")
        return services.Service(name="registry", pid=1, port=port, dir=tmp_path)

    svc = stack._on_a_free_port(settings, chosen, "registry", start)
    assert len(tried) == 2 and tried[0] != tried[1] and svc.port == tried[1]
    saved = json.loads((settings.home / "demo" / "ports.json").read_text())
    assert saved["registry"] == tried[1]
    assert f"port {tried[0]} for registry was taken; using {tried[1]}" in capsys.readouterr().err


def test_other_start_failures_are_not_retried(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url="")
    chosen = stack._choose_ports(settings)
    calls: list[int] = []

    def start(port: int) -> services.Service:
        calls.append(port)
        raise ServiceError("exited with status 1: bad config", subject="registry")

    with pytest.raises(ServiceError, match="bad config"):
        stack._on_a_free_port(settings, chosen, "registry", start)
    assert len(calls) == 1
