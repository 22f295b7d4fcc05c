"""The demo keeps its ports across runs, and says so when another program took one."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from shipway.demo import stack
from shipway.runtime import ports
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
