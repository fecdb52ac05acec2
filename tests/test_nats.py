"""Events published to a real NATS JetStream (TFS_TEST_NATS_URL): every event once, in sequence
order, on its vendor's and order's subject, deduplicated by id after a crash; and a NATS that is
down only delays them."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import nats
import pytest
from nats.js.errors import NotFoundError

from conftest import Client, LiveServer, Placed
from processes import TcpProxy
from relays import FAST, RelayThread, outbox, subscription
from tfs.config import RelaySettings
from tfs.db.store import Store
from tfs.notify.cursors import NATS, Cursors
from tfs.notify.nats import subject_token
from webhook_receiver import Receiver, wait_for

NATS_ENV = "TFS_TEST_NATS_URL"


@dataclass(frozen=True)
class Message:
    subject: str
    msg_id: str | None
    event: dict[str, object]


@pytest.fixture
def nats_url() -> str:
    url = os.environ.get(NATS_ENV)
    if not url:
        pytest.skip(f"{NATS_ENV} is not set: no NATS JetStream to test")
    return url


@pytest.fixture
def jetstream(nats_url: str) -> Iterator[RelaySettings]:
    """Relay settings publishing to a stream of this test's own, deleted afterwards."""
    tag = uuid.uuid4().hex[:10]
    settings = dataclasses.replace(
        FAST, nats_url=nats_url, nats_stream=f"TFS_TEST_{tag}", nats_subject_prefix=f"tfstest.{tag}"
    )
    yield settings
    asyncio.run(_delete_stream(nats_url, settings.nats_stream))


async def _delete_stream(url: str, stream: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(stream)
    except NotFoundError:
        pass
    finally:
        await nc.close()


async def _messages(url: str, stream: str) -> list[Message]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        try:
            state = (await js.stream_info(stream)).state
        except NotFoundError:
            return []
        found = []
        if state.messages == 0:
            return found  # (an empty stream reports first_seq 0, which get_msg refuses)
        for seq in range(state.first_seq, state.last_seq + 1):
            raw = await js.get_msg(stream, seq)
            assert raw.subject is not None and raw.data is not None
            msg_id = (raw.headers or {}).get("Nats-Msg-Id")
            found.append(Message(raw.subject, msg_id, json.loads(raw.data)))
        return found
    finally:
        await nc.close()


def published(settings: RelaySettings, vendor_id: str) -> list[Message]:
    """The stream's messages for this vendor, in stream order."""
    assert settings.nats_url is not None
    prefix = f"{settings.nats_subject_prefix}.{subject_token(vendor_id)}."
    every = asyncio.run(_messages(settings.nats_url, settings.nats_stream))
    return [m for m in every if m.subject.startswith(prefix)]


def changes(vendor: Client, place: Callable[..., Placed], orders: int = 2) -> None:
    placed = [place(vendor.vendor_id, items=1) for _ in range(orders)]
    for status in ("Processing", "Shipped"):
        response = vendor.post_status(
            [{"mcOrderId": p.mc_order_id, "status": status} for p in placed]
        )
        assert response.status_code == 200, response.text


def assert_published_once_in_order(store: Store, settings: RelaySettings, vendor_id: str) -> None:
    expected = outbox(store, vendor_id)
    messages = published(settings, vendor_id)
    assert [m.event["id"] for m in messages] == [e.event_id for e in expected]
    for m, e in zip(messages, expected, strict=True):
        assert m.msg_id == e.event_id
        assert m.event == json.loads(e.to_json())
        assert m.subject == (
            f"{settings.nats_subject_prefix}.{subject_token(e.vendor_id)}.{subject_token(e.mc_order_id)}"
        )


def test_every_event_is_published_once_in_sequence_order_with_its_id(
    store: Store, vendor: Client, place: Callable[..., Placed], jetstream: RelaySettings
) -> None:
    changes(vendor, place)
    with RelayThread(store, jetstream):
        wait_for(lambda: len(published(jetstream, vendor.vendor_id)) == 6, "6 messages")
    assert_published_once_in_order(store, jetstream, vendor.vendor_id)


def test_a_republish_after_a_crash_is_dropped_by_jetstream_as_a_duplicate(
    store: Store, vendor: Client, place: Callable[..., Placed], jetstream: RelaySettings
) -> None:
    changes(vendor, place)
    with RelayThread(store, jetstream):
        wait_for(lambda: len(published(jetstream, vendor.vendor_id)) == 6, "6 messages")
    # As if the relay had died after publishing, before saving how far it got.
    first = outbox(store, vendor.vendor_id)[0].sequence
    with store.transaction() as uow:
        cursors = Cursors(uow)
        end = cursors.position(NATS)
        cursors.move(NATS, first - 1)

    def caught_up() -> bool:
        with store.transaction(readonly=True) as uow:
            return Cursors(uow).position(NATS) >= end

    with RelayThread(store, jetstream):
        wait_for(caught_up, "the relay to publish the tail again")
    assert_published_once_in_order(store, jetstream, vendor.vendor_id)


def test_nats_down_delays_publication_while_the_api_and_webhooks_go_on(
    store: Store,
    vendor: Client,
    place: Callable[..., Placed],
    jetstream: RelaySettings,
    start_server: Callable[..., LiveServer],
) -> None:
    assert jetstream.nats_url is not None
    target = urlsplit(jetstream.nats_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 4222)
    receiver = Receiver()
    try:
        proxy.cut()
        settings = dataclasses.replace(jetstream, nats_url=f"nats://127.0.0.1:{proxy.port}")
        with subscription(store, receiver.url, vendor.vendor_id) as (_, secret):
            receiver.secret = secret
            live = start_server(relay=settings)
            changes(dataclasses.replace(vendor, base_url=live.url), place)
            wait_for(lambda: len(receiver.unique()) == 6, "webhooks while NATS is down")
            assert published(jetstream, vendor.vendor_id) == []
            proxy.restore()
            wait_for(lambda: len(published(jetstream, vendor.vendor_id)) == 6, "NATS back")
        assert_published_once_in_order(store, jetstream, vendor.vendor_id)
    finally:
        receiver.close()
        proxy.close()


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ("carltonone", "carltonone"),
        ("acme.eu", "acme%2Eeu"),
        ("A 1", "A%201"),
        ("a*b>c", "a%2Ab%3Ec"),
        ("50%", "50%25"),
        ("tab\there", "tab%09here"),
        ("café", "caf%C3%A9"),
    ],
)
def test_ids_become_valid_subject_tokens_one_to_one(value: str, token: str) -> None:
    assert subject_token(value) == token
    assert unquote(token) == value
