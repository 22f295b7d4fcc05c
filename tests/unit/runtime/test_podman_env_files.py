"""podman's config files under a home are read by running podman processes while another
call of ``podman_env`` runs: they are rewritten only when they change, and atomically."""

from __future__ import annotations

from pathlib import Path

from shipway.runtime.podman_env import podman_env


def test_unchanged_files_are_left_and_changed_ones_replaced_whole(tmp_path: Path) -> None:
    base = tmp_path / "podman"
    env = podman_env(base, ["127.0.0.1:5000"])
    storage = Path(env["CONTAINERS_STORAGE_CONF"])
    regs = Path(env["CONTAINERS_REGISTRIES_CONF"])
    assert 'driver = "vfs"' in storage.read_text() and "runroot" in storage.read_text()
    before = {p: p.stat().st_ino for p in (storage, regs)}
    podman_env(base, ["127.0.0.1:5000"])  # the same: nothing written
    assert {p: p.stat().st_ino for p in (storage, regs)} == before
    podman_env(base, ["127.0.0.1:5000", "127.0.0.1:6000"])  # a new registry: a new file
    assert regs.stat().st_ino != before[regs] and "127.0.0.1:6000" in regs.read_text()
    assert storage.stat().st_ino == before[storage]
    assert not list(base.glob(".*.tmp"))  # no temporary file left behind
