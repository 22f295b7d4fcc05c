"""Processes that open a brand-new database at once (the controller and a CLI run) all
succeed: the migrations run once, the others wait and find the schema at head."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

pytestmark = pytest.mark.integration

OPEN = """
import sys
from pathlib import Path
from shipway.settings import Settings
from shipway.store.db import open_store
open_store(Settings(home=Path(sys.argv[1]), database_url=sys.argv[2])).close()
"""


def _open_all_at_once(home: Path, url: str, count: int = 6) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN, str(home), url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert [code for code, _ in results] == [0] * count, [err for _, err in results if err]


def test_sqlite_first_open_by_many_processes(tmp_path: Path) -> None:
    _open_all_at_once(tmp_path / "home", "")
    engine = create_engine(f"sqlite:///{tmp_path / 'home' / 'shipway.db'}")
    assert "ci_runs" in inspect(engine).get_table_names()


def test_postgres_first_open_by_many_processes(tmp_path: Path, postgres_url: str) -> None:
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        _open_all_at_once(tmp_path / "home", url)
        fresh = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        assert "ci_runs" in inspect(fresh).get_table_names()
        fresh.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
