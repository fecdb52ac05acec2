"""Bounded answers: what an update answers, what a read shows, and the history pages, for
orders that hold thousands of entries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from conftest import Client, Placed, errors_of, now
from tfs import limits
from tfs.db.store import Store
from tfs.errors import RequestTooLarge
from tfs.orders import render, usecases
from tfs.orders.updates import parse_updates

NOTES = 2_500


def add_notes(store: Store, vendor_id: str, mc_order_id: str, mc_id: str, notes: list[str]) -> None:
    """Store vendor notes on an item through the use case, 100 per update (the request limit)."""
    for start in range(0, len(notes), limits.MAX_HISTORIES_PER_ITEM):
        chunk = notes[start : start + limits.MAX_HISTORIES_PER_ITEM]
        events = [{"eventType": "note", "note": n} for n in chunk]
        updates, faults = parse_updates(
            [{"mcOrderId": mc_order_id, "orderItems": [{"mcId": mc_id, "histories": events}]}]
        )
        assert not faults
        answer = asyncio.run(
            usecases.update_status(store, vendor_id, updates, now(), render.outcomes)
        )
        assert answer.outcomes[0].rejected is None


@pytest.fixture
def old_order(store: Store, vendor: Client, place: Callable[..., Placed]) -> Placed:
    """An order whose first item holds NOTES vendor notes, its second one."""
    placed = place(vendor.vendor_id, items=2)
    add_notes(
        store,
        vendor.vendor_id,
        placed.mc_order_id,
        placed.item_ids[0],
        [f"n{k}" for k in range(NOTES)],
    )
    add_notes(store, vendor.vendor_id, placed.mc_order_id, placed.item_ids[1], ["only"])
    return placed


def test_an_update_of_an_old_order_answers_only_what_it_added(
    vendor: Client, old_order: Placed
) -> None:
    mc, (first, second) = old_order.mc_order_id, old_order.item_ids
    noop = vendor.post_status([{"mcOrderId": mc, "orderItems": [{"mcId": first}]}])
    assert noop.status_code == 200, noop.text
    assert len(noop.content) < 1_000
    (order,) = noop.json()
    assert [(i["histories"], i["errors"]) for i in order["orderItems"]] == [([], []), ([], [])]

    shipped = vendor.post_status(
        [
            {
                "mcOrderId": mc,
                "orderItems": [
                    {
                        "mcId": first,
                        "status": "Shipped",
                        "histories": [{"eventType": "note", "note": "n7"}, {"note": "new"}],
                        "errors": [{"code": "E1"}],
                    }
                ],
            }
        ]
    )
    (order,) = shipped.json()
    item = order["orderItems"][0]
    # placed (1), the notes (NOTES / 100 updates, and one), this update
    assert item["status"] == "Shipped" and order["revision"] == 1 + NOTES // 100 + 1 + 1
    # n7 is stored already (identical events are kept once): not added, not answered.
    assert [(h.get("eventType"), h.get("note")) for h in item["histories"]] == [
        ("statusChange", "Pending -> Shipped"),
        (None, "new"),
    ]
    assert all(h["receivedAt"] for h in item["histories"])
    assert [e["code"] for e in item["errors"]] == ["E1"] and item["errors"][0]["receivedAt"]
    assert order["orderItems"][1] == {
        "mcId": second,
        "status": "Pending",
        "histories": [],
        "errors": [],
    }


def test_reads_show_the_latest_entries_and_how_many_there_are(
    vendor: Client, platform: Client, old_order: Placed
) -> None:
    mc = old_order.mc_order_id
    detail = platform.request("GET", f"/orders/{mc}").json()
    (listed,) = vendor.get_status(mcOrderId=mc).json()["orders"]
    for order in (detail, listed):
        first, second = order["orderItems"]
        shown = [h["note"] for h in first["histories"]]
        assert shown == [f"n{k}" for k in range(NOTES - limits.HISTORY_SHOWN_PER_ITEM, NOTES)]
        assert first["historyCount"] == NOTES and first["errorCount"] == 0
        assert [h["note"] for h in second["histories"]] == ["only"]
        assert second["historyCount"] == 1


def test_history_pages_hold_every_entry_once_in_the_order_received(
    vendor: Client, platform: Client, old_order: Placed
) -> None:
    mc, (first, second) = old_order.mc_order_id, old_order.item_ids
    pages, after = [], None
    while True:
        params: dict[str, Any] = {"limit": 1000} | ({"after": after} if after else {})
        page = platform.request("GET", f"/orders/{mc}/history", params=params).json()
        pages.append(page)
        assert page["mcOrderId"] == mc and len(page["histories"]) <= 1000
        after = page["nextCursor"]
        if after is None:
            break
    assert [len(p["histories"]) for p in pages] == [1000, 1000, 501]
    entries = [h for p in pages for h in p["histories"]]
    assert [h["note"] for h in entries if h["mcId"] == first] == [f"n{k}" for k in range(NOTES)]
    assert [h["note"] for h in entries if h["mcId"] == second] == ["only"]
    assert all(h["eventType"] == "note" and h["receivedAt"] for h in entries)
    # The vendor reads its own order the same way; no page is shown twice.
    assert vendor.history(mc, limit=333) == platform.history(mc, limit=1000)


def test_history_pages_are_refused_to_others_and_for_bad_cursors(
    vendor: Client, make_vendor: Callable[..., Client], platform: Client, old_order: Placed
) -> None:
    mc = old_order.mc_order_id
    other = make_vendor()
    response = other.request("GET", f"/vendors/{other.vendor_id}/orders/{mc}/history")
    assert response.status_code == 404
    assert errors_of(response)[0]["ReasonCode"] == "ORDER_NOT_FOUND"
    assert vendor.request("GET", f"/orders/{mc}/history").status_code == 401  # platform only
    for bad in ("x", "1", "1.", "-1.2", "1.2.3"):
        response = platform.request("GET", f"/orders/{mc}/history", params={"after": bad})
        assert response.status_code == 400, bad
        assert errors_of(response)[0]["ReasonCode"] == "INVALID_FIELD_VALUE_AFTER"
    response = platform.request("GET", f"/orders/{mc}/history", params={"limit": 1001})
    assert response.status_code == 400
    assert platform.request("GET", "/orders/missing/history").status_code == 404


def test_no_read_passes_the_answer_limit_whatever_the_items_hold(
    store: Store, vendor: Client, platform: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=limits.MAX_ITEMS_PER_ORDER)
    long = "x" * limits.MAX_NOTE_LENGTH
    for mc_id in placed.item_ids:
        notes = [f"{k}{long}"[: limits.MAX_NOTE_LENGTH] for k in range(20)]
        add_notes(store, vendor.vendor_id, placed.mc_order_id, mc_id, notes)
    # 100 items x 20 entries x 4,000 characters: 8 MB of recent entries, shown fewer.
    detail = platform.request("GET", f"/orders/{placed.mc_order_id}")
    assert detail.status_code == 200
    assert len(detail.content) <= limits.MAX_ANSWER_BYTES
    items = detail.json()["orderItems"]
    assert all(i["historyCount"] == 20 for i in items)
    assert 0 < len(items[0]["histories"]) < 20
    listed = vendor.get_status(mcOrderId=placed.mc_order_id)
    assert len(listed.content) <= limits.MAX_ANSWER_BYTES
    page = platform.request("GET", f"/orders/{placed.mc_order_id}/history", params={"limit": 1000})
    assert len(page.content) <= limits.MAX_ANSWER_BYTES
    body = page.json()
    assert 0 < len(body["histories"]) < 1000 and body["nextCursor"]  # ended early
    assert sum(len(p) for p in platform.history(placed.mc_order_id).values()) == 100 * 20


def test_an_update_whose_answer_would_be_too_large_is_refused_and_applies_nothing(
    store: Store, vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = [place(vendor.vendor_id, items=limits.MAX_ITEMS_PER_ORDER) for _ in range(3)]
    long = "x" * limits.MAX_NOTE_LENGTH
    batch = [
        {
            "mcOrderId": p.mc_order_id,
            "orderItems": [
                {"mcId": i, "histories": [{"note": f"{k}{long}"} for k in range(2)]}
                for i in p.item_ids
            ],
        }
        for p in placed
    ]
    for order in batch:  # each order is in the note limit
        for line in order["orderItems"]:
            for h in line["histories"]:
                h["note"] = h["note"][: limits.MAX_NOTE_LENGTH]
    updates, faults = parse_updates(batch)
    assert not faults
    with pytest.raises(RequestTooLarge):
        asyncio.run(
            usecases.update_status(store, vendor.vendor_id, updates, now(), render.outcomes)
        )
    for p in placed:
        record = usecases.read_order(store, p.mc_order_id)
        assert record.state.revision == 1 and not any(record.history_counts.values())
