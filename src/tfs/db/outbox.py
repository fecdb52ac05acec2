"""The outbox of order events: written with each change, stamped with a global sequence, read as
a feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
import uuid_utils
from sqlalchemy import bindparam, func, select, text, update

from tfs.clock import iso
from tfs.db.driver import as_utc
from tfs.db.tables import events

if TYPE_CHECKING:
    from tfs.db.store import Transaction

ORDER_PLACED = "order.placed"
ORDER_STATUS_CHANGED = "order.status_changed"
# Any constant: the advisory lock that serialises stamping across processes on PostgreSQL.
STAMP_LOCK = 0x7F5_0001
STAMP_BATCH = 1000
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class NewEvent:
    type: str
    vendor_id: str
    mc_order_id: str
    order_id: str | None
    revision: int
    occurred_at: datetime
    data: dict[str, Any]


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
        )

    def has_unstamped(self) -> bool:
        query = select(events.c.event_pk).where(events.c.sequence.is_(None)).limit(1)
        return self.conn.execute(query).first() is not None

    def stamp(self) -> int:
        """Give visible, unstamped events the next sequence numbers, in insertion order.

        A transaction still open cannot be seen here; its events get later numbers when it
        commits, so a reader that saved its cursor never misses one. Per order, the row lock
        taken by every change makes insertion order the commit order.
        """
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": STAMP_LOCK})
        pending = (
            self.conn.execute(
                select(events.c.event_pk)
                .where(events.c.sequence.is_(None))
                .order_by(events.c.event_pk)
                .limit(STAMP_BATCH)
            )
            .scalars()
            .all()
        )
        if not pending:
            return 0
        last = self.conn.execute(select(func.coalesce(func.max(events.c.sequence), 0))).scalar_one()
        self.conn.execute(
            update(events)
            .where(events.c.event_pk == bindparam("b_pk"))
            .values(sequence=bindparam("b_seq")),
            [{"b_pk": pk, "b_seq": last + n} for n, pk in enumerate(pending, start=1)],
        )
        return len(pending)

    def after(
        self,
        sequence: int,
        limit: int,
        *,
        vendor_id: str | None = None,
        mc_order_id: str | None = None,
    ) -> list[Event]:
        e = events.c
        query = select(events).where(e.sequence > sequence).order_by(e.sequence).limit(limit)
        if vendor_id is not None:
            query = query.where(e.vendor_id == vendor_id)
        if mc_order_id is not None:
            query = query.where(e.mc_order_id == mc_order_id)
        return [event_from_row(r) for r in self.conn.execute(query)]


def event_from_row(r: Any) -> Event:
    return Event(
        r.event_id,
        r.type,
        r.vendor_id,
        r.mc_order_id,
        r.order_id,
        r.revision,
        as_utc(r.occurred_at),
        r.sequence,
        r.data,
    )
