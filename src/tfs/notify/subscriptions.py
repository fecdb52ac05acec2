"""Webhook subscriptions of the platform: their SQL. Nothing here commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from tfs.db.driver import as_utc
from tfs.db.tables import webhook_attempts, webhook_deliveries, webhook_subscriptions
from tfs.notify.cursors import last_sequence


@dataclass(frozen=True)
class Subscription:
    subscription_id: int
    url: str
    vendor_id: str | None
    secret: str
    enabled: bool
    start_after: int
    created_at: datetime


def _subscription(r: Any) -> Subscription:
    return Subscription(
        r.subscription_id,
        r.url,
        r.vendor_id,
        r.secret,
        r.enabled,
        r.start_after,
        as_utc(r.created_at),
    )


class Subscriptions:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, url: str, vendor_id: str | None, secret: str, now: datetime) -> int:
        """A new subscription hears the events stamped from now on."""
        last = self.conn.execute(last_sequence()).scalar_one()
        result = self.conn.execute(
            insert(webhook_subscriptions).values(
                url=url,
                vendor_id=vendor_id,
                secret=secret,
                enabled=True,
                start_after=last,
                created_at=now,
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    def all(self, *, enabled_only: bool = False) -> list[Subscription]:
        s = webhook_subscriptions.c
        query = select(webhook_subscriptions).order_by(s.subscription_id)
        if enabled_only:
            query = query.where(s.enabled.is_(True))
        return [_subscription(r) for r in self.conn.execute(query)]

    def get(self, subscription_id: int) -> Subscription | None:
        s = webhook_subscriptions.c
        row = self.conn.execute(
            select(webhook_subscriptions).where(s.subscription_id == subscription_id)
        ).first()
        return None if row is None else _subscription(row)

    def set_enabled(self, subscription_id: int, enabled: bool) -> bool:
        s = webhook_subscriptions.c
        result = self.conn.execute(
            update(webhook_subscriptions)
            .where(s.subscription_id == subscription_id)
            .values(enabled=enabled)
        )
        return result.rowcount > 0

    def remove(self, subscription_id: int) -> bool:
        """Forget the subscription with its deliveries and their attempts."""
        d = webhook_deliveries.c
        mine = select(d.delivery_id).where(d.subscription_id == subscription_id)
        self.conn.execute(delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(mine)))
        self.conn.execute(delete(webhook_deliveries).where(d.subscription_id == subscription_id))
        result = self.conn.execute(
            delete(webhook_subscriptions).where(
                webhook_subscriptions.c.subscription_id == subscription_id
            )
        )
        return result.rowcount > 0
