"""The promote tests' shared fixtures: a store in a fresh ``$SHIPWAY_HOME`` and the app's
health endpoint that verification reads; the updater tests' helper pushes images."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "updater"))

from verify_helpers import Health, health_server

from shipway.settings import Settings
from shipway.store.db import Store, open_store


@pytest.fixture
def store(shipway_home: Path) -> Iterator[Store]:
    """The store of this test's ``$SHIPWAY_HOME``."""
    s = open_store(Settings())
    yield s
    s.close()


@pytest.fixture
def health() -> Iterator[Health]:
    """A loopback health endpoint whose answers a test sets (see ``verify_helpers``)."""
    with health_server() as h:
        yield h
