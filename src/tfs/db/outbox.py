"""The outbox of order events: written with each change, numbered with a global sequence (on
SQLite as written, on PostgreSQL stamped by the relay), read as a feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

import msgspec
import uuid_utils

from tfs.clock import iso
from tfs.db.driver import Driver
from tfs.db.transaction import Transaction

ORDER_PLACED = "order.placed"
ORDER_STATUS_CHANGED = "order.status_changed"
# Any constant: the advisory lock that serialises stamping across processes on PostgreSQL.
STAMP_LOCK = 0x7F5_0001
STAMP_BATCH = 1000
_encode = msgspec.json.Encoder().encode

_ANY_UNSTAMPED = "SELECT 1 FROM events WHERE sequence IS NULL LIMIT 1"
# The next numbers after the highest given, in event_pk order, by the partial index of the
# unstamped events and the unique index of the sequence.
_STAMP = (
    "UPDATE events SET sequence = t.seq FROM (SELECT event_pk, row_number() OVER"
    " (ORDER BY event_pk) + (SELECT coalesce(max(sequence), 0) FROM events) AS seq FROM"
    " (SELECT event_pk FROM events WHERE sequence IS NULL ORDER BY event_pk LIMIT ?) AS u) AS t"
    " WHERE events.event_pk = t.event_pk"
)  # an UPDATE first (no WITH): Python's sqlite3 gives a rowcount only for what starts as DML


# The columns of an Event, in the order `event_from_row` reads them.
EVENT_COLUMNS = (
    "event_id, type, vendor_id, mc_order_id, order_id, revision, occurred_at, sequence, data"
)
_AFTER = f"SELECT {EVENT_COLUMNS} FROM events WHERE sequence > ?"  # noqa: S608
_BY_VENDOR = " AND vendor_id = ?"
_BY_ORDER = " AND mc_order_id = ?"
_PAGE = " ORDER BY sequence LIMIT ?"
# One order's events by the unique index of (mc_order_id, revision).
_OF_ORDER = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE mc_order_id = ?"  # noqa: S608
    " AND sequence IS NOT NULL ORDER BY revision LIMIT ?"
)
_SEQUENCE_RANGE = "SELECT min(sequence), max(sequence) FROM events"
_FIRST_FROM = "SELECT occurred_at FROM events WHERE sequence >= ? ORDER BY sequence LIMIT 1"
_COUNT_BETWEEN = "SELECT count(*) FROM events WHERE sequence >= ? AND sequence < ? AND type = ?"


@dataclass(frozen=True)
class NewEvent:
    type: str
    vendor_id: str
    mc_order_id: str
    order_id: str | None
    revision: int
    occurred_at: datetime
    data: Any  # encoded as JSON with msgspec: a dict or a Struct of the feature's views


@dataclass(frozen=True)
class Event:
    event_id: str
    type: str
    vendor_id: str
    mc_order_id: str
    order_id: str | None
    revision: int
    occurred_at: datetime
    sequence: int
    data: bytes

    def to_json(self) -> bytes:
        """The event as the platform receives it (feed, webhooks and NATS alike)."""
        return msgspec.json.encode(
            {
                "id": self.event_id,
                "type": self.type,
                "occurredAt": iso(self.occurred_at),
                "vendorId": self.vendor_id,
                "mcOrderId": self.mc_order_id,
                "orderId": self.order_id,
                "revision": self.revision,
                "sequence": self.sequence,
                "data": msgspec.Raw(self.data),
            }
        )


class Events:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.conn = tx.conn

    def add(self, new: Sequence[NewEvent]) -> None:
        """Held in the transaction's writes with the changes they announce."""
        if not new:
            return
        driver = self.tx.sql
        self.tx.writes.insert(
            "events",
            (
                "event_id",
                "type",
                "vendor_id",
                "mc_order_id",
                "order_id",
                "revision",
                "occurred_at",
                "data",
            ),
            [
                (
                    # UUIDv7, increasing within the process: each new id lands at the right
                    # edge of the event_id index instead of dirtying a random page of it.
                    str(uuid_utils.uuid7()),
                    e.type,
                    e.vendor_id,
                    e.mc_order_id,
                    e.order_id,
                    e.revision,
                    driver.time(e.occurred_at),
                    _encode(e.data),
                )
                for e in new
            ],
            # SQLite: numbered as they are written, in the one writer's transaction (no
            # stamping UPDATE, and each index entry goes in at its place at once).
            numbered="sequence",
        )

    def has_unstamped(self) -> bool:
        return bool(self.tx.sql.rows(_ANY_UNSTAMPED))

    def stamp(self) -> int:
        """Give visible, unstamped events the next sequence numbers, in insertion order (at
        most STAMP_BATCH at a time, in one statement); how many were stamped. On SQLite, only
        events written before they were numbered as written (an older version's) are left.

        A transaction still open cannot be seen here; its events get later numbers when it
        commits, so a reader that saved its cursor never misses one. Per order, the row lock
        taken by every change makes insertion order the commit order.
        """
        sql = self.tx.sql
        if sql.postgres:
            sql.rows("SELECT pg_advisory_xact_lock(?)", (STAMP_LOCK,))
        return sql.execute(_STAMP, (STAMP_BATCH,))

    def after(
        self,
        sequence: int,
        limit: int,
        *,
        vendor_id: str | None = None,
        mc_order_id: str | None = None,
    ) -> list[Event]:
        """Stamped events after `sequence`, in order; each filter adds a fixed condition."""
        text, params = _AFTER, list[Any]([sequence])
        if vendor_id is not None:
            text += _BY_VENDOR
            params.append(vendor_id)
        if mc_order_id is not None:
            text += _BY_ORDER
            params.append(mc_order_id)
        params.append(limit)
        return [event_from_row(r) for r in self.tx.sql.rows(text + _PAGE, params)]

    def of_order(self, mc_order_id: str, limit: int) -> list[Event]:
        """The order's stamped events, by revision."""
        return [event_from_row(r) for r in self.tx.sql.rows(_OF_ORDER, (mc_order_id, limit))]

    def counts_per_period(self, type_: str, starts: Sequence[datetime]) -> list[int]:
        """How many events of this type occurred from each of `starts` (ascending) to the
        next (the last: to now).

        There is no index on the time of an event (it would cost every write), so each
        boundary is found by a binary search on the sequence's unique index, about 25 probes
        for a billion events; times follow the sequence within a commit's width, which is as
        near as a chart needs. Then one count per period, over its range of the index.
        """
        sql = self.tx.sql
        low, high = sql.rows(_SEQUENCE_RANGE)[0]
        if low is None:
            return [0] * len(starts)
        bounds, floor = [], int(low)
        for start in starts:
            floor = self._first_at(start, floor, int(high) + 1)
            bounds.append(floor)
        bounds.append(int(high) + 1)
        return [int(sql.rows(_COUNT_BETWEEN, (a, b, type_))[0][0]) for a, b in pairwise(bounds)]

    def _first_at(self, when: datetime, low: int, high: int) -> int:
        """The lowest sequence in [low, high] from which events occurred at `when` or later
        (`high`: none did)."""
        sql = self.tx.sql
        while low < high:
            middle = (low + high) // 2
            rows = sql.rows(_FIRST_FROM, (middle,))
            if not rows or Driver.read_time(rows[0][0]) >= when:
                high = middle
            else:
                low = middle + 1
        return low


def event_from_row(r: Sequence[Any]) -> Event:
    """An Event from the EVENT_COLUMNS of a row, by position."""
    return Event(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        Driver.read_time(r[6]),
        r[7],
        bytes(r[8]),
    )
