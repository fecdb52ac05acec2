"""The app factory: routes under the base path, one error handler, correlation ids, logs."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import uuid_utils
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tfs import clock, limits
from tfs.access import usecases as access
from tfs.access.ratelimit import make_limiter, parse_rate
from tfs.access.read_nonces import ReadNonces
from tfs.catalog import routes as catalog
from tfs.catalog.cache import AnswerCache, Shapes
from tfs.config import Settings
from tfs.console import routes as console_routes
from tfs.console import usecases as console
from tfs.db.engine import WalCheckpointer, is_sqlite, is_up_to_date, make_engine, sqlite_file
from tfs.db.store import Store
from tfs.errors import MethodNotAllowed, RouteNotFound, TfsError
from tfs.fields import printable
from tfs.http import AppContext, ctx, json_response
from tfs.idempotency import usecases as idempotency
from tfs.logs import correlation_id
from tfs.metrics import HttpMetrics
from tfs.notify import relay
from tfs.notify import routes as feed
from tfs.orders import render, routes

GIL_SWITCH_S = 0.001
# The cyclic collector's youngest generation runs after this many allocations (Python's default
# is 700, counted as container objects allocated less those freed). A status update holds
# thousands of containers until it is answered (the parsed body, the states, the rows, the
# answer), so at 700 the collector ran several times per request, walking every young object
# each time: 4-5 % of the server's CPU in perf, and pauses in the p99 (docs/performance.md).
GC_YOUNG_THRESHOLD = 20_000
log = logging.getLogger("tfs.http")
CORRELATION_HEADER = "x-correlation-id"
PURGE_EVERY_S = 60
CLIENT_GONE = 499  # logged (and counted) for a request whose caller left before its answer


class CorrelationMiddleware:
    """Tags each request with a correlation id (the caller's, if given) and logs it once."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics  # counts and times each request by route (None: TFS_METRICS=off)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(CORRELATION_HEADER.encode(), b"").decode("latin-1")
        ok = 0 < len(given) <= limits.MAX_CORRELATION_ID_LENGTH and printable(given)
        cid = given if ok else str(uuid_utils.uuid4())  # a tenth of the stdlib's cost
        token = correlation_id.set(cid)
        started, status, status_sent = time.perf_counter(), 500, False

        async def send_with_id(message: Message) -> None:
            nonlocal status, status_sent
            if message["type"] == "http.response.start":
                status, status_sent = message["status"], True
                message["headers"] = [
                    *message.get("headers", []),
                    (CORRELATION_HEADER.encode(), cid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # The caller went away (or was cut off for stalling, tfs.api.server) before its
            # body was in: nothing was done and there is no one to answer. 499 as nginx logs it.
            status = CLIENT_GONE
        except Exception:
            # Handled here rather than by Starlette's outermost error middleware, so that even a
            # 500 carries the correlation id. The trace goes to the log, never to the client.
            log.exception("unexpected error")
            if status_sent:
                raise
            status = 500
            response = json_response(render.error(TfsError()), 500)
            await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.observe(scope, status, elapsed)
            log.info(
                "request",
                extra={
                    "fields": {
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    }
                },
            )
            correlation_id.reset(token)


def tfs_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TfsError)
    if exc.status >= 500:
        log.warning("service error", extra={"fields": {"reason": exc.reason_code}})
    return json_response(render.error(exc), exc.status, headers=exc.headers)


def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    mapped: TfsError = RouteNotFound() if exc.status_code == 404 else MethodNotAllowed()
    if exc.status_code not in (404, 405):
        mapped = TfsError(str(exc.detail))
        mapped.status = exc.status_code
    response = tfs_error(request, mapped)
    if exc.headers:  # a 405 must name the allowed methods (RFC 9110 §15.5.6): Starlette's Allow
        response.headers.update(exc.headers)
    return response


async def health(_request: Request) -> Response:
    return json_response(b'{"status":"ok"}')


READY_WITHIN_S = 2.0


async def ready(request: Request) -> Response:
    """200 when the database answers a query within READY_WITHIN_S, else 503 (soon, never
    waiting on a database that does not answer)."""
    store = ctx(request).store
    try:
        ok = await asyncio.wait_for(run_in_threadpool(store.ping), READY_WITHIN_S)
    except TimeoutError:
        ok = False
    body = render.encode({"status": "ready" if ok else "unavailable", "database": ok})
    return json_response(body, 200 if ok else 503, headers=None if ok else {"Retry-After": "5"})


async def _purge_nonces(store: Store, read_nonces: ReadNonces) -> None:
    while True:
        await asyncio.sleep(PURGE_EVERY_S)
        with contextlib.suppress(Exception):
            await run_in_threadpool(access.purge_expired_nonces, store, clock.now())
            await run_in_threadpool(read_nonces.purge_expired, clock.now())
            await run_in_threadpool(idempotency.purge_expired, store, clock.now())
            await run_in_threadpool(console.purge_sessions, store, clock.now())


def metrics_route(store: Store, settings: Settings) -> Route:
    """`GET /metrics`: Prometheus' text format (tfs.metrics), made in a worker thread (it reads
    the database, and with several workers their files)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    from tfs.metrics import Exposition
    from tfs.notify.cursors import FANOUT, NATS

    cursors = (FANOUT, NATS) if settings.relay.nats_url else (FANOUT,)
    exposition = Exposition.for_store(store, cursors)

    async def scrape(_request: Request) -> Response:
        body = await run_in_threadpool(exposition.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", scrape, methods=["GET"])


def _check_schema(store: Store) -> None:
    """Refuse an outdated database; start anyway when it cannot be reached (503 until it can)."""
    try:
        current = is_up_to_date(store.engine)
    except OperationalError:
        log.warning("database unreachable at start-up; answering 503 until it is back")
        return
    if not current:
        raise RuntimeError("The database is not at the latest migration: run `tfs db upgrade`.")


async def order_status(request: Request) -> Response:
    """GET and POST of one path share one route, so that a 405's Allow names them both."""
    if request.method == "POST":
        return await routes.post_order_status(request)
    return await routes.get_order_status(request)


async def program_catalog(request: Request) -> Response:
    if request.method == "PUT":
        return await catalog.put_catalog(request)
    return await catalog.get_catalog(request)


def api_routes() -> list[Route]:
    return [
        Route("/vendors/{vendor_id}/orders/status", order_status, methods=["GET", "POST"]),
        Route("/orders", routes.post_order, methods=["POST"]),
        Route("/orders/{mc_order_id}", routes.get_order, methods=["GET"]),
        Route("/orders/{mc_order_id}/history", routes.get_order_history, methods=["GET"]),
        Route(
            "/vendors/{vendor_id}/orders/{mc_order_id}/history",
            routes.get_order_history,
            methods=["GET"],
        ),
        Route("/events", feed.get_events, methods=["GET"]),
        Route("/catalogs", catalog.get_catalogs, methods=["GET"]),
        Route("/catalogs/{catalog_id}/items", catalog.get_items, methods=["GET"]),
        Route("/programs/{program_id}/catalog", program_catalog, methods=["GET", "PUT"]),
    ]


def create_app(settings: Settings, store: Store | None = None) -> Starlette:
    """The ASGI app for these settings. The database must be at the latest migration."""
    from tfs.api import docs

    checkpointer = None
    if store is None:
        url = settings.database_url
        if is_sqlite(url) and sqlite_file(url) is not None:
            checkpointer = WalCheckpointer(url)
        store = Store(
            make_engine(
                url,
                background_checkpoint=checkpointer is not None,
                timeout_s=settings.db_timeout_s,
            )
        )

    read_nonces = ReadNonces(store, 2 * settings.timestamp_tolerance_s)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(_check_schema, store)
        purger = asyncio.create_task(_purge_nonces(store, read_nonces))
        if checkpointer is not None:
            checkpointer.start()
        read_nonces.start()
        try:
            # The event relay runs here unless TFS_RELAY=off (then `tfs relay` runs elsewhere).
            async with relay.running(store, settings.relay):
                yield
        finally:
            purger.cancel()
            await run_in_threadpool(read_nonces.stop)
            if checkpointer is not None:
                await run_in_threadpool(checkpointer.stop)
            await run_in_threadpool(store.close)

    base = settings.base_path
    app_routes: list[Any] = [
        Route("/health", health),
        Route("/ready", ready),
        *docs.routes(settings),
    ]
    if settings.metrics:
        app_routes.append(metrics_route(store, settings))
    # The console before the API's mount, which would take every path under the base.
    app_routes.append(Mount(base + "/console", app=console_routes.app(settings, store)))
    app_routes += [Mount(base, routes=api_routes())] if base else api_routes()
    app = Starlette(
        routes=app_routes,
        lifespan=lifespan,
        exception_handlers={
            TfsError: tfs_error,
            HTTPException: http_error,
        },
    )
    limiter = make_limiter(
        parse_rate(settings.rate_limit),
        store.engine,
        redis_url=settings.redis_url,
        single_process=is_sqlite(settings.database_url) and settings.workers == 1,
    )
    app.state.ctx = AppContext(settings, store, read_nonces, limiter)
    app.state.catalog_answers = AnswerCache(limits.CATALOG_CACHE_BYTES)
    app.state.catalog_shapes = Shapes()
    app.add_middleware(
        CorrelationMiddleware, metrics=HttpMetrics(app_routes) if settings.metrics else None
    )
    return app


def create_app_from_env() -> Starlette:
    """Entry point for `uvicorn --factory`: settings are read here, once."""
    from tfs import logs
    from tfs.config import load_settings

    settings = load_settings()
    logs.configure(settings.log_level)
    # The group committer lets go of the GIL for every SQLite call and waits to take it back
    # while the event loop runs Python; Python makes a waiter wait up to its switch interval
    # (5 ms) before asking the holder to let go. 1 ms: p99 152-174 ms where 5 ms gave 152-270
    # (docs/performance.md).
    sys.setswitchinterval(GIL_SWITCH_S)
    app = create_app(settings)
    # What is alive after start-up (modules, the app, templates) lives as long as the process:
    # moved out of the collector's generations, so that no collection walks it again.
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 50, 100)
    return app
