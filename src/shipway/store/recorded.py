"""Reading back what rows recorded: their times in UTC, and whether their holder lives.

SQLite hands datetimes back naive (they were written in UTC): ``aware`` makes
them aware again. Inbox leases and CI holders record the host and pid that
hold them: ``HOST`` is this host's name and ``pid_alive`` says whether a
process of it still runs (a process of another user counts as alive). Asks
the OS about a pid; touches nothing else.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import overload

HOST = socket.gethostname()


@overload
def aware(t: dt.datetime) -> dt.datetime: ...
@overload
def aware(t: None) -> None: ...
@overload
def aware(t: dt.datetime | None) -> dt.datetime | None: ...
def aware(t: dt.datetime | None) -> dt.datetime | None:
    """``t`` in UTC when it came back naive; None stays None."""
    if t is not None and t.tzinfo is None:
        return t.replace(tzinfo=dt.UTC)
    return t


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host runs (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
