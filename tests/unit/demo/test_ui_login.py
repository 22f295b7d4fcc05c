"""The demo's web UI line: the controller's URL and the initial admin login it wrote."""

from __future__ import annotations

import json
from pathlib import Path

from shipway.demo import stack
from shipway.settings import Settings


def test_ui_line_names_url_and_initial_admin(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    line = stack.ui_login(settings, "http://127.0.0.1:8080")
    assert "web UI http://127.0.0.1:8080/" in line and "no initial-admin.json" in line
    (tmp_path / "initial-admin.json").write_text(
        json.dumps({"username": "admin", "password": "s3cret-pw", "token": "t"})
    )
    line = stack.ui_login(settings, "http://127.0.0.1:8080")
    assert line.startswith("  web UI http://127.0.0.1:8080/ : sign in as admin")
    assert "with password s3cret-pw" in line and str(tmp_path / "initial-admin.json") in line
