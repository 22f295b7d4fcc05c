"""A job's ``GITHUB_TOKEN``: issued when the job starts, valid while it runs.

``job_token`` gives a job instance the token the run was given, or else a
fresh one (registered with the run's masker), as GitHub issues every job its
own. ``issued`` records the token (as a hash, with the job's scopes) in the
store for the length of the block and expires it when the job ends, so a
token used after its job grants nothing. Touches the store only.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from contextlib import contextmanager
from secrets import choice

from shipway.ci.runstate import RunState
from shipway.store import ci_coord
from shipway.store.db import Store

_ALPHABET = string.ascii_letters + string.digits


def job_token(rs: RunState) -> str:
    """The run's own ``GITHUB_TOKEN`` if it was given one, else a new masked one."""
    given = str(rs.secrets_ctx.get("GITHUB_TOKEN") or "")
    if given:
        return given
    token = "ghs_" + "".join(choice(_ALPHABET) for _ in range(36))
    rs.masker.add(token)
    return token


@contextmanager
def issued(
    store: Store | None, token: str, run_id: str, job_key: str, perms: dict[str, str]
) -> Iterator[None]:
    """``token`` is valid for ``job_key`` with ``perms`` while the block runs."""
    if store is None or not token:
        yield
        return
    ci_coord.record_token(store, token, run_id, job_key, perms)
    try:
        yield
    finally:
        ci_coord.expire_token(store, token, job_key)
