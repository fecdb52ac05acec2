"""Use cases of the relay and of the operators who watch it: each one transaction."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tfs.access.repository import Vendors
from tfs.db.outbox import ORDER_STATUS_CHANGED, Event, Events
from tfs.db.store import Store
from tfs.errors import (
    DeliveryNotDead,
    DeliveryNotFound,
    SubscriptionNotFound,
    UnknownVendor,
)
from tfs.notify.cursors import FANOUT, NATS, Cursors
from tfs.notify.deliveries import (
    DEAD,
    DELIVERED,
    PENDING,
    Attempt,
    Claimed,
    Deliveries,
    DeliveryView,
)
from tfs.notify.retries import RetryPolicy
from tfs.notify.subscriptions import Subscription, Subscriptions

FANOUT_BATCH = 500


@dataclass(frozen=True)
class Outcome:
    state: str
    next_attempt_at: datetime


# --- Subscriptions (the `tfs webhooks` commands) ---------------------------------------------


def add_subscription(
    store: Store, url: str, vendor_id: str | None, secret: str, now: datetime
) -> int:
    with store.transaction() as tx:
        if vendor_id is not None and not Vendors(tx).exists(vendor_id):
            raise UnknownVendor(f"Vendor {vendor_id} does not exist.")
        # Not while a relay fans out: it would not see the new subscription, yet move past
        # events the subscription should hear.
        Cursors(tx).lock(FANOUT)
        return Subscriptions(tx).add(url, vendor_id, secret, now)


def list_subscriptions(store: Store) -> list[Subscription]:
    with store.transaction(readonly=True) as tx:
        return Subscriptions(tx).all()


def set_subscription_enabled(store: Store, subscription_id: int, enabled: bool) -> None:
    with store.transaction() as tx:
        if not Subscriptions(tx).set_enabled(subscription_id, enabled):
            raise SubscriptionNotFound()


def remove_subscription(store: Store, subscription_id: int) -> None:
    with store.transaction() as tx:
        if not Subscriptions(tx).remove(subscription_id):
            raise SubscriptionNotFound()


# --- Deliveries (the relay) -------------------------------------------------------------------


def fan_out(store: Store, now: datetime) -> int:
    """Turn newly stamped events into deliveries for the subscriptions they match (disabled
    ones too: disabling pauses sending, it loses nothing).

    Returns how far the cursor moved (FANOUT_BATCH or more: there may be more to do). The
    cursor row is locked for the transaction, so relays fan out one at a time, each event once.
    """
    with store.transaction(readonly=True) as tx:
        cursors = Cursors(tx)
        latest = cursors.end()
        if cursors.position(FANOUT) >= latest:
            return 0
    with store.transaction() as tx:
        cursors = Cursors(tx)
        after = cursors.lock(FANOUT)
        subscriptions = Subscriptions(tx).all()
        # Nothing before the oldest subscription's start concerns anyone: skip it at once.
        floor = min((s.start_after for s in subscriptions), default=latest)
        start = max(after, floor)
        last = Deliveries(tx).fan_out(subscriptions, start, FANOUT_BATCH, now)
        if last > after:
            cursors.move(FANOUT, last)
        return last - after


def claim_deliveries(
    store: Store,
    in_flight: Mapping[int, int],
    per_subscription: int,
    now: datetime,
    lease: timedelta,
) -> list[Claimed]:
    """Lease what is due, up to `per_subscription` in flight for each enabled subscription."""
    with store.transaction(readonly=True) as tx:
        if not Deliveries(tx).has_due(now):
            return []
    with store.transaction() as tx:
        capacity = {
            s.subscription_id: per_subscription - in_flight.get(s.subscription_id, 0)
            for s in Subscriptions(tx).all(enabled_only=True)
        }
        token = secrets.token_hex(16)
        return Deliveries(tx).claim(capacity, now, now + lease, token)


def outcome(claimed: Claimed, attempt: Attempt, policy: RetryPolicy, jitter: float) -> Outcome:
    if attempt.succeeded:
        return Outcome(DELIVERED, attempt.attempted_at)
    first = claimed.first_attempt_at or attempt.attempted_at
    retry_at = policy.next_attempt(claimed.attempts + 1, first, attempt.attempted_at, jitter)
    return Outcome(DEAD, attempt.attempted_at) if retry_at is None else Outcome(PENDING, retry_at)


def record_attempt(
    store: Store, claimed: Claimed, attempt: Attempt, policy: RetryPolicy, jitter: float
) -> str:
    """Log the attempt and settle or reschedule the delivery; returns its new state."""
    result = outcome(claimed, attempt, policy, jitter)
    with store.transaction() as tx:
        Deliveries(tx).record(claimed, attempt, result.state, result.next_attempt_at)
    return result.state


@dataclass(frozen=True)
class SubscriptionBacklog:
    subscription_id: int
    pending: int  # deliveries waiting (retries included)
    dead: int  # dead-lettered


@dataclass(frozen=True)
class Backlog:
    """What the relay has still to do, for operators (metrics): one read transaction."""

    events_pending: int  # events the slowest of the given cursors has not passed
    lag_s: float  # age of the oldest of them (0 when there is none)
    subscriptions: list[SubscriptionBacklog]


def relay_backlog(store: Store, cursors: Sequence[str], now: datetime) -> Backlog:
    """The relay's backlog as the cursors `cursors` (FANOUT, and NATS where it publishes) see
    it: a cheap query each, at any size of history."""
    with store.transaction(readonly=True) as tx:
        positions = Cursors(tx).positions(cursors)
        pending, oldest = Cursors(tx).behind(min(positions.values(), default=0))
        waiting = Deliveries(tx).waiting()
    lag = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
    return Backlog(pending, lag, [SubscriptionBacklog(*w) for w in waiting])


def relay_backlog_of(store: Store, publishes_to_nats: bool, now: datetime) -> Backlog:
    """The backlog as a relay configured so sees it (with NATS, the slower of its cursors)."""
    return relay_backlog(store, (FANOUT, NATS) if publishes_to_nats else (FANOUT,), now)


def list_deliveries(
    store: Store,
    *,
    failed_only: bool = False,
    dead_only: bool = False,
    subscription_id: int | None = None,
    mc_order_id: str | None = None,
    limit: int = 50,
) -> list[DeliveryView]:
    """The newest deliveries first, with their attempts: all, failed (dead, or pending after
    an attempt), or dead-lettered only; of one subscription, of one order."""
    with store.transaction(readonly=True) as tx:
        return Deliveries(tx).recent(
            failed_only=failed_only,
            dead_only=dead_only,
            subscription_id=subscription_id,
            mc_order_id=mc_order_id,
            limit=limit,
        )


def order_events(store: Store, mc_order_id: str, limit: int) -> list[Event]:
    """An order's events, by revision: what the platform was told of it (numbered first, as
    the change feed does, where no relay has numbered them yet)."""
    stamp_events(store)
    with store.transaction(readonly=True) as tx:
        return Events(tx).of_order(mc_order_id, limit)


def changes_per_minute(store: Store, now: datetime, minutes: int) -> list[tuple[datetime, int]]:
    """Orders changed by status updates (`order.status_changed` events) in each of the last
    `minutes` whole minutes and the current one: (the minute's start, how many), oldest first.
    From the outbox, so the same on every instance."""
    current = now.replace(second=0, microsecond=0)
    starts = [current - timedelta(minutes=m) for m in range(minutes, -1, -1)]
    with store.snapshot() as tx:
        counts = Events(tx).counts_per_period(ORDER_STATUS_CHANGED, starts)
    return list(zip(starts, counts, strict=True))


def replay_delivery(store: Store, delivery_id: int, now: datetime) -> None:
    """Send a dead-lettered delivery again, with a fresh retry window."""
    with store.transaction() as tx:
        deliveries = Deliveries(tx)
        state = deliveries.get_state(delivery_id)
        if state is None:
            raise DeliveryNotFound()
        if state != DEAD:
            raise DeliveryNotDead(f"Delivery {delivery_id} is {state}, not dead-lettered.")
        deliveries.resend_one(delivery_id, now)


def replay_events(store: Store, subscription_id: int, first: int, last: int, now: datetime) -> int:
    """Send the events numbered first..last to one subscription again; returns how many."""
    with store.transaction() as tx:
        subscription = Subscriptions(tx).get(subscription_id)
        if subscription is None:
            raise SubscriptionNotFound()
        return Deliveries(tx).replay_range(subscription, first, last, now)


# --- NATS -------------------------------------------------------------------------------------


def lease_nats_cursor(store: Store, owner: str, now: datetime, lease: timedelta) -> int | None:
    """The position to publish from, if this relay is (now) the one publishing to NATS."""
    with store.transaction() as tx:
        return Cursors(tx).lease(NATS, owner, now, now + lease)


def advance_nats_cursor(store: Store, owner: str, position: int) -> bool:
    with store.transaction() as tx:
        return Cursors(tx).advance(NATS, owner, position)


def release_nats_cursor(store: Store, owner: str) -> None:
    """A relay that stops lets another publish at once, without waiting for its lease."""
    with store.transaction() as tx:
        Cursors(tx).release(NATS, owner)


def events_after(store: Store, position: int, limit: int) -> list[Event]:
    with store.transaction(readonly=True) as tx:
        return Events(tx).after(position, limit)


# --- The change feed (GET {base}/events) -------------------------------------------------------


def stamp_events(store: Store) -> int:
    """Number the events committed since the last call (cheap when there are none)."""
    with store.transaction(readonly=True) as tx:
        if not Events(tx).has_unstamped():
            return 0
    with store.transaction() as tx:
        return Events(tx).stamp()


def read_events(
    store: Store,
    after: int,
    limit: int,
    *,
    vendor_id: str | None = None,
    mc_order_id: str | None = None,
) -> list[Event]:
    """The change feed: events after a cursor, in sequence order (a signed read's nonce is
    spent before: access/read_nonces.py)."""
    stamp_events(store)
    with store.snapshot() as tx:
        return Events(tx).after(after, limit, vendor_id=vendor_id, mc_order_id=mc_order_id)
