"""Deadlines on PostgreSQL connections: a connection held past its deadline is cut.

A database behind a network that stalls never answers and never fails: the driver waits in
`recv` for as long as TCP keeps the connection (a proxy that stops forwarding keeps it for
ever). So every connection checked out of the pool gets a deadline (TFS_DB_TIMEOUT_S, default
5 s), and one watchdog thread shuts down the socket of any still held past it. The blocked call
then fails at once as a lost connection: SQLAlchemy invalidates it, the request answers 503
(Recoverable, Retry-After), and the next checkout connects again, so recovery needs nobody.

Work that may rightly take longer (importing a catalog) says so with `allowance(seconds)`.
SQLite is a local file: it has no network to stall, and its writers queue for their turn.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger("tfs.db")
_local = threading.local()


@contextlib.contextmanager
def allowance(seconds: float) -> Iterator[None]:
    """Connections checked out in this block (in this thread) may be held this long."""
    before = getattr(_local, "seconds", None)
    _local.seconds = seconds
    try:
        yield
    finally:
        _local.seconds = before


class Watchdog:
    """Cuts the sockets of connections held past their deadlines."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._held: dict[int, Any] = {}  # token -> DBAPI connection
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def hold(self, dbapi_connection: Any, seconds: float) -> int:
        token = next(self._tokens)
        with self._lock:
            self._held[token] = dbapi_connection
            heapq.heappush(self._heap, (time.monotonic() + seconds, token))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-deadlines", daemon=True)
                self._thread.start()
            self._lock.notify()
        return token

    def release(self, token: int) -> None:
        with self._lock:
            self._held.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._heap and self._heap[0][1] not in self._held:
                    heapq.heappop(self._heap)  # released in time
                wait = self._heap[0][0] - time.monotonic() if self._heap else None
                if wait is None or wait > 0:
                    self._lock.wait(timeout=wait)
                    continue
                _, token = heapq.heappop(self._heap)
                connection = self._held.pop(token)
            _cut(connection)


def _cut(dbapi_connection: Any) -> None:
    """Shut the connection's socket down under the driver, which then fails as disconnected."""
    try:
        fd = dbapi_connection.fileno()
        with socket.socket(fileno=socket.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError, AttributeError) as exc:
        log.debug("could not cut a connection past its deadline: %s", exc)
        return
    log.warning("database connection cut: held past its deadline (the database did not answer)")


WATCHDOG = Watchdog()


def install(engine: Engine, seconds: float) -> None:
    """Give every connection checked out of this engine's pool a deadline."""

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        allowed = getattr(_local, "seconds", None) or seconds
        record.info["deadline"] = WATCHDOG.hold(dbapi_connection, allowed)

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        token = record.info.pop("deadline", None)
        if token is not None:
            WATCHDOG.release(token)
