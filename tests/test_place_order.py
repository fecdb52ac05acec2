"""POST /orders and GET /orders/{mcOrderId}: the platform places and reads orders."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from conftest import Client, errors_of


def placement(vendor_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "mcOrderId": str(uuid.uuid4()),
        "vendorId": vendor_id,
        "orderId": "ext-1",
        "programId": 49631,
        "items": [
            {
                "mcId": "i1",
                "id": "line-1",
                "rewardItemId": "74568",
                "description": "Gift card",
                "quantity": 2,
            },
            {"mcId": "i2"},
        ],
        **extra,
    }


def test_new_order_is_201_pending_and_readable(platform: Client, vendor: Client) -> None:
    body = placement(vendor.vendor_id)
    created = platform.request("POST", "/orders", body=body)
    assert created.status_code == 201
    order = created.json()
    assert order["status"] == "Pending" and order["revision"] == 1
    assert order["vendorId"] == vendor.vendor_id and order["programId"] == "49631"
    assert [i["mcId"] for i in order["orderItems"]] == ["i1", "i2"]
    first = order["orderItems"][0]
    assert (first["rewardItemId"], first["description"], first["quantity"]) == (
        "74568",
        "Gift card",
        2,
    )
    assert order["orderItems"][1]["quantity"] == 1
    read = platform.request("GET", f"/orders/{body['mcOrderId']}")
    assert read.status_code == 200 and read.json() == order


def test_identical_repeat_is_200_with_the_same_order(platform: Client, vendor: Client) -> None:
    body = placement(vendor.vendor_id)
    first = platform.request("POST", "/orders", body=body).json()
    again = platform.request("POST", "/orders", body=body)
    assert again.status_code == 200 and again.json() == first


def test_different_order_under_an_existing_id_is_409(platform: Client, vendor: Client) -> None:
    body = placement(vendor.vendor_id)
    platform.request("POST", "/orders", body=body)
    body["items"] = [{"mcId": "other"}]
    response = platform.request("POST", "/orders", body=body)
    assert response.status_code == 409
    assert errors_of(response)[0]["ReasonCode"] == "ORDER_ALREADY_EXISTS"


def test_unknown_vendor_is_refused(platform: Client) -> None:
    response = platform.request("POST", "/orders", body=placement("no-such-vendor"))
    assert response.status_code == 400
    assert errors_of(response)[0]["ReasonCode"] == "INVALID_FIELD_VALUE_VENDOR_ID"


def test_missing_fields_are_listed(platform: Client) -> None:
    response = platform.request("POST", "/orders", body={"items": [{"quantity": 0}]})
    assert response.status_code == 400
    codes = {e["ReasonCode"] for e in errors_of(response)}
    assert codes == {
        "MISSING_REQUIRED_FIELD_MC_ORDER_ID",
        "MISSING_REQUIRED_FIELD_VENDOR_ID",
        "MISSING_REQUIRED_FIELD_ITEMS[0].MC_ID",
        "INVALID_FIELD_VALUE_ITEMS[0].QUANTITY",
    }


def test_unknown_order_is_404(platform: Client) -> None:
    response = platform.request("GET", "/orders/nope")
    assert response.status_code == 404
    assert errors_of(response)[0]["ReasonCode"] == "ORDER_NOT_FOUND"


def test_order_read_shows_full_history_after_vendor_updates(
    platform: Client, make_vendor: Callable[..., Client]
) -> None:
    vendor = make_vendor()
    body = placement(vendor.vendor_id)
    platform.request("POST", "/orders", body=body)
    vendor.post_status([{"mcOrderId": body["mcOrderId"], "status": "Processing"}])
    vendor.post_status([{"mcOrderId": body["mcOrderId"], "status": "Shipped"}])
    order = platform.request("GET", f"/orders/{body['mcOrderId']}").json()
    assert order["status"] == "Shipped" and order["revision"] == 3
    notes = [h["note"] for h in order["orderItems"][0]["histories"]]
    assert notes == ["Pending -> Processing", "Processing -> Shipped"]
