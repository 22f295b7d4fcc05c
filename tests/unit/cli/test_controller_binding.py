"""Which addresses the controller may listen on without TLS."""

from __future__ import annotations

import pytest

from shipway.cli.controller import check_binding, is_loopback
from shipway.model.errors import InputError


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback(host: str) -> None:
    assert is_loopback(host)
    check_binding(host, None, None, False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "example.org", "192.168.0.1"])
def test_elsewhere_needs_tls_or_insecure(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(InputError, match=f"refusing to listen on {host} without TLS"):
        check_binding(host, None, None, False)
    check_binding(host, "c.pem", "k.pem", False)
    check_binding(host, None, None, True)
