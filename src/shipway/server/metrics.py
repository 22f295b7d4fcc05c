"""``/metrics``: Prometheus text exposition, every value read from the store at scrape time.

Nothing is counted in this process's memory: a sync run by ``shipway app
sync`` from the CLI, a CI run in another process and the controller's own work
all land in the store (events, CI runs, releases, resources), so every
process serving ``/metrics`` reports the same totals and a restart loses none.

Argo CD's names where the meaning is the same:

- ``argocd_app_info`` (gauge, 1): name, namespace, project, health_status,
  sync_status, dest_server, dest_namespace, repo, autosync_enabled, operation;
- ``argocd_app_sync_total`` (counter): name, namespace, project, dest_server,
  phase (every finished sync operation, ``app_reconciles``);
- ``argocd_app_reconcile`` (histogram, seconds; Argo CD's buckets): those
  operations' durations (a resumed one, whose start another process saw, has none).

shipway's own: ``shipway_ci_runs_total{conclusion}``, ``shipway_ci_runs_running``,
``shipway_ci_queue_depth`` (entrants pending in a concurrency group plus jobs
waiting for a review), ``shipway_image_pushes_total``,
``shipway_image_updates_total{result}``, ``shipway_promotions_total{result}`` (Kargo
promotions started, succeeded, failed), ``shipway_rollbacks_total{outcome}``,
``shipway_webhooks_received_total{source,outcome}``,
``shipway_notifications{service,state}`` (the outbox: pending, sent, failed, suppressed),
and the DORA gauges
(``shipway_dora_*{app}``, over the last 30 days).

Served two ways (``shipway controller``): on the API port, behind a bearer
token whose account may ``get`` every application (``applications, get,
*/*``: the metrics name them all); and, with ``--metrics-port``, unauthenticated
on a separate loopback-only port, as Argo CD serves metrics on its own port.
Touches the store read-only, except the webhook counts (``hookcount``: one aggregated
event per source and outcome, written in batches).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from shipway.deploy import appspec
from shipway.model import dora
from shipway.model import events as ev
from shipway.server import hookcount
from shipway.store import events as store_events
from shipway.store import outbox
from shipway.store import releases as release_store
from shipway.store import resources as store_resources
from shipway.store.db import Store
from shipway.store.tables import CIApprovalRow, CIHolderRow, CIRunRow

RECONCILE_BUCKETS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)  # Argo CD's
DORA_WINDOW = dt.timedelta(days=30)
WEBHOOK = hookcount.WEBHOOK
record_webhook = hookcount.record_webhook
outcome = hookcount.outcome


def install_webhook_counter(app: FastAPI, store: Store) -> None:
    """Count every ``/hooks/<source>`` request by outcome (register it outermost)."""
    app.add_middleware(hookcount.CountWebhooks, store=store)


def _dest(spec: dict[str, Any]) -> tuple[str, str]:
    d = spec.get("destination") or {}
    return str(d.get("server") or d.get("name") or ""), str(d.get("namespace") or "")


class StoreCollector(Collector):
    """Builds every metric family from the store when Prometheus scrapes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._reconciles: list[tuple[str, str, str, float | None]] = []

    def collect(self) -> Iterator[Any]:
        hookcount.flush_all()  # webhooks counted in this process but not yet stored
        apps = store_resources.list_kind(self.store, "Application")
        yield self._app_info(apps)
        by_app = {(a.namespace, a.name): a for a in apps}
        self._reconciles = store_events.reconciles(self.store)
        yield self._sync_total(by_app)
        yield self._reconcile(by_app)
        yield from self._ci()
        yield from self._images()
        yield from self._promotions()
        yield self._webhooks()
        yield self._notifications()
        yield from self._dora()

    def _app_info(self, apps: list[Any]) -> GaugeMetricFamily:
        labels = ["name", "namespace", "project", "health_status", "sync_status", "dest_server",
                  "dest_namespace", "repo", "autosync_enabled", "operation"]  # fmt: skip
        g = GaugeMetricFamily("argocd_app_info", "Information about application.", labels=labels)
        for a in apps:
            status = a.status or {}
            server, namespace = _dest(a.spec)
            sources = appspec.sources(a.spec)
            op = (status.get("operationState") or {}).get("phase") or ""
            auto = (a.spec.get("syncPolicy") or {}).get("automated")
            g.add_metric([a.name, a.namespace, str(a.spec.get("project") or "default"),
                          str((status.get("health") or {}).get("status") or "Unknown"),
                          str((status.get("sync") or {}).get("status") or "Unknown"),
                          server, namespace, str(sources[0].get("repoURL", "") if sources else ""),
                          str(auto is not None).lower(),
                          "sync" if op == "Running" else ""], 1.0)  # fmt: skip
        return g

    def _sync_total(self, by_app: dict[tuple[str, str], Any]) -> CounterMetricFamily:
        labels = ["name", "namespace", "project", "dest_server", "phase"]
        c = CounterMetricFamily("argocd_app_sync", "Number of application syncs.", labels=labels)
        counts: dict[tuple[str, str, str], int] = {}
        for ns, name, phase, _s in self._reconciles:
            counts[(ns, name, phase)] = counts.get((ns, name, phase), 0) + 1
        for (ns, name, phase), n in sorted(counts.items()):
            app = by_app.get((ns, name))
            project = str(app.spec.get("project") or "default") if app else ""
            server = _dest(app.spec)[0] if app else ""
            c.add_metric([name, ns, project, server, phase], float(n))
        return c

    def _reconcile(self, by_app: dict[tuple[str, str], Any]) -> HistogramMetricFamily:
        h = HistogramMetricFamily("argocd_app_reconcile", "Application reconciliation performance "
                                  "in seconds.", labels=["namespace", "dest_server"])  # fmt: skip
        grouped: dict[tuple[str, str], list[float]] = {}
        for ns, name, _phase, seconds in self._reconciles:
            if seconds is None:
                continue
            app = by_app.get((ns, name))
            grouped.setdefault((ns, _dest(app.spec)[0] if app else ""), []).append(seconds)
        for (ns, server), values in sorted(grouped.items()):
            buckets = [(str(b), float(sum(1 for v in values if v <= b))) for b in RECONCILE_BUCKETS]
            buckets.append(("+Inf", float(len(values))))
            h.add_metric([ns, server], buckets, sum(values))
        return h

    def _ci(self) -> Iterator[Any]:
        with self.store.session() as s:
            by_conclusion = dict(s.execute(select(CIRunRow.conclusion, func.count())
                                           .group_by(CIRunRow.conclusion)).all())  # fmt: skip
            pending = s.scalar(select(func.count()).select_from(CIHolderRow)
                               .where(CIHolderRow.state == "pending")) or 0  # fmt: skip
            waiting = s.scalar(select(func.count()).select_from(CIApprovalRow)
                               .where(CIApprovalRow.state == "waiting")) or 0  # fmt: skip
        total = CounterMetricFamily("shipway_ci_runs", "CI runs that finished, by conclusion.",
                                    labels=["conclusion"])  # fmt: skip
        for conclusion, n in sorted(by_conclusion.items()):
            if conclusion:
                total.add_metric([conclusion], float(n))
        yield total
        yield GaugeMetricFamily("shipway_ci_runs_running", "CI runs started, not yet concluded.",
                                value=float(by_conclusion.get("", 0)))  # fmt: skip
        yield GaugeMetricFamily("shipway_ci_queue_depth", "CI entrants waiting: pending in a "
                                "concurrency group or for a review.",
                                value=float(pending + waiting))  # fmt: skip

    def _images(self) -> Iterator[Any]:
        counts = store_events.totals(self.store, [ev.IMAGE_PUSHED, ev.UPDATE_COMMITTED,
                                                  "UpdateFailed"])  # fmt: skip
        pushes = sum(n for (r, _t, _k), n in counts.items() if r == ev.IMAGE_PUSHED)
        yield CounterMetricFamily("shipway_image_pushes", "Image pushes the registries reported.",
                                  value=float(pushes))  # fmt: skip
        updates = CounterMetricFamily("shipway_image_updates", "Image updates written to config "
                                      "repositories, by result.", labels=["result"])  # fmt: skip
        for result, reason in (("committed", ev.UPDATE_COMMITTED), ("failed", "UpdateFailed")):
            updates.add_metric([result], float(sum(n for (r, _t, _k), n in counts.items()
                                                   if r == reason)))  # fmt: skip
        yield updates

    def _promotions(self) -> Iterator[Any]:
        reasons = {"started": ev.PROMOTION_STARTED, "succeeded": ev.PROMOTION_SUCCEEDED,
                   "failed": ev.PROMOTION_FAILED}  # fmt: skip
        counts = store_events.totals(self.store, [*reasons.values(), ev.ROLLBACK])
        c = CounterMetricFamily("shipway_promotions", "Kargo promotions, by result (started, "
                                "succeeded, failed).", labels=["result"])  # fmt: skip
        for result, reason in reasons.items():
            c.add_metric([result], float(sum(n for (r, _t, k), n in counts.items()
                                             if r == reason and k == "Promotion")))  # fmt: skip
        yield c
        r = CounterMetricFamily("shipway_rollbacks", "Rollbacks of Applications, by outcome.",
                                labels=["outcome"])  # fmt: skip
        for outcome, kind in (("succeeded", ev.NORMAL), ("failed", ev.WARNING)):
            r.add_metric([outcome], float(sum(n for (reason, t, _k), n in counts.items()
                                              if reason == ev.ROLLBACK and t == kind)))  # fmt: skip
        yield r

    def _notifications(self) -> GaugeMetricFamily:
        help_ = "Notifications in the outbox, by service and state (pending, sent, failed)."
        g = GaugeMetricFamily("shipway_notifications", help_, labels=["service", "state"])
        for (service, state), n in sorted(outbox.counts(self.store).items()):
            g.add_metric([service, state], float(n))
        return g

    def _webhooks(self) -> CounterMetricFamily:
        c = CounterMetricFamily("shipway_webhooks_received", "Webhooks received, by source and "
                                "outcome.", labels=["source", "outcome"])  # fmt: skip
        for (source, outcome), n in sorted(store_events.by_message(self.store, "Receiver",
                                                                   WEBHOOK).items()):  # fmt: skip
            c.add_metric([source, outcome], float(n))
        return c

    def _dora(self) -> Iterator[Any]:
        until = dt.datetime.now(dt.UTC)
        since = until - DORA_WINDOW
        rels = release_store.list_releases(self.store, limit=100_000)
        names = sorted({r.app for r in rels})
        fams = {
            "freq": GaugeMetricFamily("shipway_dora_deployment_frequency_per_day", "Releases "
                                      "that went live per day (30 days).", labels=["app"]),
            "lead": GaugeMetricFamily("shipway_dora_lead_time_seconds", "Median commit-to-live "
                                      "time (30 days).", labels=["app"]),
            "cfr": GaugeMetricFamily("shipway_dora_change_failure_rate", "Failed or rolled-back "
                                     "releases over finished ones (30 days).", labels=["app"]),
            "ttr": GaugeMetricFamily("shipway_dora_time_to_restore_seconds", "Median time from a "
                                     "failed release to the next live one (30 days).",
                                     labels=["app"]),
        }  # fmt: skip
        for name in names:
            d = dora.compute(rels, since=since, until=until, app=name)
            fams["freq"].add_metric([name], d.deployment_frequency_per_day)
            for key, value in (("lead", d.lead_time_median_seconds),
                               ("cfr", d.change_failure_rate),
                               ("ttr", d.time_to_restore_median_seconds)):  # fmt: skip
                if value is not None:
                    fams[key].add_metric([name], value)
        yield from fams.values()


def registry_for(store: Store) -> CollectorRegistry:
    """A registry holding only the store's metrics (no process-local counters)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StoreCollector(store))
    return reg
