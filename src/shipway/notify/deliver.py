"""Deliver what is due in the outbox: one loop for Argo CD services and Flux Providers.

``deliver_due(store, resolve)`` claims due rows (``outbox.claim_due``: a lease,
one attempt counted) and, for each, asks ``resolve(row)`` for its ``Target``:
the sender (a ``services.Service``), its rate limit and what to record when it
is given up. Rows are sent concurrently in lanes (``shipway.notify.lanes``: a
bounded pool; one lane per service and recipient, in order, so a message and
its update in place never race; one lane per service when it has a rate
limit, so the window's count is exact); a slow or unreachable service holds
only its own lane. Then, for each row in its lane:

- over the rate limit (sent in the last window >= N): the row is held until
  the window has room, with no attempt counted;
- with room again: the held rows of that service and recipient are recorded
  ``suppressed`` and this one is sent with "(and N more ...)" appended;
- sent: ``mark_sent`` with the service's answer (Slack's ``ts``, comment ids);
- refused or unreachable (``DeliveryError``): retried with exponential backoff
  (``backoff`` * 2^(attempt-1), at most ``MAX_DELAY``) up to ``max_attempts``, then
  recorded failed and ``Target.failed`` records a Warning event carrying the
  service's answer (already masked of the service's secret values).

The bound on duplicates: the service's acceptance and ``mark_sent`` are two
systems; a sender killed between them leaves the row leased, and after the
lease (60 s) the row is sent once more. So a crash costs at most one extra
message per row that was in flight: one per sender thread (``lanes.SIZE``, 8),
since a row claimed but still queued in its lane was never sent; rows already
recorded are never sent again. Touches the outbox through
``shipway.store.outbox`` and the services' endpoints.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipway.notify import lanes
from shipway.notify.policy import RateLimit, summary_line
from shipway.notify.services import DeliveryError, Service
from shipway.store import outbox
from shipway.store.db import Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF = 1.0
MAX_DELAY = 300.0


@dataclass(slots=True)
class PassResult:
    enqueued: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0
    suppressed: int = 0


@dataclass(frozen=True)
class Target:
    service: Service
    limit: RateLimit | None
    failed: Callable[[outbox.Delivery, str], None]


Resolve = Callable[[outbox.Delivery], Target]


def with_summary(payload: dict[str, Any], more: int, limit: RateLimit) -> dict[str, Any]:
    """``payload`` with "(and N more ...)" after its message (and its Teams text)."""
    line = summary_line(more, limit)
    out = {**payload, "suppressed": more}
    out["message"] = f"{payload.get('message', '')}\n{line}".lstrip("\n")
    teams = payload.get("teams")
    if isinstance(teams, dict) and teams.get("text"):
        out["teams"] = {**teams, "text": f"{teams['text']}\n{line}"}
    return out


def _limited(store: Store, d: outbox.Delivery, limit: RateLimit) -> bool:
    now = dt.datetime.now(dt.UTC)
    n, oldest = outbox.sent_since(store, d.service, now - dt.timedelta(seconds=limit.per))
    if n < limit.count:
        return False
    outbox.hold(store, d.id, (oldest or now) + dt.timedelta(seconds=limit.per))
    return True


def deliver_due(
    store: Store,
    resolve: Resolve,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    backoff: float = BACKOFF,
    give_up: Callable[[outbox.Delivery, str], None] | None = None,
    wait: float | None = None,
) -> PassResult:
    """Send every due row once, concurrently across lanes (``lanes``: one lane per service
    and recipient, or per service when it has a rate limit, so its count stays exact);
    failures are retried later or given up with an event.

    Waits for the rows it claimed, or ``wait`` seconds at most: rows of a stalled service
    are then still in their lane and finish in the background (their outcome is recorded
    in the outbox, not in the result returned). ``give_up(row, error)`` records a row whose
    service cannot even be resolved."""
    result = PassResult()
    pool = lanes.for_store(store)
    skip = pool.summarised  # rows another message of their lane stood for (any pass's)
    counts = threading.Lock()
    jobs: list[lanes.Job] = []
    for d in outbox.claim_due(store, exclude=pool.busy()):
        target: Target | DeliveryError
        try:
            target = resolve(d)
        except DeliveryError as exc:
            target = exc
        limited = isinstance(target, Target) and target.limit is not None
        lane = (d.service,) if limited else (d.service, d.recipient)

        def run(d: outbox.Delivery = d, target: Target | DeliveryError = target) -> None:
            outcome = _one(store, d, target, skip, max_attempts, backoff, give_up)
            with counts:
                for name, n in outcome.items():
                    setattr(result, name, getattr(result, name) + n)

        job = lanes.Job(d.id, run)
        if pool.submit(lane, job):
            jobs.append(job)
    deadline = None if wait is None else time.monotonic() + wait
    for job in jobs:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not job.done.wait(left):
            break
        if job.interrupted is not None:  # the process is going down (a sender's SystemExit)
            raise job.interrupted
    return result


def _one(
    store: Store,
    d: outbox.Delivery,
    target: Target | DeliveryError,
    skip: set[int],
    max_attempts: int,
    backoff: float,
    give_up: Callable[[outbox.Delivery, str], None] | None,
) -> dict[str, int]:
    """Send one row (in its lane); what it counted (``PassResult``'s field names)."""
    if d.id in skip:
        skip.discard(d.id)
        return {}
    counted: dict[str, int] = {}
    resolved: Target | None = None
    try:
        if isinstance(target, DeliveryError):
            raise target
        resolved = target
        payload = d.payload
        if target.limit is not None:
            if _limited(store, d, target.limit):
                return {"held": 1}
            others = outbox.held(store, d.service, d.recipient, exclude=d.id)
            if others:
                n = outbox.mark_suppressed(store, others, f"summarised in notification {d.id}")
                skip.update(others)
                counted["suppressed"] = n
                payload = with_summary(payload, n, target.limit)
        previous = outbox.previous_in_group(store, d.service, d.recipient, d.group_key)
        answer = target.service.send(payload, d.recipient, previous)
    except DeliveryError as exc:
        error = exc.message
        if d.attempts >= max_attempts:
            outbox.mark_failed(store, d.id, error)
            why = f"gave up after {d.attempts} attempts: {error}"
            record = resolved.failed if resolved is not None else give_up
            if record is not None:
                record(d, why)
            log.warning("notification %s gave up: %s", d.id, error)
            counted["failed"] = 1
        else:
            delay = min(MAX_DELAY, backoff * 2 ** (d.attempts - 1))
            outbox.mark_retry(store, d.id, error, delay)
            log.info("notification %s failed (attempt %s): %s", d.id, d.attempts, error)
            counted["retried"] = 1
        return counted
    outbox.mark_sent(store, d.id, answer)
    counted["sent"] = 1
    return counted
