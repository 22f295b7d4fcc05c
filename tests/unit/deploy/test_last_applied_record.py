"""The podman target's record of what it applied last (``shipway.cluster.last_applied``)."""

from __future__ import annotations

import stat
from pathlib import Path

from shipway.cluster import Result
from shipway.cluster import last_applied as la


def _cm(name: str, value: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "dev"},
        "data": {"k": value},
        "status": {"ignored": True},
    }


def test_records_what_synced_and_forgets_what_was_pruned(tmp_path: Path) -> None:
    a, b = _cm("a", "1"), _cm("b", "2")
    la.record(
        tmp_path,
        "app",
        [a, b],
        [
            Result("/ConfigMap/dev/a", "Synced", "created"),
            Result("/ConfigMap/dev/b", "SyncFailed", "failed"),
        ],
    )
    got = la.load(tmp_path, "app")
    assert list(got) == ["/ConfigMap/dev/a"]
    assert got["/ConfigMap/dev/a"]["data"] == {"k": "1"} and "status" not in got["/ConfigMap/dev/a"]
    f = tmp_path / "last-applied" / "app.json"
    assert stat.S_IMODE(f.stat().st_mode) == 0o600  # Secrets are recorded too

    la.record(
        tmp_path, "app", [_cm("a", "3")], [Result("/ConfigMap/dev/a", "Synced", "configured")]
    )
    assert la.load(tmp_path, "app")["/ConfigMap/dev/a"]["data"] == {"k": "3"}
    la.forget(tmp_path, "app", [Result("/ConfigMap/dev/a", "Pruned", "deleted")])
    assert la.load(tmp_path, "app") == {} and not f.exists()


def test_clear_and_unreadable_records(tmp_path: Path) -> None:
    for app in ("one", "two"):
        la.record(tmp_path, app, [_cm("a", "1")], [Result("/ConfigMap/dev/a", "Synced", "created")])
    la.clear(tmp_path, "one")
    assert la.load(tmp_path, "one") == {} and la.load(tmp_path, "two")
    la.clear(tmp_path)
    assert la.load(tmp_path, "two") == {}
    (tmp_path / "last-applied").mkdir(exist_ok=True)
    (tmp_path / "last-applied" / "bad.json").write_text("{not json")
    assert la.load(tmp_path, "bad") == {}
