"""Per-credential rate limits, shared by every API process.

The counting is the `limits` library's fixed-window strategy. Its counters live where every
process sees them: in Redis when TFS_REDIS_URL is set, else in the database (a `limits` storage
written here, one upsert per request), or in memory when the service is one process on SQLite
(then memory *is* shared by every process there is).

With several processes on SQLite the counters are kept in a file of their own beside the
database (`<database>.rate-limits`, not synced: a counter lost in a crash costs nothing), with a
writer lock of its own: in the database itself each upsert waited for the group commits to
finish, in SQLite's busy handler, which sleeps, and gave seconds-long tails.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import psycopg
from limits import RateLimitItem, parse
from limits.storage import RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError

from tfs.db.driver import Driver
from tfs.db.sqlite_writer import SqliteWriterLock
from tfs.db.tables import rate_limits
from tfs.errors import ConfigurationError, RateLimitExceeded


class LocalStorage(Storage):
    """A `limits` storage in this process's memory, for a service that is one process.

    `limits`' own MemoryStorage expires counters from a timer thread that it starts anew every
    10 ms while requests come: a thread per request or so under load, measured at about 3 % of
    the service's CPU. Here a counter is expired when it is next touched, and the expired ones
    are swept once the table has grown by a few thousand keys.
    """

    STORAGE_SCHEME = ["tfs-local"]  # noqa: RUF012 - the shape `limits` declares
    SWEEP_EVERY = 4096

    def __init__(self, **options: Any) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, tuple[int, float]] = {}  # key -> (count, expires at)
        self._next_sweep = self.SWEEP_EVERY
        super().__init__(None, wrap_exceptions=False)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self._lock:
            count, expires = self._counters.get(key, (0, 0.0))
            if expires <= now:
                count, expires = 0, now + expiry
            count += amount
            self._counters[key] = (count, expires)
            if len(self._counters) >= self._next_sweep:
                self._sweep(now)
        return count

    def _sweep(self, now: float) -> None:
        self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        self._next_sweep = len(self._counters) + self.SWEEP_EVERY

    def get(self, key: str) -> int:
        count, expires = self._counters.get(key, (0, 0.0))
        return count if expires > time.time() else 0

    def get_expiry(self, key: str) -> float:
        return self._counters.get(key, (0, time.time()))[1]

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            n, self._counters = len(self._counters), {}
        return n

    def clear(self, key: str) -> None:
        with self._lock:
            self._counters.pop(key, None)


# One upsert per request: a counter whose window has passed starts again from this request.
_INCR = (
    "INSERT INTO rate_limits (key, count, expires_at) VALUES (?, ?, ?)"
    " ON CONFLICT (key) DO UPDATE SET"
    " count = CASE WHEN rate_limits.expires_at <= ? THEN excluded.count"
    " ELSE rate_limits.count + excluded.count END,"
    " expires_at = CASE WHEN rate_limits.expires_at <= ? THEN excluded.expires_at"
    " ELSE rate_limits.expires_at END"
    " RETURNING count"
)
_ROW = "SELECT count, expires_at FROM rate_limits WHERE key = ?"
_RESET = "DELETE FROM rate_limits"
_CLEAR = "DELETE FROM rate_limits WHERE key = ?"
_PURGE = "DELETE FROM rate_limits WHERE expires_at <= ?"
# What a statement run through the Driver raises: the DBAPI's own errors, not SQLAlchemy's.
_DATABASE_ERRORS = (DBAPIError, sqlite3.Error, psycopg.Error)


class DatabaseStorage(Storage):
    """A `limits` storage on the service's own database (SQLite or PostgreSQL)."""

    STORAGE_SCHEME = ["tfs-database"]  # noqa: RUF012 - the shape `limits` declares

    def __init__(
        self, engine: Engine, lock: AbstractContextManager[Any] | None = None, **options: Any
    ) -> None:
        self.engine = engine
        # Writers take it first (SQLite: see SqliteWriterLock), else only SQLite's busy handler.
        self._lock = lock or nullcontext()
        super().__init__(None, wrap_exceptions=False)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return _DATABASE_ERRORS

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self._lock, self.engine.begin() as conn:
            sql = Driver(conn)
            if sql.postgres:
                # A counter lost in a crash costs nothing; do not wait for the disk.
                sql.execute("SET LOCAL synchronous_commit TO OFF")
            rows = sql.rows(_INCR, (key, amount, now + expiry, now, now))
        return int(rows[0][0])

    def _row(self, key: str) -> tuple[Any, ...] | None:
        with self.engine.connect() as conn:
            rows = Driver(conn).rows(_ROW, (key,))
        return rows[0] if rows else None

    def get(self, key: str) -> int:
        row = self._row(key)
        return int(row[0]) if row is not None and row[1] > time.time() else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return float(row[1]) if row is not None else time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                Driver(conn).rows("SELECT 1")
        except _DATABASE_ERRORS:
            return False
        return True

    def reset(self) -> int | None:
        with self._lock, self.engine.begin() as conn:
            return Driver(conn).execute(_RESET)

    def clear(self, key: str) -> None:
        with self._lock, self.engine.begin() as conn:
            Driver(conn).execute(_CLEAR, (key,))

    def purge_expired(self) -> None:
        with self._lock, self.engine.begin() as conn:
            Driver(conn).execute(_PURGE, (time.time(),))


def parse_rate(raw: str | None) -> RateLimitItem | None:
    """`50/second`, `3000 per minute`, …; `off` (or empty) for no limit."""
    if raw is None or raw.strip().lower() in ("", "off", "none", "0"):
        return None
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigurationError(f"TFS_RATE_LIMIT: {exc}") from exc


class RateLimiter:
    def __init__(self, rate: RateLimitItem, storage: Storage) -> None:
        self.rate = rate
        self.storage = storage
        self.strategy = FixedWindowRateLimiter(storage)

    @property
    def in_memory(self) -> bool:
        """True when counting is in this process's memory, with nothing to wait for."""
        return isinstance(self.storage, LocalStorage)

    def hit(self, consumer_key: str) -> None:
        """Count one request; raise RateLimitExceeded (429, Retry-After) over the limit."""
        if self.strategy.hit(self.rate, consumer_key):
            return
        reset_at = self.strategy.get_window_stats(self.rate, consumer_key).reset_time
        raise RateLimitExceeded(retry_after=max(1, math.ceil(reset_at - time.time())))


def make_limiter(
    rate: RateLimitItem | None, engine: Engine, *, redis_url: str | None, single_process: bool
) -> RateLimiter | None:
    if rate is None:
        return None
    storage: Storage
    if redis_url:
        storage = RedisStorage(redis_url)
    elif single_process:
        storage = LocalStorage()
    elif (counters := _sqlite_counters(engine)) is not None:
        storage = DatabaseStorage(counters, SqliteWriterLock(counters))
    else:
        storage = DatabaseStorage(engine)
    return RateLimiter(rate, storage)


def _sqlite_counters(engine: Engine) -> Engine | None:
    """The counters' own SQLite file beside an SQLite database file; None for anything else."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    counters = create_engine(f"sqlite:///{database}.rate-limits")

    @event.listens_for(counters, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    with SqliteWriterLock(counters):
        rate_limits.create(counters, checkfirst=True)
    return counters
