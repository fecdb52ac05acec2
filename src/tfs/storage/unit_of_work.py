"""The unit of work: one transaction per use case, committed in one place, else rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from tfs.errors import ServiceUnavailable
from tfs.storage.events import Events
from tfs.storage.repositories import Credentials, IdempotencyKeys, Nonces, Orders, Vendors


class UnitOfWork:
    """Repositories bound to one connection inside one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.vendors = Vendors(conn)
        self.credentials = Credentials(conn)
        self.nonces = Nonces(conn)
        self.orders = Orders(conn)
        self.idempotency = IdempotencyKeys(conn)
        self.events = Events(conn)


class Store:
    """Owns the engine; hands out units of work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[UnitOfWork]:
        """Commits when the block ends normally; rolls back when it raises.

        A database that cannot be reached becomes ServiceUnavailable (503, Recoverable) here,
        where the driver's errors enter the code.
        """
        try:
            with self.engine.connect() as conn:
                if readonly:
                    conn = conn.execution_options(readonly=True)
                with conn.begin():
                    yield UnitOfWork(conn)
        except OperationalError as exc:
            if exc.connection_invalidated or _is_unavailable(exc):
                raise ServiceUnavailable() from exc
            raise

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except DBAPIError:
            return False
        return True


def _is_unavailable(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return any(
        s in text
        for s in (
            "could not connect",
            "connection refused",
            "server closed",
            "database is locked",
            "terminating connection",
            "connection failed",
            "unable to open database",
        )
    )
