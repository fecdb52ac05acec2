"""The store: transactions, and the one awaitable way to write on every backend."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tfs.db.sqlite_writer import GroupCommitter, SqliteWriterLock
from tfs.db.transaction import Transaction
from tfs.errors import ServiceUnavailable

T = TypeVar("T")
log = logging.getLogger("tfs.db")


Work = Callable[[Transaction], T]


class Store:
    """Owns the engine; runs transactions.

    `write` is how every use case that changes something runs its work, awaited the same way
    on every backend; each commits its own way behind it. SQLite has one writer at a time:
    works are queued for the group committer (db/sqlite_writer.py), which commits those queued
    at the same moment with one fsync. PostgreSQL commits each work in a transaction of its own
    on a pool connection, in a thread of a pool no larger than the connection pool, so that
    work queues here rather than in the connection pool.
    """

    def __init__(self, engine: Engine, *, write_threads: int = 8) -> None:
        self.engine = engine
        self.writes_failing: str | None = None  # why writes fail now (a full disk), if they do
        self._writer: SqliteWriterLock | None = None
        self._group: GroupCommitter | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._group_conn: Connection | None = None
        if engine.dialect.name == "sqlite":
            # Writers queue for the lock here, where a waiter wakes the moment it is free,
            # instead of in SQLite's busy handler, which sleeps in steps of up to 100 ms.
            self._writer = SqliteWriterLock(engine)
            # Events are numbered as they are written (Events.add): with one writer at a time,
            # that is commit order, and the relay has no stamping transaction (and fsync) of its
            # own to run (migration 0010 numbered what older versions left unnumbered).
            self._group = GroupCommitter(self._writer, self._group_transaction)
        else:
            self._threads = ThreadPoolExecutor(write_threads, thread_name_prefix="db-write")

    @property
    def reads_are_local(self) -> bool:
        """True where a read is a local file read (SQLite) that never waits on a network."""
        return self._writer is not None

    async def write(
        self, work: Work[T], *, keys: frozenset[str] | None = None, savepoint: bool = True
    ) -> T:
        """Run `work` in a transaction and give its value once committed (see `submit`)."""
        return await asyncio.wrap_future(self.submit(work, keys=keys, savepoint=savepoint))

    def submit(
        self, work: Work[T], *, keys: frozenset[str] | None = None, savepoint: bool = True
    ) -> Future[T]:
        """Queue `work`; the future settles once it is committed, or has failed (a work that
        raises changes nothing). Cancelling the future before the work starts drops it.

        `keys` names what the work reads (order ids) and `savepoint` whether it needs one of
        its own: see GroupCommitter. Nothing settles before its commit.
        """
        if self._group is not None:
            return self._group.submit(work, keys, savepoint)
        assert self._threads is not None
        return self._threads.submit(self._run, work)

    def _run(self, work: Work[T]) -> T:
        with self._transaction(False) as tx:
            return work(tx)

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Transaction]:
        """A transaction for the blocking caller (a worker thread, the command line): commits
        when the block ends normally; rolls back when it raises."""
        if self._writer is not None and not readonly:
            with self._writer, self._transaction(readonly) as tx:
                yield tx
        else:
            with self._transaction(readonly) as tx:
                yield tx

    @contextmanager
    def _group_transaction(self) -> Iterator[Transaction]:
        """A transaction on the connection kept for group commits (the caller holds the writer's
        turn): its page cache stays warm from one group to the next, where a connection taken
        from the pool would have to read the pages it needs again (SQLite drops a connection's
        cache whenever another connection wrote since it last ran)."""
        with self._writing(), unavailable_as_503():
            try:
                if self._group_conn is None or self._group_conn.invalidated:
                    self._group_conn = self.engine.connect()
                with self._group_conn.begin():
                    tx = Transaction(self._group_conn)
                    yield tx
                    tx.writes.flush()
            except OperationalError:
                conn, self._group_conn = self._group_conn, None
                if conn is not None:
                    conn.close()
                raise

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Around a write: notes when writes start failing for want of disk space and when they
        work again (one log line each), so that /ready says so and the log is not flooded."""
        try:
            yield
        except ServiceUnavailable as exc:
            if exc.description == DISK_FULL and self.writes_failing is None:
                log.error("database writes failing: the disk is full")
                self.writes_failing = DISK_FULL
            raise
        if self.writes_failing is not None:
            log.warning("database writes work again")
            self.writes_failing = None

    @contextmanager
    def _transaction(self, readonly: bool) -> Iterator[Transaction]:
        with (
            contextlib.nullcontext() if readonly else self._writing(),
            unavailable_as_503(),
            self.engine.connect() as conn,
        ):
            if readonly:
                conn = conn.execution_options(readonly=True)
            with conn.begin():
                tx = Transaction(conn)
                yield tx
                tx.writes.flush()

    @contextmanager
    def snapshot(self) -> Iterator[Transaction]:
        """A read-only transaction whose statements all see the same commit: on PostgreSQL
        REPEATABLE READ (READ COMMITTED would let each statement see a later one); on SQLite
        any transaction reads one WAL snapshot from its first read to its end."""
        with unavailable_as_503(), self.engine.connect() as conn:
            if self._writer is None:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            else:  # a plain BEGIN: a reader never queues for the writer's lock
                conn = conn.execution_options(readonly=True)
            with conn.begin():
                yield Transaction(conn)

    @contextmanager
    def reading(self) -> Iterator[Transaction]:
        """A connection for reads outside a transaction: each statement sees the latest commit,
        with no BEGIN and COMMIT around them. For single reads that need no snapshot."""
        with unavailable_as_503(), self.engine.connect() as conn:
            yield Transaction(conn)

    def close(self) -> None:
        """Give back the connection kept for group commits (the engine's pool stays)."""
        conn, self._group_conn = self._group_conn, None
        if conn is not None:
            conn.close()

    def ping(self) -> bool:
        """True when the database answers, and takes writes again if they had been failing
        (a small write, undone in the same transaction, tells)."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            if self.writes_failing is not None:
                with self.transaction() as tx:
                    tx.sql.execute(_PROBE_INSERT, ("", "tfs-ready-probe", "2000-01-01 00:00:00"))
                    tx.sql.execute("DELETE FROM nonces WHERE consumer_key = ''")
        except (DBAPIError, PoolTimeout, ServiceUnavailable):
            return False
        return True


DISK_FULL = "The database's disk is full: nothing of this request was kept; retry later."
# A write the probe of a full disk makes and deletes in one transaction (a nonce of no key).
_PROBE_INSERT = "INSERT INTO nonces (consumer_key, nonce, expires_at) VALUES (?, ?, ?)"


@contextmanager
def unavailable_as_503() -> Iterator[None]:
    """A database that cannot be reached becomes ServiceUnavailable (503, Recoverable) here,
    where the driver's errors enter the code."""
    try:
        yield
    except PoolTimeout as exc:  # every pooled connection busy for TFS_DB_TIMEOUT_S
        raise ServiceUnavailable() from exc
    except (OperationalError, InterfaceError) as exc:
        text = str(exc.orig).lower()
        if "disk is full" in text or "disk i/o error" in text:
            raise ServiceUnavailable(DISK_FULL) from exc
        if exc.connection_invalidated or _is_unavailable(exc):
            raise ServiceUnavailable() from exc
        raise


def _is_unavailable(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(
        s in text
        for s in (
            "could not connect",
            "connection refused",
            "server closed",
            "consuming input failed",
            "connection is lost",
            "the connection is closed",
            "connection timeout expired",
            "timeout expired",
            "database is locked",
            "terminating connection",
            "connection failed",
            "unable to open database",
        )
    )
