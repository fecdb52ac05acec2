"""Webhook deliveries (one per subscription and event) and their attempts: all their SQL.

Nothing here commits; the use cases in `tfs.notify.usecases` own the transactions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from tfs.db.driver import as_utc
from tfs.db.outbox import Event, event_from_row
from tfs.db.tables import events, webhook_attempts, webhook_deliveries, webhook_subscriptions
from tfs.notify.cursors import insert_ignoring_duplicates
from tfs.notify.subscriptions import Subscription

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to one relay, with all it needs to be sent."""

    delivery_id: int
    subscription_id: int
    url: str
    secret: str
    lease_token: str
    attempts: int
    first_attempt_at: datetime | None
    event: Event


@dataclass(frozen=True)
class Attempt:
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class DeliveryView:
    delivery_id: int
    subscription_id: int
    event_id: str
    sequence: int
    mc_order_id: str
    revision: int
    state: str
    attempts: int
    next_attempt_at: datetime
    log: list[Attempt]


def _due(now: datetime) -> list[ColumnElement[bool]]:
    """Pending, its time come, not leased, and no earlier revision of the same order still
    pending for the same subscription: the last is what keeps each order in revision order."""
    d = webhook_deliveries.c
    earlier = webhook_deliveries.alias("earlier")
    blocked = exists().where(
        earlier.c.subscription_id == d.subscription_id,
        earlier.c.mc_order_id == d.mc_order_id,
        earlier.c.revision < d.revision,
        earlier.c.state == PENDING,
    )
    return [
        d.state == PENDING,
        d.next_attempt_at <= now,
        or_(d.lease_until.is_(None), d.lease_until < now),
        ~blocked,
    ]


