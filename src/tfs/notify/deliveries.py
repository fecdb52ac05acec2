"""Webhook deliveries (one per subscription and event) and their attempts: all their SQL.

Nothing here commits; the use cases in `tfs.notify.usecases` own the transactions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tfs.db.driver import Driver
from tfs.db.outbox import EVENT_COLUMNS, Event, event_from_row
from tfs.db.transaction import Transaction
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


# Pending, its time come, not leased, and no earlier revision of the same order still pending
# for the same subscription: the last is what keeps each order in revision order. Binds: now,
# now.
_DUE = (
    " AND d.state = 'pending' AND d.next_attempt_at <= ?"
    " AND (d.lease_until IS NULL OR d.lease_until < ?)"
    " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS earlier"
    " WHERE earlier.subscription_id = d.subscription_id"
    " AND earlier.mc_order_id = d.mc_order_id AND earlier.revision < d.revision"
    " AND earlier.state = 'pending')"
)
_FAN_OUT_EVENTS = (
    "SELECT event_pk, vendor_id, mc_order_id, revision, sequence FROM events"
    " WHERE sequence > ? ORDER BY sequence LIMIT ?"
)
_DELIVERY_COLUMNS = (
    "subscription_id",
    "event_pk",
    "mc_order_id",
    "revision",
    "state",
    "attempts",
    "next_attempt_at",
    "updated_at",
)
_HAS_DUE = (
    "SELECT d.delivery_id FROM webhook_deliveries AS d WHERE d.subscription_id IN"  # noqa: S608
    " (SELECT subscription_id FROM webhook_subscriptions WHERE enabled = ?)" + _DUE + " LIMIT 1"
)
_DUE_OF = (
    "SELECT d.delivery_id FROM webhook_deliveries AS d WHERE d.subscription_id = ?"  # noqa: S608
    + _DUE
    + " ORDER BY d.next_attempt_at, d.delivery_id LIMIT ?"
)
# Rows another relay is claiming right now are skipped, not waited for (PostgreSQL; SQLite has
# one writer and no row locks).
_CLAIM = _DUE_OF + " FOR UPDATE OF d SKIP LOCKED"
_EVENT_OF_DELIVERY = ", ".join(f"e.{c.strip()}" for c in EVENT_COLUMNS.split(","))
_CLAIMED = (
    "SELECT d.delivery_id, d.subscription_id, d.lease_token, d.attempts,"  # noqa: S608
    f" d.first_attempt_at, s.url, s.secret, {_EVENT_OF_DELIVERY} FROM webhook_deliveries AS d"
    " JOIN webhook_subscriptions AS s ON s.subscription_id = d.subscription_id"
    " JOIN events AS e ON e.event_pk = d.event_pk"
    " WHERE d.delivery_id IN (?) ORDER BY e.sequence"
)
_SETTLE = (
    "UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?,"
    " first_attempt_at = coalesce(first_attempt_at, ?), lease_until = NULL,"
    " lease_token = NULL, updated_at = ? WHERE delivery_id = ? AND lease_token = ?"
)
_EXISTS = "SELECT 1 FROM webhook_deliveries WHERE delivery_id = ?"
_LOG = (
    "INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_ms, error)"
    " VALUES (?, ?, ?, ?, ?)"
)
_STATE = "SELECT state FROM webhook_deliveries WHERE delivery_id = ?"
_RESEND = (
    "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?,"
    " first_attempt_at = NULL, lease_until = NULL, lease_token = NULL, updated_at = ? WHERE "
)
_RESEND_ONE = _RESEND + "delivery_id = ?"
_IN_RANGE = "SELECT event_pk FROM events WHERE sequence BETWEEN ? AND ?"
_OF_VENDOR = " AND vendor_id = ?"
_REPLAYED = "SELECT event_pk, mc_order_id, revision FROM events WHERE sequence BETWEEN ? AND ?"
_RESEND_RANGE = _RESEND + "subscription_id = ? AND event_pk IN (" + _IN_RANGE
_RECENT = (
    "SELECT d.delivery_id, d.subscription_id, e.event_id, e.sequence, d.mc_order_id,"
    " d.revision, d.state, d.attempts, d.next_attempt_at FROM webhook_deliveries AS d"
    " JOIN events AS e ON e.event_pk = d.event_pk WHERE 1 = 1"
)
_FAILED = " AND (d.state = 'dead' OR (d.state = 'pending' AND d.attempts > 0))"
_DEAD = " AND d.state = 'dead'"
# One order's deliveries, by the index of (subscription_id, mc_order_id, revision).
_OF_ORDER = (
    " AND d.subscription_id IN (SELECT subscription_id FROM webhook_subscriptions)"
    " AND d.mc_order_id = ?"
)
_OF_SUBSCRIPTION = " AND d.subscription_id = ?"
_NEWEST = " ORDER BY d.delivery_id DESC LIMIT ?"
# Each subscription's deliveries waiting and dead-lettered: index ranges of
# (subscription_id, state, next_attempt_at), so the cost follows those counts, not the history.
_BY_SUBSCRIPTION = (
    "SELECT s.subscription_id,"
    " (SELECT count(*) FROM webhook_deliveries AS d"
    "  WHERE d.subscription_id = s.subscription_id AND d.state = 'pending'),"
    " (SELECT count(*) FROM webhook_deliveries AS d"
    "  WHERE d.subscription_id = s.subscription_id AND d.state = 'dead')"
    " FROM webhook_subscriptions AS s ORDER BY s.subscription_id"
)
_ATTEMPTS = (
    "SELECT delivery_id, attempted_at, status_code, latency_ms, error FROM webhook_attempts"
    " WHERE delivery_id IN (?) ORDER BY attempt_id"
)


def _claimed(r: Sequence[Any]) -> Claimed:
    return Claimed(
        r[0],
        r[1],
        r[5],
        r[6],
        r[2],
        r[3],
        None if r[4] is None else Driver.read_time(r[4]),
        event_from_row(r[7:]),
    )


def _view(r: Sequence[Any], log: list[Attempt]) -> DeliveryView:
    return DeliveryView(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], Driver.read_time(r[8]), log)


def _attempt(r: Sequence[Any]) -> Attempt:
    """An attempt from the columns after its delivery_id."""
    return Attempt(Driver.read_time(r[1]), r[2], r[3], r[4])


class Deliveries:
    def __init__(self, tx: Transaction) -> None:
        self.sql = tx.sql

    def fan_out(
        self, subscriptions: Sequence[Subscription], after: int, limit: int, now: datetime
    ) -> int:
        """Deliveries for the stamped events after `after` (at most `limit` events); returns
        the last sequence looked at (`after` when there was none)."""
        rows = self.sql.rows(_FAN_OUT_EVENTS, (after, limit))
        new = [
            self._pending(s.subscription_id, r[0], r[2], r[3], now)
            for r in rows
            for s in subscriptions
            if r[4] > s.start_after and s.vendor_id in (None, r[1])
        ]
        self.sql.insert_new("webhook_deliveries", _DELIVERY_COLUMNS, new)
        return int(rows[-1][4]) if rows else after

    def _pending(
        self, subscription_id: int, event_pk: int, mc_order_id: str, revision: int, now: datetime
    ) -> tuple[Any, ...]:
        """A new delivery row (_DELIVERY_COLUMNS): one event to one subscription, due now."""
        at = self.sql.time(now)
        return (subscription_id, event_pk, mc_order_id, revision, PENDING, 0, at, at)

    def waiting(self) -> list[tuple[int, int, int]]:
        """(subscription id, deliveries pending, deliveries dead) for every subscription."""
        return [(int(r[0]), int(r[1]), int(r[2])) for r in self.sql.rows(_BY_SUBSCRIPTION)]

    def has_due(self, now: datetime) -> bool:
        """Whether any enabled subscription has a delivery to claim (a read: cheap to ask)."""
        at = self.sql.time(now)
        return bool(self.sql.rows(_HAS_DUE, (True, at, at)))

    def claim(
        self, capacity: Mapping[int, int], now: datetime, until: datetime, token: str
    ) -> list[Claimed]:
        """Lease due deliveries (see `_DUE`), at most `capacity[subscription]` each.

        On PostgreSQL, rows another relay is claiming right now are skipped, not waited for.
        """
        sql = self.sql
        at = sql.time(now)
        text = _CLAIM if sql.postgres else _DUE_OF
        picked: list[int] = []
        for subscription_id, free in capacity.items():
            if free <= 0:
                continue
            picked += [r[0] for r in sql.rows(text, (subscription_id, at, at, free))]
        if not picked:
            return []
        lease = sql.time(until)
        sql.update(
            "webhook_deliveries",
            "delivery_id",
            ("lease_until", "lease_token"),
            [(lease, token, delivery_id) for delivery_id in picked],
        )
        return [_claimed(r) for r in sql.rows_in(_CLAIMED, picked)]

    def record(
        self, claimed: Claimed, attempt: Attempt, state: str, next_attempt_at: datetime
    ) -> bool:
        """Log the attempt; settle the delivery if this relay still holds its lease."""
        sql = self.sql
        at = sql.time(attempt.attempted_at)
        settled = sql.execute(
            _SETTLE,
            (
                state,
                sql.time(next_attempt_at),
                at,
                at,
                claimed.delivery_id,
                claimed.lease_token,
            ),
        )
        if sql.rows(_EXISTS, (claimed.delivery_id,)):
            sql.execute(
                _LOG,
                (
                    claimed.delivery_id,
                    at,
                    attempt.status_code,
                    attempt.latency_ms,
                    attempt.error[:500] if attempt.error else None,
                ),
            )
        return settled > 0

    def get_state(self, delivery_id: int) -> str | None:
        rows = self.sql.rows(_STATE, (delivery_id,))
        return rows[0][0] if rows else None

    def resend_one(self, delivery_id: int, now: datetime) -> None:
        """Send the delivery (again) from now, with a fresh retry window.

        One in flight loses its lease: the attempt under way is still logged, but cannot
        settle the delivery, which goes out once more as asked.
        """
        at = self.sql.time(now)
        self.sql.execute(_RESEND_ONE, (at, at, delivery_id))

    def replay_range(self, subscription: Subscription, first: int, last: int, now: datetime) -> int:
        """Deliver the events numbered first..last (those the subscription's filter lets
        through) to it again, or for the first time (see `resend_one`)."""
        sql = self.sql
        in_range: list[Any] = [first, last]
        vendor = ""
        if subscription.vendor_id is not None:
            vendor = _OF_VENDOR
            in_range.append(subscription.vendor_id)
        rows = sql.rows(_REPLAYED + vendor, in_range)
        sql.insert_new(
            "webhook_deliveries",
            _DELIVERY_COLUMNS,
            [self._pending(subscription.subscription_id, r[0], r[1], r[2], now) for r in rows],
        )
        at = sql.time(now)
        sql.execute(_RESEND_RANGE + vendor + ")", (at, at, subscription.subscription_id, *in_range))
        return len(rows)

    def recent(
        self,
        *,
        failed_only: bool,
        subscription_id: int | None,
        limit: int,
        dead_only: bool = False,
        mc_order_id: str | None = None,
    ) -> list[DeliveryView]:
        text, params = _RECENT, list[Any]()
        if dead_only:
            text += _DEAD
        elif failed_only:
            text += _FAILED
        if mc_order_id is not None:
            text += _OF_ORDER
            params.append(mc_order_id)
        if subscription_id is not None:
            text += _OF_SUBSCRIPTION
            params.append(subscription_id)
        params.append(limit)
        rows = self.sql.rows(text + _NEWEST, params)
        logs = self._attempts([r[0] for r in rows])
        return [_view(r, logs.get(r[0], [])) for r in rows]

    def _attempts(self, delivery_ids: list[int]) -> dict[int, list[Attempt]]:
        logs: dict[int, list[Attempt]] = {}
        if not delivery_ids:
            return logs
        for r in self.sql.rows_in(_ATTEMPTS, delivery_ids):
            logs.setdefault(r[0], []).append(_attempt(r))
        return logs
