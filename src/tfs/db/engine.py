"""The database engine: SQLite durability settings, write transactions, and migrations."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from tfs.db import deadline

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("tfs.db")

# With a background checkpointer (WalCheckpointer), a writer checkpoints only when the WAL has
# grown this large anyway (pages of 4 KiB: 64 MiB), say if the checkpointer fell behind.
BACKSTOP_AUTOCHECKPOINT_PAGES = 16384


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def _configure_sqlite(engine: Engine, background_checkpoint: bool) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so that "begin" below decides how.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL + synchronous=FULL: an acknowledged commit survives kill -9 and power loss.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # Statement journals (and sorts) in memory: a statement that writes many rows (every
        # insert of the group commit is one) keeps the pages it changes in a statement journal,
        # which past 64 KiB spilled to a temporary file: write calls of the kernel for every
        # group. 40 history rows in one insert cost 1.45 ms of CPU so, 0.98 ms in memory
        # (docs/performance.md, "Sixth round").
        cursor.execute("PRAGMA temp_store=MEMORY")
        if background_checkpoint:
            cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that later upgrades can
        # fail with SQLITE_BUSY without waiting, which busy_timeout does not cover.
        if conn.get_execution_options().get("readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


DEFAULT_TIMEOUT_S = 5.0


def make_engine(
    url: str,
    *,
    pool_size: int = 8,
    background_checkpoint: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Engine:
    """`background_checkpoint` (SQLite): a WalCheckpointer will run beside this engine, so its
    writers need not checkpoint in their commits. `timeout_s` bounds every wait on the
    database: a connection from the pool, a new connection, and (PostgreSQL) how long a
    connection may be held (tfs/db/deadline.py)."""
    if is_sqlite(url):
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, pool_size=pool_size, max_overflow=8, pool_pre_ping=False, pool_timeout=timeout_s
        )
        _configure_sqlite(engine, background_checkpoint and path is not None)
        return engine
    # No pre-ping: it would run before a deadline is set, and wait for ever on a stalled
    # network. A connection found dead when used is invalidated with the rest of the pool
    # (SQLAlchemy does that on a disconnect), and that request answers 503.
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=8,
        pool_pre_ping=False,
        pool_recycle=1800,
        pool_timeout=timeout_s,
        connect_args={"connect_timeout": max(1, round(timeout_s))},
    )
    deadline.install(engine, timeout_s)
    return engine


class WalCheckpointer:
    """Copies SQLite's write-ahead log back into the database in a thread of its own.

    By default the writer whose commit makes the WAL pass 1,000 pages checkpoints it, inside
    that commit: about 6 ms of every group commit under load (docs/performance.md). Here a
    PASSIVE checkpoint runs every `interval_s` on its own connection instead; it never blocks
    writers or readers, and SQLite releases the GIL while it works. Durability is unchanged:
    a commit is durable once its WAL frames are synced, checkpointed or not.

    Every quarter of a second: a page that several commits changed in that time is copied
    once, and each checkpoint's two fsyncs are paid a fifth as often as at 0.05 s (in process,
    status updates at about 350 a second: 510 -> 370 us of system CPU per request). The WAL
    then holds up to about 10 MB at the highest rates measured here (25 frames of 4 KiB a
    request), against 2 MB.
    """

    def __init__(self, url: str, interval_s: float = 0.25) -> None:
        path = sqlite_file(url)
        assert path is not None, "an in-memory database has no WAL"
        self._path = path
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            failing: str | None = None  # logged when it starts and when it ends, not each time
            while not self._stop.wait(self._interval_s):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # a full disk, the file gone; writers backstop
                    if failing != str(exc):
                        log.warning("WAL checkpoints failing: %s", exc)
                    failing = str(exc)
                else:
                    if failing is not None:
                        log.warning("WAL checkpoints work again")
                    failing = None
        finally:
            conn.close()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the database to the latest migration (idempotent)."""
    if is_sqlite(url):
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
