"""Prometheus metrics: every metric the service exposes is defined here, and `GET /metrics`
answers with them (the route is added by `tfs.api.app` unless TFS_METRICS=off).

What this module owns:

- the counters and the histogram the service increments as it works: HTTP requests by route
  template, method and status, and their duration by route (`HttpMetrics`, called once per
  request by the app's middleware: one dict look-up, one increment, one observation); status
  update results (`count_updates`, by the orders use case after each committed answer);
  placements; webhook attempts (the relay, where it records them);
- the gauges read from the database when scraped (`DatabaseCollector`: the outbox not yet
  relayed, webhook backlog and dead letters by subscription, relay lag; one read transaction),
  and the SQLAlchemy pool's checked-out connections;
- the answer (`Exposition`), in one process or several.

Several processes (`tfs serve --workers N`): `tfs serve` points PROMETHEUS_MULTIPROC_DIR at a
fresh private folder before any worker starts; prometheus-client then keeps each process's
values in files there, and the worker answering a scrape adds up every worker's counters and
histograms (`MultiProcessCollector`). The database gauges are not kept in those files: the
worker answering computes them itself, so they are never summed across workers. Connections
checked out are counted by pool events into a gauge summed over the live workers. The variable
is read when prometheus-client is first imported, as it reads it itself.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event

from tfs import clock
from tfs.orders.rules import (
    DUPLICATE_ORDER,
    ILLEGAL_TRANSITION,
    UNKNOWN_ITEM,
    UNKNOWN_ORDER,
    UNKNOWN_STATUS,
)

if TYPE_CHECKING:
    from tfs.db.store import Store

log = logging.getLogger("tfs.metrics")

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
UNMATCHED = "unmatched"  # the route of a request that matched no route (never the raw path)
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
OTHER_METHOD = "other"  # any other method a client sends: it cannot grow the label set
# From a fast read (~1 ms) to a large batch waiting its turn behind others.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# No `_created` series beside each counter: nothing here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

HTTP_REQUESTS = Counter(
    "tfs_http_requests",
    "HTTP requests answered, by route template (not the raw path), method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "tfs_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template.",
    ["route"],
    buckets=DURATION_BUCKETS,
)
ORDER_UPDATES = Counter(
    "tfs_order_updates",
    "Orders of committed status updates, by result: applied (something changed), unchanged,"
    " or the errorCode of a FAILED order. Idempotent replays are not counted again.",
    ["result"],
)
APPLIED, UNCHANGED = "applied", "unchanged"
ORDER_RESULTS = (
    APPLIED,
    UNCHANGED,
    *(str(code) for code in (UNKNOWN_ORDER, UNKNOWN_ITEM, UNKNOWN_STATUS, ILLEGAL_TRANSITION)),
    str(DUPLICATE_ORDER),
)
_UPDATE_RESULTS = {result: ORDER_UPDATES.labels(result) for result in ORDER_RESULTS}
ORDERS_PLACED = Counter("tfs_orders_placed", "New orders placed (repeats of a placed order not).")
WEBHOOK_ATTEMPTS = Counter(
    "tfs_webhook_attempts",
    "Webhook delivery attempts recorded by this process's relay, by outcome: delivered, failed"
    " (to be retried), dead_lettered (the last one), not_recorded (the database refused the"
    " record; the delivery is tried again when its lease lapses).",
    ["outcome"],
)
WEBHOOK_OUTCOMES = ("delivered", "failed", "dead_lettered", "not_recorded")
for _outcome in WEBHOOK_OUTCOMES:
    WEBHOOK_ATTEMPTS.labels(_outcome)
POOL_IN_USE_HELP = "Database connections checked out of the SQLAlchemy pool (every worker)."
# Several processes only: kept by pool events, summed over the live workers. One process reads
# its pool when scraped instead (DatabaseCollector), at no cost per request.
_POOL_IN_USE = Gauge(
    "tfs_db_pool_in_use", POOL_IN_USE_HELP, multiprocess_mode="livesum", registry=None
)


def count_updates(results: Iterable[str]) -> None:
    """One committed status-update answer: each order's result (APPLIED, UNCHANGED or its
    errorCode as text), added up first so that a batch costs one increment per result."""
    tally: dict[str, int] = {}
    for result in results:
        tally[result] = tally.get(result, 0) + 1
    for result, n in tally.items():
        child = _UPDATE_RESULTS.get(result)
        (child or ORDER_UPDATES.labels(result)).inc(n)


def count_placed(n: int) -> None:
    if n:
        ORDERS_PLACED.inc(n)


def count_webhook_attempt(outcome: str) -> None:
    WEBHOOK_ATTEMPTS.labels(outcome).inc()


def update_results() -> dict[str, float]:
    """The status-update results counted since the service started, by result (`applied`,
    `unchanged`, each errorCode): this process's, or every worker's added up (the console)."""
    if MULTIPROCESS_DIR is None:
        families: Iterable[Metric] = ORDER_UPDATES.collect()
    else:
        from prometheus_client.multiprocess import MultiProcessCollector

        workers = CollectorRegistry(auto_describe=False)
        collector = MultiProcessCollector(workers, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
        families = collector.collect()  # type: ignore[no-untyped-call]
    totals: dict[str, float] = {}
    for family in families:
        for sample in family.samples:
            if sample.name == "tfs_order_updates_total":
                result = sample.labels["result"]
                totals[result] = totals.get(result, 0.0) + sample.value
    return totals


# --- HTTP -------------------------------------------------------------------------------------


def route_templates(routes: Sequence[Any], prefix: str = "") -> dict[int, str]:
    """The full path template of every route (under its mounts), by the route object's id: the
    router leaves the route it matched in the request's scope."""
    templates: dict[int, str] = {}
    for route in routes:
        path = prefix + getattr(route, "path", "")
        children = getattr(route, "routes", None)
        if children is not None:  # a Mount: its routes, under its path
            templates.update(route_templates(children, path))
        else:
            templates[id(route)] = path
    return templates


