"""The live-change log targets keep for incremental refresh passes."""

from __future__ import annotations

from shipway.cluster.changelog import ChangeLog


def test_since_names_the_apps_changed_after_a_token() -> None:
    log = ChangeLog(keep=3)
    start, unknown = log.since(None)
    assert unknown is None
    log.note("a")
    log.note("b")
    token, changed = log.since(start)
    assert changed == {"a", "b"}
    assert log.since(token) == (token, set())
    log.note("a")
    assert log.since(token)[1] == {"a"}


def test_a_token_older_than_what_is_kept_is_unknown() -> None:
    log = ChangeLog(keep=2)
    token, _ = log.since(None)
    for app in "abcde":
        log.note(app)
    assert log.since(token)[1] is None  # trimmed past it: the caller looks at everything
    now, _ = log.since(None)
    assert log.since(now + 5)[1] is None  # a token from another log
    assert log.since(now - 1)[1] == {"e"}
