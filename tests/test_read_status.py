"""GET /vendors/{vendor_id}/orders/status: a vendor reads back what the service holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from conftest import Client, Placed, errors_of
from tfs import limits


def test_filters_by_mc_order_id_and_order_id_repeatable(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    a, b = place(vendor.vendor_id, order_id="ext-a"), place(vendor.vendor_id, order_id="ext-b")
    place(vendor.vendor_id)
    page = vendor.get_status(mcOrderId=[a.mc_order_id, b.mc_order_id]).json()
    assert {o["mcOrderId"] for o in page["orders"]} == {a.mc_order_id, b.mc_order_id}
    page = vendor.get_status(orderId=["ext-b"]).json()
    assert [o["mcOrderId"] for o in page["orders"]] == [b.mc_order_id]


def test_filters_by_status_in_any_spelling(vendor: Client, place: Callable[..., Placed]) -> None:
    shipped, _pending = place(vendor.vendor_id), place(vendor.vendor_id)
    vendor.post_status([{"mcOrderId": shipped.mc_order_id, "status": "Shipped"}])
    page = vendor.get_status(status="SHIPPED").json()
    assert [o["mcOrderId"] for o in page["orders"]] == [shipped.mc_order_id]
    assert page["orders"][0]["status"] == "Shipped"


def test_filters_by_updated_since(vendor: Client, place: Callable[..., Placed]) -> None:
    old = place(vendor.vendor_id)
    time.sleep(0.01)
    since = datetime.now(UTC)
    time.sleep(0.01)
    fresh = place(vendor.vendor_id)
    vendor.post_status([{"mcOrderId": old.mc_order_id, "status": "Processing"}])
    found = vendor.get_status(updatedSince=since.isoformat()).json()["orders"]
    assert {o["mcOrderId"] for o in found} == {old.mc_order_id, fresh.mc_order_id}


def test_cursor_pages_through_every_order_once(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = {place(vendor.vendor_id, items=1).mc_order_id for _ in range(7)}
    seen: list[str] = []
    params: dict[str, object] = {"limit": 3}
    pages = 0
    while True:
        page = vendor.get_status(**params).json()
        pages += 1
        seen += [o["mcOrderId"] for o in page["orders"]]
        if page["nextCursor"] is None:
            break
        params["cursor"] = page["nextCursor"]
    assert pages == 3
    assert sorted(seen) == sorted(placed) and len(seen) == len(set(seen))


def test_answers_only_this_vendors_orders(
    make_vendor: Callable[..., Client], place: Callable[..., Placed]
) -> None:
    mine, theirs = make_vendor(), make_vendor()
    place(theirs.vendor_id)
    assert mine.get_status().json() == {"orders": [], "nextCursor": None}


def test_another_vendor_cannot_read(make_vendor: Callable[..., Client]) -> None:
    mine, theirs = make_vendor(), make_vendor()
    response = mine.request("GET", f"/vendors/{theirs.vendor_id}/orders/status")
    assert response.status_code == 401
    assert errors_of(response)[0]["ReasonCode"] == "INVALID_CLIENT_ID"


def test_platform_may_read_a_vendors_orders(
    vendor: Client, platform: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id)
    response = platform.request("GET", f"/vendors/{vendor.vendor_id}/orders/status")
    assert [o["mcOrderId"] for o in response.json()["orders"]] == [placed.mc_order_id]


def test_bad_parameters_are_400_naming_the_parameter(vendor: Client) -> None:
    for params, code in (
        ({"limit": "0"}, "INVALID_FIELD_VALUE_LIMIT"),
        ({"limit": "1001"}, "INVALID_FIELD_VALUE_LIMIT"),
        ({"limit": "ten"}, "INVALID_FIELD_VALUE_LIMIT"),
        ({"status": "Teleported"}, "INVALID_FIELD_VALUE_STATUS"),
        ({"updatedSince": "yesterday"}, "INVALID_FIELD_VALUE_UPDATEDSINCE"),
        ({"cursor": "!!!"}, "INVALID_FIELD_VALUE_CURSOR"),
    ):
        response = vendor.get_status(**params)
        assert response.status_code == 400, params
        assert errors_of(response)[0]["ReasonCode"] == code


def test_status_filter_walks_a_bounded_number_of_orders_per_page(
    vendor: Client, place: Callable[..., Placed], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No index by status (docs/storage.md): a page looks at STATUS_SCAN_ORDERS orders at most,
    # and its cursor goes on from the last one it looked at, even when it found none.
    monkeypatch.setattr(limits, "STATUS_SCAN_ORDERS", 3)
    placed = [place(vendor.vendor_id, items=1) for _ in range(7)]
    shipped = [placed[1].mc_order_id, placed[5].mc_order_id]
    vendor.post_status([{"mcOrderId": m, "status": "Shipped"} for m in shipped])
    pages: list[list[str]] = []
    params: dict[str, object] = {"status": "Shipped", "limit": 10}
    while True:
        page = vendor.get_status(**params).json()
        pages.append([o["mcOrderId"] for o in page["orders"]])
        assert all(o["status"] == "Shipped" for o in page["orders"])
        if page["nextCursor"] is None:
            break
        params["cursor"] = page["nextCursor"]
    # Five pending orders, then the two shipped (moved last by their update, which gave both
    # the same updated_at: then by mcOrderId): three orders looked at a page.
    first, second = sorted(shipped)
    assert pages == [[], [first], [second]]
