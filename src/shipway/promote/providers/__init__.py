"""Analysis providers: one measurement of a metric (Argo Rollouts' web, job, prometheus).

One interface, one module per provider. ``start(metric, ctx)`` begins a
measurement and returns an ``Outcome``: finished (a ``value`` the engine
evaluates against the metric's conditions, or a ``phase`` the provider
decided, as ``job`` does) or ``running`` with ``metadata`` that lets
``resume(metric, metadata, ctx)`` pick it up on a later tick (the engine
persists it, so a restarted controller resumes a Job it started). A provider
that cannot measure (timeout, refused connection, bad response) returns an
``Error`` outcome with the reason; it never raises for the system it talks to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from shipway.model.rollouts import Metric
from shipway.settings import Settings
from shipway.store.db import Store


@dataclass
class Outcome:
    value: Any = None
    phase: str = ""
    """Set when the provider decides the phase itself (Error, or a Job's Successful/Failed)."""
    message: str = ""
    running: bool = False
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, message: str) -> Outcome:
        return cls(phase="Error", message=message)


@dataclass
class Context:
    store: Store | None
    settings: Settings
    project: str
    stage: str
    run: str
    destinations: list[dict[str, Any]] = field(default_factory=list)
    """The ``destination`` of each of the stage's Applications (the job provider's target)."""


class Provider(Protocol):
    def start(self, metric: Metric, ctx: Context) -> Outcome: ...

    def resume(self, metric: Metric, metadata: dict[str, str], ctx: Context) -> Outcome: ...


def provider(kind: str) -> Provider:
    """The provider for a metric's ``provider`` kind."""
    if kind == "web":
        from shipway.promote.providers import web

        return web.WebProvider()
    if kind == "prometheus":
        from shipway.promote.providers import prometheus

        return prometheus.PrometheusProvider()
    if kind == "job":
        from shipway.promote.providers import job

        return job.JobProvider()
    raise ValueError(f"metric provider {kind!r} is not supported by shipway")
