"""``shipway preview list|get|delete|gc`` on real previews (podman, the forge fake, git)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cli_runner import run
from shipway.model.preview import preview_name
from shipway.promote.previews.engine import Previews, run_all
from shipway.store import previews as store_previews

pytestmark = pytest.mark.integration


def test_list_get_delete_gc(world_factory: Any, capsys: pytest.CaptureFixture[str]) -> None:
    w = world_factory("gitea")
    appset = w.appset(annotations={"shipway.dev/preview-ttl": "7d"})
    sha = w.push_branch("feat-x", "x")
    w.image(sha)
    number = w.open_pull("feat-x", "Add X")
    eng = Previews(w.store, w.settings)
    run_all(eng, eng.refresh(appset))
    name = preview_name("web-previews", number)
    p = store_previews.get(w.store, name)
    assert p is not None and p.phase == "Ready", p and p.message

    code, out, _ = run(["preview", "list"], capsys)
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["NAME", "PR", "PHASE", "URL", "AGE", "EXPIRES"]
    assert row.split()[:4] == [name, f"#{number}", "Ready", p.preview_url]
    assert row.split()[5].endswith("Z")  # RFC 3339 UTC
    code, out, _ = run(["preview", "list", "-o", "wide", "--no-headers"], capsys)
    assert f"web-feat-x-{number}" in out and sha[:12] in out and p.image in out
    code, out, _ = run(["preview", "list", "-o", "json"], capsys)
    listed = json.loads(out)
    assert listed["kind"] == "List" and listed["items"][0]["preview_url"] == p.preview_url
    code, out, _ = run(["preview", "list", "--field-selector", "phase=Ready", "-o", "name",
                        "--sort-by", ".number"], capsys)  # fmt: skip
    assert (code, out) == (0, f"preview/{name}\n")
    code, out, _ = run(["preview", "list", "--field-selector", "phase!=Ready", "-o", "name"],
                       capsys)  # fmt: skip
    assert (code, out) == (0, "")
    code, out, _ = run(["preview", "get", name, "-o", "json"], capsys)
    got = json.loads(out)
    assert (got["number"], got["head_sha"], got["phase"]) == (number, sha, "Ready")
    assert got["created"].endswith("Z") and got["expires"].endswith("Z")
    code, out, _ = run(["preview", "get", name, "-o", "name"], capsys)
    assert out.strip() == f"preview/{name}"
    code, _, err = run(["preview", "get", "nope"], capsys)
    assert code == 3 and "not found" in err

    # delete: gone now, not back on the next refresh of the same head; a push brings it back
    code, out, _ = run(["preview", "delete", name], capsys)
    assert code == 0 and "deleted" in out
    assert store_previews.get(w.store, name) is None
    assert eng.refresh(appset) == []
    sha2 = w.push_branch("feat-x", "x2")
    assert [a.verb for a in eng.refresh(appset)] == ["deploy"]

    # gc: a closed pull request's preview goes (dry run first)
    w.forge.set_pull(w.kind, w.project, number, state="closed")
    code, out, _ = run(["preview", "gc", "--dry-run"], capsys)
    assert code == 0 and f"preview/{name} would be deleted" in out
    assert store_previews.get(w.store, name) is not None
    code, out, _ = run(["preview", "gc"], capsys)
    assert code == 0 and f"preview/{name} deleted: the pull request was closed" in out
    assert store_previews.list_all(w.store) == []
    assert sha2 != sha
