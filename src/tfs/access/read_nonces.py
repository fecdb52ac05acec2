"""The nonces of reads: spent before a read answers, on SQLite in a file of their own on the loop.

A read changes nothing but its nonce, yet spending it through the group committer (a trip to
its thread, a turn for the database's one writer, an fsync) cost a cached catalog read half
its CPU: 0.65 ms a request against 0.33 ms without it, 1,700 against 3,090 req/s
(docs/performance.md). So on SQLite the nonces of reads are kept in a database file of their
own beside the main one (`tfs.db.read-nonces`), written on the event loop with one autocommit
statement (about 30 µs): nobody else writes that file but other processes' loops and the
purge, each for microseconds, so a write there does not wait on the main database's writer.
The main database is attached to that connection, so the same statement checks that the
credential is not revoked (on every process, at once) and the read that follows (the
catalog's head) sees the latest commit.

Decisions (README, "Replay protection"):
- a read's nonce is refused when it was spent by a read before; a write's nonces stay in the
  main database, in the transaction of their work. A replayed read can only replay that read
  (the signature covers its method, URL and query), so the two sets need not be one.
- `synchronous=NORMAL` for this file: a spent nonce survives a crash of the process (kill -9)
  but not of the machine. A nonce lost that way lets a read be replayed until its timestamp is
  stale (TFS_TIMESTAMP_TOLERANCE_S); the read answers what it answered before.

The catalog's kept answers spend on the loop (`spend_then`); the other reads, too large for the
loop, spend from their worker thread (`spend`) and then read in a snapshot of their own: no
read takes the main database's write lock. On PostgreSQL, and SQLite in memory, the nonce is
spent in a write like any other (`spend_then`: and the read runs in that transaction).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError

from tfs.access.repository import READ_NONCES_SCHEMA, ReadNonceRows
from tfs.access.usecases import Nonce, refusal, spend_nonce
from tfs.db.engine import WalCheckpointer, sqlite_file
from tfs.db.store import Store, unavailable_as_503
from tfs.db.transaction import Transaction

T = TypeVar("T")

# The purge deletes in small steps, so that a loop's spend never waits long for it.
PURGE_STEP = 500
BUSY_TIMEOUT_MS = 1000


class ReadNonces:
    """Spends a read's nonce, then runs the read: see the module's docstring."""

    def __init__(self, store: Store, keep_s: int) -> None:
        """`keep_s`: how long after its timestamp a nonce is kept (its timestamp is stale by
        then: twice TFS_TIMESTAMP_TOLERANCE_S)."""
        self._store = store
        self._keep_s = keep_s
        self._engine: Engine | None = None
        self._checkpointer: WalCheckpointer | None = None
        self._local = threading.local()  # the connection kept by each event loop's thread
        main = sqlite_file(str(store.engine.url)) if store.engine.dialect.name == "sqlite" else None
        if main is not None:
            url = f"sqlite:///{main}.read-nonces"
            self._engine = _side_engine(url, main)
            self._checkpointer = WalCheckpointer(url)

    @property
    def on_the_loop(self) -> bool:
        """True when a read's nonce is spent on the event loop (SQLite's file)."""
        return self._engine is not None

    async def spend_then(self, nonce: Nonce | None, read: Callable[[Transaction], T]) -> T:
        """Spend the nonce (refused on a replay or a revoked key), then `read`; nothing is
        answered before the nonce is spent."""
        if self._engine is None:

            def work(tx: Transaction) -> T:
                spend_nonce(tx, nonce)
                return read(tx)

            return await self._store.write(work, savepoint=False)
        with self._transaction() as tx:
            if nonce is not None:
                self._spend(tx, nonce)
            return read(tx)

    def spend(self, nonce: Nonce | None) -> None:
        """Spend the nonce from a worker thread (a blocking call), before the read it signed
        runs: for reads too large for the event loop, which run in a snapshot of their own."""
        if nonce is None:
            return
        if self._engine is None:
            with self._store.transaction() as tx:
                spend_nonce(tx, nonce)
            return
        with unavailable_as_503(), self._engine.connect() as conn:  # not kept: any thread
            self._spend(Transaction(conn), nonce)

    def _spend(self, tx: Transaction, nonce: Nonce) -> None:
        if not ReadNonceRows(tx).record(nonce.consumer_key, nonce.value, nonce.signed_at):
            raise refusal(tx, nonce.consumer_key)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Transaction]:
        """This thread's connection, its statements each committed as they run (autocommit:
        the connection's driver has no transaction of its own open)."""
        assert self._engine is not None
        with unavailable_as_503():
            conn: Connection | None = getattr(self._local, "conn", None)
            if conn is None or conn.invalidated:
                conn = self._local.conn = self._engine.connect()
            try:
                yield Transaction(conn)
            except OperationalError:
                self._local.conn = None
                conn.close()
                raise

    def purge_expired(self, now: datetime) -> int:
        """Forget the reads' nonces that can no longer be replayed (a blocking call)."""
        if self._engine is None:
            return 0
        stale_before = int(now.timestamp()) - self._keep_s
        with unavailable_as_503(), self._engine.connect() as conn:  # not kept: any thread
            return ReadNonceRows(Transaction(conn)).purge_signed_before(stale_before, PURGE_STEP)

    def start(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.start()

    def stop(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()


def _side_engine(url: str, main: Path) -> Engine:
    engine = create_engine(url, pool_size=8, max_overflow=8)  # as the main engine's

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # autocommit: each statement its own commit
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # checkpointed in a thread of its own
        for statement in READ_NONCES_SCHEMA:
            cursor.execute(statement)
        cursor.execute("ATTACH DATABASE ? AS tfs", (str(main),))
        cursor.close()

    return engine
