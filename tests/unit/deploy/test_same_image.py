"""Image references as podman reports them compared with the ones a manifest names."""

from __future__ import annotations

import pytest

from shipway.cluster.podman_live import same_image

D = "sha256:" + "a" * 64
E = "sha256:" + "b" * 64


@pytest.mark.parametrize(
    ("recorded", "running"),
    [
        (f"127.0.0.1:5000/demo/hello:abc@{D}", f"127.0.0.1:5000/demo/hello@{D}"),
        ("busybox", "docker.io/library/busybox:latest"),
        ("library/busybox:1", "docker.io/library/busybox:1"),
        ("localhost/app:1", "localhost/app:1"),
    ],
)
def test_same(recorded: str, running: str) -> None:
    assert same_image(recorded, running)


@pytest.mark.parametrize(
    ("recorded", "running"),
    [
        (f"127.0.0.1:5000/demo/hello@{D}", f"127.0.0.1:5000/demo/hello@{E}"),
        (f"127.0.0.1:5000/demo/hello@{D}", f"127.0.0.1:5000/demo/other@{D}"),
        ("busybox:1", "docker.io/library/busybox:2"),
        (f"127.0.0.1:5000/demo/hello:1@{D}", "127.0.0.1:5000/demo/hello:1"),
    ],
)
def test_different(recorded: str, running: str) -> None:
    assert not same_image(recorded, running)
