"""Webhooks from a relay to a real receiver on loopback: signed, every change once, in revision
order per order, retried through failures, timeouts and refusals, dead-lettered, replayed."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable, Iterator

import pytest

from conftest import Client, LiveServer, Placed
from relays import FAST, RelayThread, now, outbox, revisions_by_order, subscription
from tfs.config import RelaySettings
from tfs.db.store import Store
from tfs.notify import usecases as relay_usecases
from tfs.notify.deliveries import DeliveryView
from tfs.notify.relay import Relay, running
from webhook_receiver import Receiver, wait_for

STEPS = ("Processing", "Shipped", "Delivered")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def changes(vendor: Client, place: Callable[..., Placed], orders: int = 3) -> list[Placed]:
    """Place orders and move each through STEPS: revisions 1 to 4 per order."""
    placed = [place(vendor.vendor_id, items=1) for _ in range(orders)]
    for status in STEPS:
        response = vendor.post_status(
            [{"mcOrderId": p.mc_order_id, "status": status} for p in placed]
        )
        assert response.status_code == 200, response.text
    return placed


def deliveries(store: Store, subscription_id: int) -> list[DeliveryView]:
    return relay_usecases.list_deliveries(store, subscription_id=subscription_id, limit=1000)


def failures_per_order(receiver: Receiver) -> int:
    orders = revisions_by_order([a.event for a in receiver.all() if a.answered == 500])
    return min((len(r) for r in orders.values()), default=0) if len(orders) == 2 else 0


def assert_in_revision_order(receiver: Receiver) -> None:
    """No revision of an order was accepted before an earlier one (duplicates aside)."""
    for mc_order_id, revisions in revisions_by_order(
        [a.event for a in receiver.accepted()]
    ).items():
        assert revisions == sorted(revisions), (mc_order_id, revisions)


def test_every_change_arrives_signed_once_in_revision_order(
    store: Store, vendor: Client, place: Callable[..., Placed], receiver: Receiver
) -> None:
    with subscription(store, receiver.url, vendor.vendor_id) as (_, secret):
        receiver.secret = secret
        changes(vendor, place)
        expected = outbox(store, vendor.vendor_id)
        assert len(expected) == 12
        with RelayThread(store):
            wait_for(lambda: len(receiver.accepted()) >= 12, "12 deliveries")
        arrivals = receiver.all()
        assert all(a.verified for a in arrivals)
        assert [a.id for a in arrivals] == [a.id for a in receiver.unique().values()]
        assert {a.id for a in arrivals} == {e.event_id for e in expected}
        assert_in_revision_order(receiver)
        by_id = {e.event_id: e for e in expected}
        for a in arrivals:
            assert a.event == json.loads(by_id[a.id].to_json())
            assert a.headers["webhook-id"] == a.id
            assert a.headers["webhook-signature"].startswith("v1,")


def test_failing_receiver_is_retried_until_it_recovers_keeping_revision_order(
    store: Store, vendor: Client, place: Callable[..., Placed], receiver: Receiver
) -> None:
    with subscription(store, receiver.url, vendor.vendor_id) as (subscription_id, secret):
        receiver.secret, receiver.mode = secret, "fail"
        changes(vendor, place, orders=2)
        with RelayThread(store):
            wait_for(lambda: failures_per_order(receiver) >= 2, "two failures of each order")
            # While the first revisions fail, no later revision of their orders is sent.
            assert {a.event["revision"] for a in receiver.all()} == {1}
            receiver.mode = "ok"
            wait_for(lambda: len(receiver.unique()) == 8, "every event after recovery")
        assert_in_revision_order(receiver)
        views = deliveries(store, subscription_id)
        assert {v.state for v in views} == {"delivered"}
        first_revisions = [v for v in views if v.revision == 1]
        for v in first_revisions:
            assert [a.status_code for a in v.log][:2] == [500, 500]
            assert v.log[-1].status_code == 204 and v.attempts == len(v.log)
            assert all(a.latency_ms >= 0 for a in v.log)


def test_timeouts_and_refused_connections_are_retried(
    store: Store, vendor: Client, place: Callable[..., Placed], receiver: Receiver
) -> None:
    with subscription(store, receiver.url, vendor.vendor_id) as (subscription_id, secret):
        receiver.secret, receiver.mode = secret, "hang"
        (placed,) = changes(vendor, place, orders=1)
        with RelayThread(store):
            wait_for(
                lambda: any(
                    a.error and "timed out" in a.error
                    for v in deliveries(store, subscription_id)
                    for a in v.log
                ),
                "an attempt that timed out",
            )
            receiver.refuse()
            receiver.release.set()
            wait_for(
                lambda: any(
                    a.error and "could not connect" in a.error
                    for v in deliveries(store, subscription_id)
                    for a in v.log
                ),
                "an attempt that was refused",
            )
            receiver.mode = "ok"
            receiver.start()
            wait_for(lambda: len(receiver.unique()) == 4, "every event after recovery")
        assert_in_revision_order(receiver)
        assert {a.event["mcOrderId"] for a in receiver.accepted()} == {placed.mc_order_id}
        (first,) = [v for v in deliveries(store, subscription_id) if v.revision == 1]
        assert first.log[0].status_code is None and "timed out" in (first.log[0].error or "")


def test_dead_letter_after_the_retry_window_unblocks_the_next_revision_and_replay_resends_it(
    store: Store,
    vendor: Client,
    place: Callable[..., Placed],
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = dataclasses.replace(FAST, retry_hours=0.8 / 3600)  # a 0.8 s window
    with subscription(store, receiver.url, vendor.vendor_id) as (subscription_id, secret):
        receiver.secret = secret
        receiver.fail_when = lambda event: event["revision"] == 2
        (placed,) = changes(vendor, place, orders=1)
        with RelayThread(store, settings):
            wait_for(lambda: len(receiver.unique()) == 3, "revisions 1, 3 and 4")
        dead = [v for v in deliveries(store, subscription_id) if v.state == "dead"]
        assert [v.revision for v in dead] == [2]
        assert dead[0].attempts >= 2 and all(a.status_code == 500 for a in dead[0].log)
        span = dead[0].log[-1].attempted_at - dead[0].log[0].attempted_at
        assert span.total_seconds() >= 0.8
        accepted = [a.event["revision"] for a in receiver.accepted()]
        assert accepted == [1, 3, 4]
        failed = relay_usecases.list_deliveries(
            store, failed_only=True, subscription_id=subscription_id
        )
        assert [v.delivery_id for v in failed] == [dead[0].delivery_id]
        # Failed attempts are warnings; the one that dead-letters a delivery is an error.
        logged = {(r.getMessage(), r.levelno) for r in caplog.records}
        assert ("webhook attempt failed", logging.WARNING) in logged
        assert ("webhook delivery dead-lettered", logging.ERROR) in logged

        receiver.fail_when = lambda _event: False
        relay_usecases.replay_delivery(store, dead[0].delivery_id, now())
        with RelayThread(store, settings):
            wait_for(lambda: len(receiver.unique()) == 4, "the replayed revision 2")
        assert receiver.accepted()[-1].event["revision"] == 2
        assert receiver.accepted()[-1].event["mcOrderId"] == placed.mc_order_id
        (replayed,) = [v for v in deliveries(store, subscription_id) if v.revision == 2]
        assert replayed.state == "delivered" and replayed.log[-1].status_code == 204


def test_replay_of_a_range_sends_those_events_again_in_order(
    store: Store, vendor: Client, place: Callable[..., Placed], receiver: Receiver
) -> None:
    with subscription(store, receiver.url, vendor.vendor_id) as (subscription_id, secret):
        receiver.secret = secret
        changes(vendor, place, orders=2)
        events = outbox(store, vendor.vendor_id)
        with RelayThread(store):
            wait_for(lambda: len(receiver.accepted()) == 8, "8 deliveries")
            count = relay_usecases.replay_events(
                store, subscription_id, events[0].sequence, events[-1].sequence, now()
            )
            assert count == 8
            wait_for(lambda: len(receiver.accepted()) == 16, "8 replayed deliveries")
        again = [a.id for a in receiver.accepted()[8:]]
        assert sorted(again) == sorted(e.event_id for e in events)
        for revisions in revisions_by_order([a.event for a in receiver.accepted()[8:]]).values():
            assert revisions == [1, 2, 3, 4]


def test_a_slow_receiver_does_not_hold_up_another(
    store: Store, vendor: Client, place: Callable[..., Placed], receiver: Receiver
) -> None:
    slow = Receiver()
    try:
        with (
            subscription(store, slow.url, vendor.vendor_id) as (slow_id, slow_secret),
            subscription(store, receiver.url, vendor.vendor_id) as (_, secret),
        ):
            slow.secret, slow.mode = slow_secret, "hang"
            receiver.secret = secret
            changes(vendor, place, orders=6)
            # Retries come well after the receiver saw the relay give up on the last attempt.
            with RelayThread(store, dataclasses.replace(FAST, backoff_s=0.5)):
                wait_for(lambda: len(receiver.unique()) == 24, "every event at the fast receiver")
                assert slow.accepted() == []
                assert slow.max_in_flight <= FAST.concurrency
                assert all(v.state == "pending" for v in deliveries(store, slow_id))
    finally:
        slow.close()


def test_a_subscription_for_a_vendor_hears_only_that_vendor(
    store: Store,
    make_vendor: Callable[..., Client],
    place: Callable[..., Placed],
    receiver: Receiver,
) -> None:
    mine, other = make_vendor(), make_vendor()
    with subscription(store, receiver.url, mine.vendor_id) as (_, secret):
        receiver.secret = secret
        changes(other, place, orders=1)
        changes(mine, place, orders=1)
        with RelayThread(store):
            wait_for(lambda: len(receiver.unique()) == 4, "the vendor's 4 events")
        assert {a.event["vendorId"] for a in receiver.all()} == {mine.vendor_id}


def test_the_relay_runs_inside_the_service(
    store: Store,
    vendor: Client,
    place: Callable[..., Placed],
    receiver: Receiver,
    start_server: Callable[..., LiveServer],
) -> None:
    assert RelaySettings().enabled  # on by default: `tfs serve` alone is a working setup
    with subscription(store, receiver.url, vendor.vendor_id) as (_, secret):
        receiver.secret = secret
        (placed,) = changes(vendor, place, orders=1)
        start_server(relay=FAST)
        wait_for(lambda: len(receiver.unique()) == 4, "deliveries from the service's relay")
        assert {a.event["mcOrderId"] for a in receiver.all()} == {placed.mc_order_id}


def test_turned_off_the_relay_does_not_start(store: Store) -> None:
    async def started() -> Relay | None:
        async with running(store, dataclasses.replace(FAST, enabled=False)) as relay:
            return relay

    assert asyncio.run(started()) is None


def test_a_disabled_subscription_is_paused_and_catches_up_in_order_when_enabled(
    store: Store, vendor: Client, place: Callable[..., Placed], receiver: Receiver
) -> None:
    with subscription(store, receiver.url, vendor.vendor_id) as (subscription_id, secret):
        receiver.secret = secret
        relay_usecases.set_subscription_enabled(store, subscription_id, False)
        changes(vendor, place, orders=2)
        with RelayThread(store):
            wait_for(lambda: len(deliveries(store, subscription_id)) == 8, "8 queued deliveries")
            assert {(v.state, v.attempts) for v in deliveries(store, subscription_id)} == {
                ("pending", 0)
            }
            relay_usecases.set_subscription_enabled(store, subscription_id, True)
            wait_for(lambda: len(receiver.unique()) == 8, "the queued events")
        assert_in_revision_order(receiver)
