"""`tfs relay` as its own process: killed mid-batch it loses nothing; two of them on PostgreSQL
never deliver an event twice; and the change feed read across restarts of the service."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import POSTGRES_ENV, Client, _postgres_database, now
from processes import ServerProcess
from relays import (
    SHORT_LEASE,
    RelayProcess,
    make_changes,
    outbox,
    revisions_by_order,
    subscription,
)
from tfs.access import usecases as access
from tfs.db.engine import make_engine, upgrade
from tfs.db.store import Store
from webhook_receiver import Receiver, wait_for

pytestmark = [pytest.mark.slow]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def relays(tmp_path: Path) -> Iterator[list[RelayProcess]]:
    started: list[RelayProcess] = []
    yield started
    for relay in started:
        relay.kill()


def new_vendor(store: Store) -> str:
    vendor_id = f"vendor-{uuid.uuid4().hex[:12]}"
    access.add_vendor(store, vendor_id, None, now())
    return vendor_id


def assert_each_once_in_revision_order(receiver: Receiver, expected_ids: set[str]) -> None:
    assert all(a.verified for a in receiver.all())
    assert set(receiver.unique()) == expected_ids
    # Duplicates may come (at least once), but never a revision before an earlier one.
    for mc_order_id, revisions in revisions_by_order(
        [a.event for a in receiver.accepted()]
    ).items():
        assert revisions == sorted(revisions), (mc_order_id, revisions)
        assert sorted(set(revisions)) == [1, 2, 3, 4]


def test_a_relay_killed_mid_batch_loses_nothing(
    store: Store,
    database_url: str,
    receiver: Receiver,
    relays: list[RelayProcess],
    tmp_path: Path,
) -> None:
    vendor_id = new_vendor(store)
    with subscription(store, receiver.url, vendor_id) as (_, secret):
        receiver.secret = secret
        make_changes(store, vendor_id, orders=8)
        expected = {e.event_id for e in outbox(store, vendor_id)}
        assert len(expected) == 32
        # After 10 events the receiver stops answering: the relay is killed with requests in
        # flight, claimed and unrecorded.
        receiver.hang_after = 10
        first = RelayProcess(database_url, tmp_path / "relay.log", SHORT_LEASE).start()
        relays.append(first)
        wait_for(
            lambda: len(receiver.accepted()) >= 10 and receiver.in_flight > 0,
            "deliveries in flight",
        )
        first.kill()
        assert len(receiver.unique()) < 32
        receiver.hang_after = None
        second = RelayProcess(database_url, tmp_path / "relay.log", SHORT_LEASE).start()
        relays.append(second)
        wait_for(lambda: len(receiver.unique()) == 32, "every event after the restart")
        second.stop()
    assert_each_once_in_revision_order(receiver, expected)


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    if not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL to test")
    for url in _postgres_database():
        upgrade(url)
        yield url


@pytest.mark.postgres
def test_two_relays_on_postgresql_never_deliver_the_same_event_twice(
    fresh_postgres: str, receiver: Receiver, relays: list[RelayProcess], tmp_path: Path
) -> None:
    store = Store(make_engine(fresh_postgres))
    try:
        vendor_id = new_vendor(store)
        with subscription(store, receiver.url, vendor_id) as (_, secret):
            receiver.secret = secret
            make_changes(store, vendor_id, orders=15)
            expected = {e.event_id for e in outbox(store, vendor_id)}
            for n in range(2):
                relays.append(RelayProcess(fresh_postgres, tmp_path / f"relay{n}.log").start())
            wait_for(lambda: len(receiver.unique()) == 60, "every event")
            for relay in relays:
                relay.stop()
            arrivals = [a.id for a in receiver.all()]
            assert len(arrivals) == len(set(arrivals)) == 60
        assert_each_once_in_revision_order(receiver, expected)
    finally:
        store.engine.dispose()


def read_feed(client: Client, cursor: str, vendor_id: str) -> tuple[list[dict[str, Any]], str]:
    """Every event after the cursor, page by page; returns them and the cursor to save."""
    events: list[dict[str, Any]] = []
    while True:
        response = client.request(
            "GET", "/events", params={"after": cursor, "limit": 5, "vendorId": vendor_id}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["events"]:
            return events, cursor
        events += page["events"]
        cursor = page["nextCursor"]


def test_the_feed_read_across_restarts_misses_nothing_and_repeats_nothing(
    store: Store, database_url: str, platform: Client, tmp_path: Path
) -> None:
    vendor_id = new_vendor(store)
    env = {"TFS_DATABASE_URL": database_url, "TFS_RELAY": "off", "TFS_RATE_LIMIT": "off"}
    make_changes(store, vendor_id, orders=2)
    with ServerProcess(env, log=tmp_path / "server.log") as first:
        client = Client(first.url, platform.consumer_key, platform.key)
        seen, cursor = read_feed(client, "0", vendor_id)
        assert first.proc is not None
        first.proc.kill()  # no goodbye
        first.proc.wait()
    make_changes(store, vendor_id, orders=2)
    with ServerProcess(env, log=tmp_path / "server.log") as second:
        client = Client(second.url, platform.consumer_key, platform.key)
        more, _ = read_feed(client, cursor, vendor_id)
    assert len(seen) == 8 and len(more) == 8
    everything = seen + more
    assert [e["id"] for e in everything] == [e.event_id for e in outbox(store, vendor_id)]
    sequences = [e["sequence"] for e in everything]
    assert sequences == sorted(sequences) and len(set(sequences)) == 16
