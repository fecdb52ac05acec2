"""Named positions of the relay in the event sequence ("fanout", "nats"), and the SQL helpers
the relay's repositories share. Nothing here commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Insert, Select, Table, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tfs.db.tables import events, relay_cursors

FANOUT, NATS = "fanout", "nats"


def insert_ignoring_duplicates(conn: Connection, table: Table) -> Insert:
    """INSERT that skips rows whose unique key is already there (both dialects say it so)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def last_sequence() -> Select[int]:
    return select(func.coalesce(func.max(events.c.sequence), 0))


class Cursors:
    """Named positions in the event sequence, optionally leased to one relay at a time."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _ensure(self, name: str) -> None:
        self.conn.execute(
            insert_ignoring_duplicates(self.conn, relay_cursors).values(name=name, position=0)
        )

    def lock(self, name: str) -> int:
        """The position, with the row locked until commit (PostgreSQL; SQLite has one writer)."""
        self._ensure(name)
        c = relay_cursors.c
        query = select(c.position).where(c.name == name).with_for_update()
        return int(self.conn.execute(query).scalar_one())

    def end(self) -> int:
        """The last stamped sequence (0 before the first event)."""
        return int(self.conn.execute(last_sequence()).scalar_one())

    def position(self, name: str) -> int:
        c = relay_cursors.c
        value = self.conn.execute(select(c.position).where(c.name == name)).scalar()
        return int(value or 0)

    def move(self, name: str, position: int) -> None:
        c = relay_cursors.c
        self.conn.execute(update(relay_cursors).where(c.name == name).values(position=position))

    def lease(self, name: str, owner: str, now: datetime, until: datetime) -> int | None:
        """The position if `owner` holds (or now takes) the lease; None if another relay does."""
        self._ensure(name)
        c = relay_cursors.c
        result = self.conn.execute(
            update(relay_cursors)
            .where(
                c.name == name,
                or_(c.leased_by.is_(None), c.leased_by == owner, c.lease_until < now),
            )
            .values(leased_by=owner, lease_until=until)
            .returning(c.position)
        )
        value = result.scalar()
        return None if value is None else int(value)

    def release(self, name: str, owner: str) -> None:
        c = relay_cursors.c
        self.conn.execute(
            update(relay_cursors)
            .where(c.name == name, c.leased_by == owner)
            .values(leased_by=None, lease_until=None)
        )

    def advance(self, name: str, owner: str, position: int) -> bool:
        """Move forward, only while `owner` still holds the lease."""
        c = relay_cursors.c
        result = self.conn.execute(
            update(relay_cursors)
            .where(c.name == name, c.leased_by == owner, c.position < position)
            .values(position=position)
        )
        return result.rowcount > 0
