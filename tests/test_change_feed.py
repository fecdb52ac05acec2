"""The outbox and GET /events: every committed change, once, in order, from a cursor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conftest import Client, Placed, errors_of


def feed(platform: Client, **params: Any) -> dict[str, Any]:
    response = platform.request("GET", "/events", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def order_events(platform: Client, mc_order_id: str) -> list[dict[str, Any]]:
    return list(feed(platform, mcOrderId=mc_order_id, limit=1000)["events"])


def test_each_change_is_one_event_with_gapless_revisions(
    vendor: Client, platform: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id)
    vendor.post_status([{"mcOrderId": placed.mc_order_id, "status": "Processing"}])
    vendor.post_status([{"mcOrderId": placed.mc_order_id, "status": "Processing"}])  # no change
    vendor.post_status(
        [
            {
                "mcOrderId": placed.mc_order_id,
                "orderItems": [{"mcId": placed.item_ids[0], "trackingNumber": "T1"}],
            }
        ]
    )
    events = order_events(platform, placed.mc_order_id)
    assert [e["type"] for e in events] == [
        "order.placed",
        "order.status_changed",
        "order.status_changed",
    ]
    assert [e["revision"] for e in events] == [1, 2, 3]
    sequences = [e["sequence"] for e in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    assert len({e["id"] for e in events}) == 3


def test_event_carries_the_order_as_stored_and_what_changed(
    vendor: Client, platform: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, order_id="ext-9")
    vendor.post_status(
        [
            {
                "mcOrderId": placed.mc_order_id,
                "orderItems": [
                    {"mcId": placed.item_ids[0], "status": "Shipped", "trackingNumber": "T1"}
                ],
            }
        ]
    )
    event = order_events(platform, placed.mc_order_id)[-1]
    assert event["vendorId"] == vendor.vendor_id and event["orderId"] == "ext-9"
    assert event["occurredAt"].endswith("Z")
    order = event["data"]["order"]
    assert order["mcOrderId"] == placed.mc_order_id and order["revision"] == event["revision"]
    assert order["orderItems"][0]["status"] == "Shipped"
    changes = event["data"]["changes"]
    assert {
        "mcId": placed.item_ids[0],
        "field": "status",
        "from": "Pending",
        "to": "Shipped",
    } in changes
    assert {
        "mcId": placed.item_ids[0],
        "field": "trackingNumber",
        "from": None,
        "to": "T1",
    } in changes


def test_failed_order_produces_no_event(
    vendor: Client, platform: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=1)
    vendor.post_status([{"mcOrderId": placed.mc_order_id, "status": "Delivered"}])
    vendor.post_status([{"mcOrderId": placed.mc_order_id, "status": "Shipped"}])  # refused
    assert [e["revision"] for e in order_events(platform, placed.mc_order_id)] == [1, 2]


def test_cursor_reads_every_event_once_across_pages(
    vendor: Client, platform: Client, place: Callable[..., Placed]
) -> None:
    start = feed(platform, limit=1000)
    cursor = start["nextCursor"]
    while start["events"]:
        start = feed(platform, after=cursor, limit=1000)
        cursor = start["nextCursor"]
    placed = [place(vendor.vendor_id, items=1) for _ in range(5)]
    for p in placed:
        vendor.post_status([{"mcOrderId": p.mc_order_id, "status": "Shipped"}])
    seen: list[dict[str, Any]] = []
    while True:
        page = feed(platform, after=cursor, limit=3, vendorId=vendor.vendor_id)
        if not page["events"]:
            break
        seen += page["events"]
        cursor = page["nextCursor"]
    assert len(seen) == 10
    assert len({e["id"] for e in seen}) == 10
    assert [e["sequence"] for e in seen] == sorted(e["sequence"] for e in seen)


def test_feed_is_for_the_platform_only(vendor: Client) -> None:
    response = vendor.request("GET", "/events")
    assert response.status_code == 401
    assert errors_of(response)[0]["ReasonCode"] == "INVALID_CLIENT_ID"


def test_bad_cursor_is_400(platform: Client) -> None:
    response = platform.request("GET", "/events", params={"after": "abc"})
    assert response.status_code == 400
    assert errors_of(response)[0]["ReasonCode"] == "INVALID_FIELD_VALUE_AFTER"
