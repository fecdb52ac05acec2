"""SQLite's one writer: the writer lock across threads and processes, and the group commit."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine

from tfs.db.driver import PendingWrites
from tfs.db.transaction import Transaction

T = TypeVar("T")
# The committer thread ends after this long with nothing to commit.
COMMITTER_IDLE_S = 1.0


class SqliteWriterLock:
    """One writer at a time, across the threads of this process (a lock) and across processes
    (`flock` on a file beside the database): both wake a waiter as soon as the writer is done.

    Across processes, a turnstile (a second `flock`) makes turns fair: a process that wants the
    lock again right after releasing it must first pass the turnstile, which the process
    waiting for the lock holds. Without it, a process with a steady stream of groups took the
    lock back before the kernel had run the waiter, and the other waited seconds.
    """

    def __init__(self, engine: Engine) -> None:
        self._threads = threading.Lock()
        database = engine.url.database
        self._fd: int | None = None
        self._turnstile: int | None = None
        if database and database != ":memory:":
            self._fd = os.open(f"{database}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
            self._turnstile = os.open(f"{database}.writer-turn", os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        self._threads.acquire()
        if self._fd is not None and self._turnstile is not None:
            try:
                fcntl.flock(self._turnstile, fcntl.LOCK_EX)
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX)
                finally:
                    fcntl.flock(self._turnstile, fcntl.LOCK_UN)
            except BaseException:
                self._threads.release()
                raise

    def __exit__(self, *_: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


class _Job(Generic[T]):
    """One work in a group commit, and how it ended."""

    def __init__(
        self, work: Callable[[Transaction], T], keys: frozenset[str] | None, savepoint: bool
    ) -> None:
        self.work = work
        self.keys = keys
        self.savepoint = savepoint
        self.value: T | None = None
        self.error: BaseException | None = None
        self.ran = False
        # Settled once committed, or failed: only then may its caller answer (never between the
        # work and the commit).
        self.future: Future[T] = Future()

    def run(self, tx: Transaction) -> None:
        try:
            if self.savepoint:
                with tx.conn.begin_nested():
                    self.value = self.work(tx)
            else:
                self.value = self.work(tx)
        except Exception as exc:
            self.error = exc
        self.ran = True

    def fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc

    def settle(self) -> None:
        if self.error is not None:
            self.future.set_exception(self.error)
        else:
            self.future.set_result(self.value)  # type: ignore[arg-type]


class GroupCommitter:
    """Commits the works queued at the same moment as one transaction: one fsync for all.

    One committer thread takes everything queued, runs each work in turn (in its own savepoint
    unless told otherwise), commits, settles each work's future, and again; it ends after a
    moment with nothing to do, and the next work starts it anew. A work that raises is rolled
    back alone; if the commit fails, every work of the group fails. The works run in this
    thread, so context variables of their callers are not set there.

    The rows a work adds to `tx.writes` are held back and written with those of the works
    after it, one executemany per table (each row of a table goes through the same prepared
    statement, the B-tree pages the group shares are touched while they are at hand). `keys` names
    what a work reads (order ids): a work whose keys meet those of rows held back, or that names
    none, has them written first, so that it reads what it must. Without a savepoint, a work
    that raises must have written nothing but held rows (these are dropped).
    """

    def __init__(
        self,
        lock: SqliteWriterLock,
        begin: Callable[[], AbstractContextManager[Transaction]],
    ) -> None:
        self._lock = lock
        self._begin = begin
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._queue: list[_Job[Any]] = []

    def submit(
        self, work: Callable[[Transaction], T], keys: frozenset[str] | None, savepoint: bool
    ) -> Future[T]:
        job: _Job[T] = _Job(work, keys, savepoint)
        with self._wake:
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._commit_groups, name="group-commit", daemon=True
                )
                self._thread.start()
            else:
                self._wake.notify()
        return job.future

    def _commit_groups(self) -> None:
        while True:
            with self._wake:
                if not self._queue:
                    self._wake.wait(timeout=COMMITTER_IDLE_S)
                if not self._queue:
                    self._thread = None
                    return
                queued, self._queue = self._queue, []
            # A caller that gave up (its future cancelled, e.g. a request whose task was
            # cancelled) is dropped before its work runs; the others cannot be cancelled now.
            group = [job for job in queued if job.future.set_running_or_notify_cancel()]
            try:
                with self._lock:
                    self._commit(group)
            except BaseException as exc:  # the lock itself failed: these works did not run
                for job in group:
                    job.fail(exc)
            finally:
                for job in group:
                    if not job.ran:
                        job.fail(RuntimeError("the group commit stopped before this work"))
                    job.settle()

    def _commit(self, group: list[_Job[Any]]) -> None:
        try:
            with self._begin() as tx:
                held = tx.writes
                held_keys: set[str] = set()
                for job in group:
                    if job.keys is None or not held_keys.isdisjoint(job.keys):
                        held.flush()
                        held_keys.clear()
                    tx.writes = PendingWrites(held.driver)
                    job.run(tx)
                    if job.error is None:
                        held.take(tx.writes)
                        held_keys.update(job.keys or ())
                tx.writes = held
                held.flush()
        except Exception as exc:
            for job in group:
                job.fail(exc)
