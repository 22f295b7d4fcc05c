"""Push times read from registry notification envelopes."""

from __future__ import annotations

import datetime as dt

from shipway.controller.accept import _push_times


def test_registry_timestamps_with_nanoseconds() -> None:
    body = (
        b'{"events": [{"action": "push", "timestamp": "2026-11-25T18:41:03.123456789Z",'
        b' "target": {"repository": "demo/hello", "tag": "abc"},'
        b' "request": {"host": "127.0.0.1:5000"}}]}'
    )
    got = _push_times(body)
    assert got == {
        ("127.0.0.1:5000/demo/hello", "abc"): dt.datetime(
            2026, 11, 25, 18, 41, 3, 123456, tzinfo=dt.UTC
        )
    }
    assert _push_times(b"not json") == {}