class Deliveries:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def fan_out(
        self, subscriptions: Sequence[Subscription], after: int, limit: int, now: datetime
    ) -> int:
        """Deliveries for the stamped events after `after` (at most `limit` events); returns
        the last sequence looked at (`after` when there was none)."""
        e = events.c
        rows = self.conn.execute(
            select(e.event_pk, e.vendor_id, e.mc_order_id, e.revision, e.sequence)
            .where(e.sequence > after)
            .order_by(e.sequence)
            .limit(limit)
        ).all()
        new = [
            _pending(s.subscription_id, r, now)
            for r in rows
            for s in subscriptions
            if r.sequence > s.start_after and s.vendor_id in (None, r.vendor_id)
        ]
        if new:
            self.conn.execute(insert_ignoring_duplicates(self.conn, webhook_deliveries), new)
        return int(rows[-1].sequence) if rows else after

    def has_due(self, now: datetime) -> bool:
        """Whether any enabled subscription has a delivery to claim (a read: cheap to ask)."""
        d, s = webhook_deliveries.c, webhook_subscriptions.c
        enabled = select(s.subscription_id).where(s.enabled.is_(True))
        query = select(d.delivery_id).where(d.subscription_id.in_(enabled), *_due(now))
        return self.conn.execute(query.limit(1)).first() is not None

    def claim(
        self, capacity: Mapping[int, int], now: datetime, until: datetime, token: str
    ) -> list[Claimed]:
        """Lease due deliveries (see `_due`), at most `capacity[subscription]` each.

        On PostgreSQL, rows another relay is claiming right now are skipped, not waited for.
        """
        d = webhook_deliveries.c
        picked: list[int] = []
        for subscription_id, free in capacity.items():
            if free <= 0:
                continue
            query = (
                select(d.delivery_id)
                .where(d.subscription_id == subscription_id, *_due(now))
                .order_by(d.next_attempt_at, d.delivery_id)
                .limit(free)
                .with_for_update(skip_locked=True, of=webhook_deliveries)
            )
            picked += self.conn.execute(query).scalars().all()
        if not picked:
            return []
        self.conn.execute(
            update(webhook_deliveries)
            .where(d.delivery_id.in_(picked))
            .values(lease_until=until, lease_token=token)
        )
        return self._claimed(picked)

    def _claimed(self, delivery_ids: list[int]) -> list[Claimed]:
        d, s = webhook_deliveries.c, webhook_subscriptions.c
        query = (
            select(
                d.delivery_id,
                d.subscription_id,
                d.lease_token,
                d.attempts,
                d.first_attempt_at,
                s.url,
                s.secret,
                events,
            )
            .join(webhook_subscriptions, s.subscription_id == d.subscription_id)
            .join(events, events.c.event_pk == d.event_pk)
            .where(d.delivery_id.in_(delivery_ids))
            .order_by(events.c.sequence)
        )
        return [
            Claimed(
                r.delivery_id,
                r.subscription_id,
                r.url,
                r.secret,
                r.lease_token,
                r.attempts,
                None if r.first_attempt_at is None else as_utc(r.first_attempt_at),
                event_from_row(r),
            )
            for r in self.conn.execute(query)
        ]

    def record(
        self, claimed: Claimed, attempt: Attempt, state: str, next_attempt_at: datetime
    ) -> bool:
        """Log the attempt; settle the delivery if this relay still holds its lease."""
        d = webhook_deliveries.c
        result = self.conn.execute(
            update(webhook_deliveries)
            .where(d.delivery_id == claimed.delivery_id, d.lease_token == claimed.lease_token)
            .values(
                state=state,
                attempts=d.attempts + 1,
                next_attempt_at=next_attempt_at,
                first_attempt_at=func.coalesce(d.first_attempt_at, attempt.attempted_at),
                lease_until=None,
                lease_token=None,
                updated_at=attempt.attempted_at,
            )
        )
        still_there = self.conn.execute(
            select(d.delivery_id).where(d.delivery_id == claimed.delivery_id)
        ).first()
        if still_there is not None:
            self.conn.execute(
                insert(webhook_attempts).values(
                    delivery_id=claimed.delivery_id,
                    attempted_at=attempt.attempted_at,
                    status_code=attempt.status_code,
                    latency_ms=attempt.latency_ms,
                    error=attempt.error[:500] if attempt.error else None,
                )
            )
        return result.rowcount > 0

    def get_state(self, delivery_id: int) -> str | None:
        d = webhook_deliveries.c
        return self.conn.execute(select(d.state).where(d.delivery_id == delivery_id)).scalar()

    def resend_one(self, delivery_id: int, now: datetime) -> None:
        self._resend(now, webhook_deliveries.c.delivery_id == delivery_id)

    def _resend(self, now: datetime, *conditions: Any) -> int:
        """Send these deliveries (again) from now, with a fresh retry window.

        One in flight loses its lease: the attempt under way is still logged, but cannot
        settle the delivery, which goes out once more as asked.
        """
        result = self.conn.execute(
            update(webhook_deliveries)
            .where(*conditions)
            .values(
                state=PENDING,
                next_attempt_at=now,
                first_attempt_at=None,
                lease_until=None,
                lease_token=None,
                updated_at=now,
            )
        )
        return result.rowcount

    def replay_range(self, subscription: Subscription, first: int, last: int, now: datetime) -> int:
        """Deliver the events numbered first..last (those the subscription's filter lets
        through) to it again, or for the first time."""
        e, d = events.c, webhook_deliveries.c
        in_range = select(e.event_pk).where(e.sequence.between(first, last))
        if subscription.vendor_id is not None:
            in_range = in_range.where(e.vendor_id == subscription.vendor_id)
        rows = self.conn.execute(
            select(e.event_pk, e.mc_order_id, e.revision).where(e.event_pk.in_(in_range))
        ).all()
        if rows:
            self.conn.execute(
                insert_ignoring_duplicates(self.conn, webhook_deliveries),
                [_pending(subscription.subscription_id, r, now) for r in rows],
            )
        self._resend(
            now,
            d.subscription_id == subscription.subscription_id,
            d.event_pk.in_(in_range),
        )
        return len(rows)

    def recent(
        self, *, failed_only: bool, subscription_id: int | None, limit: int
    ) -> list[DeliveryView]:
        d, e = webhook_deliveries.c, events.c
        query = (
            select(webhook_deliveries, e.event_id, e.sequence)
            .join(events, e.event_pk == d.event_pk)
            .order_by(d.delivery_id.desc())
            .limit(limit)
        )
        if failed_only:
            query = query.where(or_(d.state == DEAD, and_(d.state == PENDING, d.attempts > 0)))
        if subscription_id is not None:
            query = query.where(d.subscription_id == subscription_id)
        rows = self.conn.execute(query).all()
        logs = self._attempts([r.delivery_id for r in rows])
        return [
            DeliveryView(
                r.delivery_id,
                r.subscription_id,
                r.event_id,
                r.sequence,
                r.mc_order_id,
                r.revision,
                r.state,
                r.attempts,
                as_utc(r.next_attempt_at),
                logs.get(r.delivery_id, []),
            )
            for r in rows
        ]

    def _attempts(self, delivery_ids: list[int]) -> dict[int, list[Attempt]]:
        a = webhook_attempts.c
        logs: dict[int, list[Attempt]] = {}
        if not delivery_ids:
            return logs
        query = (
            select(webhook_attempts).where(a.delivery_id.in_(delivery_ids)).order_by(a.attempt_id)
        )
        for r in self.conn.execute(query):
            logs.setdefault(r.delivery_id, []).append(
                Attempt(as_utc(r.attempted_at), r.status_code, r.latency_ms, r.error)
            )
        return logs


def _pending(subscription_id: int, event: Any, now: datetime) -> dict[str, Any]:
    """A new delivery row: one event to one subscription, due now."""
    return {
        "subscription_id": subscription_id,
        "event_pk": event.event_pk,
        "mc_order_id": event.mc_order_id,
        "revision": event.revision,
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "updated_at": now,
    }