class HttpMetrics:
    """Counts and times each answered request by route template. The children of the counter
    and the histogram are looked up once per (route, method, status) and kept."""

    def __init__(self, routes: Sequence[Any]) -> None:
        self._templates = route_templates(routes)
        self._children: dict[tuple[int, str, int], tuple[Any, Any]] = {}

    def observe(self, scope: MutableMapping[str, Any], status: int, seconds: float) -> None:
        method = scope["method"]
        if method not in METHODS:
            method = OTHER_METHOD
        route = id(scope.get("route"))
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            template = self._templates.get(route, UNMATCHED)
            children = (
                HTTP_REQUESTS.labels(template, method, str(status)),
                HTTP_DURATION.labels(template),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


# --- The database, read when scraped ------------------------------------------------------------


def _pool_checked_out(engine: Engine) -> int | None:
    checkedout = getattr(engine.pool, "checkedout", None)
    return int(checkedout()) if checkedout is not None else None


def count_pool_checkouts(engine: Engine) -> None:
    """Several processes: keep the pool's checked-out connections in the shared gauge."""
    if MULTIPROCESS_DIR is None:
        return
    event.listen(engine, "checkout", lambda *_: _POOL_IN_USE.inc())
    event.listen(engine, "checkin", lambda *_: _POOL_IN_USE.dec())


class DatabaseCollector(Collector):
    """Gauges read from the database in the process answering the scrape, one read transaction:
    the outbox not yet relayed and the age of its oldest event, and each subscription's webhook
    backlog and dead letters. When the database does not answer they are left out."""

    def __init__(self, store: Store, cursors: Sequence[str]) -> None:
        self.store, self.cursors = store, tuple(cursors)

    def collect(self) -> Iterator[Metric]:
        from tfs.notify import usecases as notify

        if MULTIPROCESS_DIR is None:
            in_use = _pool_checked_out(self.store.engine)
            if in_use is not None:
                yield GaugeMetricFamily("tfs_db_pool_in_use", POOL_IN_USE_HELP, value=in_use)
        now = clock.now()
        try:
            backlog = notify.relay_backlog(self.store, self.cursors, now)
        except Exception as exc:
            fields = {"fields": {"error": str(exc)}}
            log.warning("metrics: the database did not answer", extra=fields)
            return
        yield GaugeMetricFamily(
            "tfs_events_pending",
            "Events in the outbox not yet relayed (fanned out to webhooks, and published to NATS"
            " when it is configured).",
            value=backlog.events_pending,
        )
        yield GaugeMetricFamily(
            "tfs_relay_lag_seconds",
            "Age of the oldest event not yet relayed (0 when none is waiting).",
            value=backlog.lag_s,
        )
        pending = GaugeMetricFamily(
            "tfs_webhook_backlog",
            "Webhook deliveries waiting to be delivered (retries included), by subscription.",
            labels=["subscription"],
        )
        dead = GaugeMetricFamily(
            "tfs_webhook_dead_letters",
            "Webhook deliveries dead-lettered (retries exhausted), by subscription.",
            labels=["subscription"],
        )
        for s in backlog.subscriptions:
            pending.add_metric([str(s.subscription_id)], s.pending)
            dead.add_metric([str(s.subscription_id)], s.dead)
        yield pending
        yield dead


# --- The answer ---------------------------------------------------------------------------------


def _forget_dead_workers(path: str) -> None:
    """A worker that died (uvicorn starts another) leaves its live gauges behind: drop them."""
    from prometheus_client.multiprocess import mark_process_dead

    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        pid = int(name.rsplit("_", 1)[1].removesuffix(".db"))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
        except PermissionError:
            pass


@dataclass
class Exposition:
    """The text `GET /metrics` answers: this process's metrics (or every worker's, added up),
    then the database's gauges. Blocking: run it in a worker thread."""

    database: CollectorRegistry

    @classmethod
    def for_store(cls, store: Store, cursors: Sequence[str]) -> Exposition:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(DatabaseCollector(store, cursors))
        count_pool_checkouts(store.engine)
        return cls(registry)

    def render(self) -> bytes:
        if MULTIPROCESS_DIR is None:
            return generate_latest(REGISTRY) + generate_latest(self.database)
        from prometheus_client.multiprocess import MultiProcessCollector

        with contextlib.suppress(OSError, ValueError):
            _forget_dead_workers(MULTIPROCESS_DIR)
        workers = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(workers, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
        return generate_latest(workers) + generate_latest(self.database)
