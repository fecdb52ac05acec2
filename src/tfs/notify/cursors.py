"""Named positions of the relay in the event sequence ("fanout", "nats"), and the statement the
relay's repositories share for the last one stamped. Nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tfs.db.driver import Driver
from tfs.db.transaction import Transaction

FANOUT, NATS = "fanout", "nats"

LAST_SEQUENCE = "SELECT coalesce(max(sequence), 0) FROM events"
_ENSURE = "INSERT INTO relay_cursors (name, position) VALUES (?, 0) ON CONFLICT DO NOTHING"
# FOR UPDATE: the row stays locked until commit (PostgreSQL; SQLite has one writer).
_LOCK = "SELECT position FROM relay_cursors WHERE name = ? FOR UPDATE"
_POSITION = "SELECT position FROM relay_cursors WHERE name = ?"
_MOVE = "UPDATE relay_cursors SET position = ? WHERE name = ?"
_LEASE = (
    "UPDATE relay_cursors SET leased_by = ?, lease_until = ? WHERE name = ?"
    " AND (leased_by IS NULL OR leased_by = ? OR lease_until < ?) RETURNING position"
)
_RELEASE = (
    "UPDATE relay_cursors SET leased_by = NULL, lease_until = NULL WHERE name = ? AND leased_by = ?"
)
_ADVANCE = "UPDATE relay_cursors SET position = ? WHERE name = ? AND leased_by = ? AND position < ?"
_ALL = "SELECT name, position FROM relay_cursors"
# What a cursor at ? has not passed: the events stamped after it (sequences have no gaps), those
# not stamped yet, and when the oldest of each happened (? is the position + 1). Index look-ups
# on the sequence's unique index, and a count of only the unstamped ones.
_BEHIND = (
    "SELECT (SELECT coalesce(max(sequence), 0) FROM events),"
    " (SELECT count(*) FROM events WHERE sequence IS NULL),"
    " (SELECT occurred_at FROM events WHERE sequence = ?),"
    " (SELECT min(occurred_at) FROM events WHERE sequence IS NULL)"
)


class Cursors:
    """Named positions in the event sequence, optionally leased to one relay at a time."""

    def __init__(self, tx: Transaction) -> None:
        self.sql = tx.sql

    def _ensure(self, name: str) -> None:
        self.sql.execute(_ENSURE, (name,))

    def lock(self, name: str) -> int:
        """The position, with the row locked until commit (PostgreSQL; SQLite has one writer)."""
        self._ensure(name)
        return int(self.sql.rows(_LOCK if self.sql.postgres else _POSITION, (name,))[0][0])

    def end(self) -> int:
        """The last stamped sequence (0 before the first event)."""
        return int(self.sql.rows(LAST_SEQUENCE)[0][0])

    def positions(self, names: Sequence[str]) -> dict[str, int]:
        """The position of each of these cursors (0 for one never moved)."""
        stored = {str(r[0]): int(r[1] or 0) for r in self.sql.rows(_ALL)}
        return {name: stored.get(name, 0) for name in names}

    def behind(self, position: int) -> tuple[int, datetime | None]:
        """How many events a cursor at `position` has not passed yet, and when the oldest of
        them happened (None when there is none)."""
        last, unstamped, next_at, unstamped_at = self.sql.rows(_BEHIND, (position + 1,))[0]
        times = [Driver.read_time(t) for t in (next_at, unstamped_at) if t is not None]
        return max(0, int(last) - position) + int(unstamped), min(times, default=None)

    def position(self, name: str) -> int:
        rows = self.sql.rows(_POSITION, (name,))
        return int(rows[0][0] or 0) if rows else 0

    def move(self, name: str, position: int) -> None:
        self.sql.execute(_MOVE, (position, name))

    def lease(self, name: str, owner: str, now: datetime, until: datetime) -> int | None:
        """The position if `owner` holds (or now takes) the lease; None if another relay does."""
        self._ensure(name)
        sql = self.sql
        rows = sql.rows(_LEASE, (owner, sql.time(until), name, owner, sql.time(now)))
        return int(rows[0][0]) if rows else None

    def release(self, name: str, owner: str) -> None:
        self.sql.execute(_RELEASE, (name, owner))

    def advance(self, name: str, owner: str, position: int) -> bool:
        """Move forward, only while `owner` still holds the lease."""
        return self.sql.execute(_ADVANCE, (position, name, owner, position)) > 0
