"""Webhook subscriptions of the platform: their SQL. Nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tfs.db.driver import Driver
from tfs.db.transaction import Transaction
from tfs.notify.cursors import LAST_SEQUENCE


@dataclass(frozen=True)
class Subscription:
    subscription_id: int
    url: str
    vendor_id: str | None
    secret: str
    enabled: bool
    start_after: int
    created_at: datetime


# The columns of a Subscription, in the order `_subscription` reads them.
_COLUMNS = "subscription_id, url, vendor_id, secret, enabled, start_after, created_at"
_ADD = (
    "INSERT INTO webhook_subscriptions (url, vendor_id, secret, enabled, start_after, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?) RETURNING subscription_id"
)
_ALL = f"SELECT {_COLUMNS} FROM webhook_subscriptions ORDER BY subscription_id"  # noqa: S608
_ENABLED = (
    f"SELECT {_COLUMNS} FROM webhook_subscriptions WHERE enabled = ?"  # noqa: S608
    " ORDER BY subscription_id"
)
_GET = f"SELECT {_COLUMNS} FROM webhook_subscriptions WHERE subscription_id = ?"  # noqa: S608
_SET_ENABLED = "UPDATE webhook_subscriptions SET enabled = ? WHERE subscription_id = ?"
_REMOVE_ATTEMPTS = (
    "DELETE FROM webhook_attempts WHERE delivery_id IN"
    " (SELECT delivery_id FROM webhook_deliveries WHERE subscription_id = ?)"
)
_REMOVE_DELIVERIES = "DELETE FROM webhook_deliveries WHERE subscription_id = ?"
_REMOVE = "DELETE FROM webhook_subscriptions WHERE subscription_id = ?"


def _subscription(r: Sequence[Any]) -> Subscription:
    return Subscription(r[0], r[1], r[2], r[3], bool(r[4]), r[5], Driver.read_time(r[6]))


class Subscriptions:
    def __init__(self, tx: Transaction) -> None:
        self.sql = tx.sql

    def add(self, url: str, vendor_id: str | None, secret: str, now: datetime) -> int:
        """A new subscription hears the events stamped from now on."""
        sql = self.sql
        last = sql.rows(LAST_SEQUENCE)[0][0]
        rows = sql.rows(_ADD, (url, vendor_id, secret, True, last, sql.time(now)))
        return int(rows[0][0])

    def all(self, *, enabled_only: bool = False) -> list[Subscription]:
        rows = self.sql.rows(_ENABLED, (True,)) if enabled_only else self.sql.rows(_ALL)
        return [_subscription(r) for r in rows]

    def get(self, subscription_id: int) -> Subscription | None:
        rows = self.sql.rows(_GET, (subscription_id,))
        return _subscription(rows[0]) if rows else None

    def set_enabled(self, subscription_id: int, enabled: bool) -> bool:
        return self.sql.execute(_SET_ENABLED, (enabled, subscription_id)) > 0

    def remove(self, subscription_id: int) -> bool:
        """Forget the subscription with its deliveries and their attempts."""
        sql = self.sql
        sql.execute(_REMOVE_ATTEMPTS, (subscription_id,))
        sql.execute(_REMOVE_DELIVERIES, (subscription_id,))
        return sql.execute(_REMOVE, (subscription_id,)) > 0
