"""The demo keeps its ports across runs, and says so when another program took one."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from shipway.demo import stack
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
