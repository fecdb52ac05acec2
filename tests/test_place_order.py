"""POST /orders and GET /orders/{mcOrderId}: the platform places and reads orders, one at a time
or in batches (an array, one transaction)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from conftest import Client, errors_of, now
from tfs.db.store import Store
from tfs.orders import usecases
from tfs.orders.placement import parse_placements


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


# --- a batch: POST /orders with an array ------------------------------------------------------


def placement_events(platform: Client, mc_order_id: str) -> list[dict[str, Any]]:
    response = platform.request("GET", "/events", params={"mcOrderId": mc_order_id})
    assert response.status_code == 200, response.text
    return list(response.json()["events"])


def place_batch(platform: Client, batch: list[Any]) -> list[dict[str, Any]]:
    response = platform.request("POST", "/orders", body=batch)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()
    assert len(results) == len(batch)
    return results


def test_a_batch_answers_each_order_in_request_order(platform: Client, vendor: Client) -> None:
    stored = placement(vendor.vendor_id)
    platform.request("POST", "/orders", body=stored)
    conflicting = {**stored, "items": [{"mcId": "other"}]}
    new = [placement(vendor.vendor_id) for _ in range(3)]
    invalid = {"mcOrderId": str(uuid.uuid4()), "vendorId": vendor.vendor_id, "items": []}
    nowhere = placement("no-such-vendor")
    batch = [new[0], stored, new[1], conflicting, invalid, nowhere, new[2]]
    results = place_batch(platform, batch)
    assert [r["mcOrderId"] for r in results] == [o["mcOrderId"] for o in batch]
    assert [r["result"] for r in results] == [
        "placed",
        "alreadyPlaced",
        "placed",
        "FAILED",
        "FAILED",
        "FAILED",
        "placed",
    ]
    assert (results[3]["errorCode"], results[3]["description"]) == (
        "ORDER_ALREADY_EXISTS",
        "A different order with this mcOrderId already exists.",
    )
    assert results[4]["errorCode"] == "MISSING_REQUIRED_FIELD_ITEMS"
    assert results[4]["description"] == "items must hold at least one item."
    assert results[5]["errorCode"] == "INVALID_FIELD_VALUE_VENDOR_ID"
    for failed in results[3:6]:
        assert set(failed) == {"mcOrderId", "result", "errorCode", "description"}


def test_a_placed_or_repeated_result_is_the_order_as_the_single_answer_gives_it(
    platform: Client, vendor: Client
) -> None:
    first, second = placement(vendor.vendor_id), placement(vendor.vendor_id)
    single = platform.request("POST", "/orders", body=first).json()
    placed, repeated = place_batch(platform, [second, first])
    read = platform.request("GET", f"/orders/{second['mcOrderId']}").json()
    assert placed == {"mcOrderId": second["mcOrderId"], "result": "placed", **read}
    assert repeated == {"mcOrderId": first["mcOrderId"], "result": "alreadyPlaced", **single}
    assert read["status"] == "Pending" and read["revision"] == 1


def test_repeats_within_a_batch_the_first_wins(platform: Client, vendor: Client) -> None:
    order = placement(vendor.vendor_id)
    different = {**order, "orderId": "ext-2"}
    results = place_batch(platform, [order, order, different, order])
    assert [r["result"] for r in results] == ["placed", "alreadyPlaced", "FAILED", "alreadyPlaced"]
    assert results[2]["errorCode"] == "ORDER_ALREADY_EXISTS"
    stored = platform.request("GET", f"/orders/{order['mcOrderId']}").json()
    assert stored["orderId"] == "ext-1"


def test_an_order_refused_earlier_in_the_batch_may_be_placed_later(
    platform: Client, vendor: Client
) -> None:
    elsewhere = placement("no-such-vendor")
    here = {**elsewhere, "vendorId": vendor.vendor_id}
    results = place_batch(platform, [elsewhere, here])
    assert [r["result"] for r in results] == ["FAILED", "placed"]
    assert results[0]["errorCode"] == "INVALID_FIELD_VALUE_VENDOR_ID"


def test_each_new_order_is_announced_once(platform: Client, vendor: Client) -> None:
    stored = placement(vendor.vendor_id)
    platform.request("POST", "/orders", body=stored)
    new = [placement(vendor.vendor_id) for _ in range(3)]
    place_batch(platform, [new[0], stored, new[1], new[0], new[2]])
    place_batch(platform, new)  # all repeats: no events
    for order in [stored, *new]:
        events = placement_events(platform, order["mcOrderId"])
        assert [(e["type"], e["revision"]) for e in events] == [("order.placed", 1)]
        assert events[0]["data"]["order"]["mcOrderId"] == order["mcOrderId"]
        assert events[0]["data"]["changes"] == []


def test_elements_that_are_not_orders_fail_alone(platform: Client, vendor: Client) -> None:
    order = placement(vendor.vendor_id)
    results = place_batch(platform, ["nope", {"mcOrderId": 7}, order])
    assert [r["result"] for r in results] == ["FAILED", "FAILED", "placed"]
    assert "mcOrderId" not in results[0] and "mcOrderId" not in results[1]
    assert results[0]["errorCode"] == "INVALID_REQUEST_BODY_ORDER"


def test_an_empty_batch_places_nothing(platform: Client) -> None:
    assert place_batch(platform, []) == []


def test_more_orders_than_the_limit_is_413(platform: Client, vendor: Client) -> None:
    batch = [placement(vendor.vendor_id) for _ in range(501)]
    response = platform.request("POST", "/orders", body=batch)
    assert response.status_code == 413
    assert errors_of(response)[0]["ReasonCode"] == "REQUEST_TOO_LARGE"
    assert platform.request("GET", f"/orders/{batch[0]['mcOrderId']}").status_code == 404


def test_a_batch_at_the_limit_is_placed(platform: Client, vendor: Client) -> None:
    batch = [placement(vendor.vendor_id) for _ in range(500)]
    results = place_batch(platform, batch)
    assert {r["result"] for r in results} == {"placed"}


def test_a_vendor_may_not_place_orders(vendor: Client) -> None:
    response = vendor.request("POST", "/orders", body=[placement(vendor.vendor_id)])
    assert response.status_code == 401
    assert errors_of(response)[0]["ReasonCode"] == "INVALID_CLIENT_ID"


def test_concurrent_batches_of_the_same_orders_place_each_once(
    store: Store, platform: Client, vendor: Client
) -> None:
    batch = [placement(vendor.vendor_id) for _ in range(200)]
    entries = parse_placements(batch)
    outcomes: list[list[usecases.PlacementOutcome]] = []
    start = threading.Barrier(4)

    def place() -> None:
        start.wait()
        outcomes.append(usecases.place_orders(store, entries, now()))

    threads = [threading.Thread(target=place) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 4
    for n, order in enumerate(batch):
        results = sorted(o[n].result for o in outcomes)
        assert results == ["alreadyPlaced"] * 3 + ["placed"], order["mcOrderId"]
    for order in batch[:5]:
        assert len(placement_events(platform, order["mcOrderId"])) == 1
