"""Loopback ports: find a free one, check whether one is taken, wait for a listener.

A port handed out by ``free_port`` lies below the kernel's ephemeral range, so the
port numbers the kernel gives outgoing connections (and ``bind(0)``) cannot take it
between the choice and the service's own bind.
"""

from __future__ import annotations

import random
import socket
import time

from shipway.model.errors import ServiceError

# Below the previews' host ports (29000-29999 by default), the NodePort range (30000-32767)
# and Linux's default ephemeral range.
_CHOSEN_RANGE = range(20000, 29000)


def _ephemeral_range() -> range:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            low, high = (int(v) for v in fh.read().split())
    except (OSError, ValueError):
        return range(32768, 61000)
    return range(low, high + 1)


def free_port() -> int:
    """A free loopback port outside the ephemeral range (any free port if none is)."""
    ephemeral = _ephemeral_range()
    for _ in range(200):
        port = random.choice(_CHOSEN_RANGE)
        if port not in ephemeral and is_free(port):
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        chosen: int = s.getsockname()[1]
        return chosen


def is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_listening(port: int, timeout: float = 10.0, what: str = "service") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise ServiceError(f"did not listen on 127.0.0.1:{port} within {timeout:.0f}s", subject=what)
