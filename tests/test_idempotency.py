"""Idempotency-Key on POST {base}/vendors/{vendor_id}/orders/status, through HTTP, signed."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import requests

from conftest import Client, Placed, add_credential, errors_of, now
from tfs.db.store import Store
from tfs.idempotency.repository import IdempotencyKeys

TTL = timedelta(hours=24)  # Settings.idempotency_ttl_s of the test server


def new_key() -> str:
    return f"key-{uuid.uuid4()}"


def post(client: Client, body: Any, key: str | None) -> requests.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post_status(body, headers=headers)


def shipped(placed: Placed, status: str = "Shipped") -> list[dict[str, Any]]:
    return [{"mcOrderId": placed.mc_order_id, "status": status}]


def order_status(client: Client, placed: Placed) -> str:
    (order,) = client.get_status(mcOrderId=placed.mc_order_id).json()["orders"]
    return str(order["status"])


def stored_hash(store: Store, client: Client, key: str) -> str:
    with store.transaction(readonly=True) as uow:
        record = IdempotencyKeys(uow).get(client.consumer_key, key)
    assert record is not None
    return record.request_hash


def test_same_key_and_body_replays_the_stored_response(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=1)
    key = new_key()
    first = post(vendor, shipped(placed), key)
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    # The order moves on without the key; a replay must answer what was stored, not re-run.
    assert post(vendor, shipped(placed, "Delivered"), None).json()[0]["status"] == "Delivered"
    again = post(vendor, shipped(placed), key)  # a new signature, a new nonce
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert again.json()[0]["status"] == "Shipped"
    assert order_status(vendor, placed) == "Delivered"


def test_replay_does_not_apply_the_batch_again(
    vendor: Client, platform: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id)
    key = new_key()
    body = [
        {
            "mcOrderId": placed.mc_order_id,
            "orderItems": [{"mcId": placed.item_ids[0], "trackingNumber": "T1"}],
        }
    ]
    post(vendor, body, key)
    revision = platform.request("GET", f"/orders/{placed.mc_order_id}").json()["revision"]
    for _ in range(3):
        assert post(vendor, body, key).headers.get("Idempotent-Replayed") == "true"
    after = platform.request("GET", f"/orders/{placed.mc_order_id}").json()
    assert after["revision"] == revision


def test_same_key_with_another_body_is_422_and_changes_nothing(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=1)
    key = new_key()
    assert post(vendor, shipped(placed), key).status_code == 200
    response = post(vendor, shipped(placed, "Delivered"), key)
    assert response.status_code == 422
    assert errors_of(response) == [
        {
            "Source": "rewards-order-management",
            "ReasonCode": "IDEMPOTENCY_KEY_REUSED",
            "Description": "Idempotency-Key was already used with a different request.",
            "Recoverable": False,
        }
    ]
    assert order_status(vendor, placed) == "Shipped"


def test_same_key_from_another_credential_is_independent(
    vendor: Client, store: Store, place: Callable[..., Placed]
) -> None:
    """Two credentials of one vendor, one key, one body: the second is executed, not replayed."""
    placed = place(vendor.vendor_id, items=1)
    second_key = add_credential(store, "vendor", vendor.vendor_id, vendor.key)
    colleague = Client(vendor.base_url, second_key, vendor.key, vendor.vendor_id)
    key = new_key()
    assert post(vendor, shipped(placed), key).status_code == 200
    response = post(colleague, shipped(placed), key)
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response.headers
    # And a different body under the same key is not a reuse for the other credential.
    other = post(colleague, shipped(placed, "Delivered"), new_key())
    assert other.status_code == 200
    response = post(vendor, shipped(placed, "Returned"), key)
    assert response.status_code == 422


def test_same_key_from_another_vendor_is_independent(
    make_vendor: Callable[..., Client], place: Callable[..., Placed]
) -> None:
    a, b = make_vendor(), make_vendor()
    pa, pb = place(a.vendor_id), place(b.vendor_id)
    key = new_key()
    assert post(a, shipped(pa), key).status_code == 200
    response = post(b, shipped(pb), key)
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response.headers
    assert response.json()[0]["mcOrderId"] == pb.mc_order_id


def test_key_still_running_is_409_recoverable_with_retry_after(
    vendor: Client, store: Store, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=1)
    body = shipped(placed)
    probe = new_key()
    post(vendor, body, probe)  # to learn the request hash the server stores for this body
    request_hash = stored_hash(store, vendor, probe)
    key = new_key()
    start = now()
    with store.transaction() as uow:  # the first request is in flight
        IdempotencyKeys(uow).start(vendor.consumer_key, key, request_hash, start, start + TTL)
    response = post(vendor, body, key)
    assert response.status_code == 409
    assert errors_of(response) == [
        {
            "Source": "rewards-order-management",
            "ReasonCode": "IDEMPOTENCY_KEY_IN_PROGRESS",
            "Description": "A request with this Idempotency-Key is still being processed.",
            "Recoverable": True,
        }
    ]
    assert response.headers["Retry-After"] == "1"
    # A different body under the running key is a reuse, not a wait.
    assert post(vendor, shipped(placed, "Delivered"), key).status_code == 422


def test_key_abandoned_while_running_may_be_used_again(
    vendor: Client, store: Store, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=1)
    body = shipped(placed)
    probe = new_key()
    post(vendor, [], probe)
    key = new_key()
    started = now() - timedelta(minutes=10)  # the first request died long ago
    with store.transaction() as uow:
        IdempotencyKeys(uow).start(
            vendor.consumer_key, key, stored_hash(store, vendor, probe), started, started + TTL
        )
    # The body differs from the dead request's ([] vs body): still a reuse of the key.
    assert post(vendor, body, key).status_code == 422
    dead = new_key()
    with store.transaction() as uow:
        IdempotencyKeys(uow).start(
            vendor.consumer_key, dead, stored_hash(store, vendor, probe), started, started + TTL
        )
    response = post(vendor, [], dead)
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response.headers
    assert post(vendor, [], dead).headers["Idempotent-Replayed"] == "true"


def test_expired_key_may_be_used_with_another_body(
    vendor: Client, store: Store, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=1)
    key = new_key()
    long_ago = now() - 2 * TTL
    with store.transaction() as uow:
        IdempotencyKeys(uow).start(vendor.consumer_key, key, "0" * 64, long_ago, long_ago + TTL)
        IdempotencyKeys(uow).finish(vendor.consumer_key, key, 200, b"[]")
    response = post(vendor, shipped(placed), key)
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response.headers
    assert response.json()[0]["status"] == "Shipped"


def test_request_failing_validation_does_not_consume_the_key(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    """Validation precedes the key: a 400 is neither stored nor replayed, and the key stays free
    for a corrected body (as Stripe does: no result is saved for a request refused up front)."""
    placed = place(vendor.vendor_id, items=1)
    key = new_key()
    invalid = [{"status": "Shipped"}]  # no mcOrderId
    first = post(vendor, invalid, key)
    assert first.status_code == 400
    again = post(vendor, invalid, key)
    assert again.status_code == 400
    assert "Idempotent-Replayed" not in again.headers
    fixed = post(vendor, shipped(placed), key)
    assert fixed.status_code == 200
    assert "Idempotent-Replayed" not in fixed.headers
    assert post(vendor, shipped(placed), key).headers["Idempotent-Replayed"] == "true"
    # Once the key holds a response, an invalid body is still answered by validation (400, not
    # 422), and the stored response survives it.
    assert post(vendor, invalid, key).status_code == 400
    assert post(vendor, shipped(placed), key).content == fixed.content


def test_refused_authentication_does_not_consume_the_key(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=1)
    key = new_key()
    stranger = Client(vendor.base_url, "unknown!00", vendor.key, vendor.vendor_id)
    assert post(stranger, shipped(placed), key).status_code == 401
    response = post(vendor, shipped(placed), key)
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response.headers


def test_replaying_the_same_signed_request_is_refused_before_the_key_is_read(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=1)
    key = new_key()
    prepared = vendor.prepared(
        "POST",
        f"/vendors/{vendor.vendor_id}/orders/status",
        json_body=shipped(placed),
        headers={"Idempotency-Key": key},
    )
    assert vendor.session.send(prepared, timeout=30).status_code == 200
    replay = vendor.session.send(prepared, timeout=30)
    assert replay.status_code == 401
    assert errors_of(replay)[0]["Description"] == "OAuth nonce has already been used."


def test_idempotency_key_must_be_short_and_printable(vendor: Client) -> None:
    for bad in ("k" * 256, "tab\there"):
        response = post(vendor, [], bad)
        assert response.status_code == 400, bad
        (error,) = errors_of(response)
        assert error["ReasonCode"] == "INVALID_FIELD_VALUE_IDEMPOTENCY_KEY"
    assert post(vendor, [], "k" * 255).status_code == 200


def test_concurrent_first_requests_with_one_key_apply_once_and_never_fail(
    vendor: Client, platform: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=1)
    key = new_key()
    body = [
        {
            "mcOrderId": placed.mc_order_id,
            "orderItems": [{"mcId": placed.item_ids[0], "trackingNumber": "T-race"}],
        }
    ]
    barrier = threading.Barrier(8)

    def send(_: int) -> requests.Response:
        client = Client(vendor.base_url, vendor.consumer_key, vendor.key, vendor.vendor_id)
        barrier.wait()
        return post(client, body, key)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(send, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 409}, [r.text for r in responses]
    executed = [
        r for r in responses if r.status_code == 200 and "Idempotent-Replayed" not in r.headers
    ]
    assert len(executed) == 1
    order = platform.request("GET", f"/orders/{placed.mc_order_id}").json()
    notes = [h for h in order["orderItems"][0]["histories"] if h["eventType"] == "trackingUpdate"]
    assert len(notes) == 1
