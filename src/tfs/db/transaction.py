"""A transaction as repositories see it: its connection, its driver, the rows it holds."""

from __future__ import annotations

from sqlalchemy import Connection

from tfs.db.driver import Driver, PendingWrites


class Transaction:
    """One transaction on one connection, what repositories are built on: `sql` runs statement
    texts on the connection's driver; `writes` holds rows to insert and update until the
    transaction ends (on SQLite, until its group is written)."""

    __slots__ = ("conn", "sql", "writes")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sql = Driver(conn)
        self.writes = PendingWrites(self.sql)
