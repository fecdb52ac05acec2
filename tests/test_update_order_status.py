"""POST /vendors/{vendor_id}/orders/status: the seed use case, through HTTP, signed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conftest import Client, Placed, errors_of


def item(placed: Placed, n: int = 0, **fields: Any) -> dict[str, Any]:
    return {"mcId": placed.item_ids[n], **fields}


def test_applied_order_comes_back_as_stored(vendor: Client, place: Callable[..., Placed]) -> None:
    placed = place(vendor.vendor_id, order_id="ext-1")
    update = {
        "orderId": "ext-1",
        "mcOrderId": placed.mc_order_id,
        "orderItems": [
            item(
                placed,
                0,
                id="line-1",
                status="Shipped",
                trackingNumber="T1",
                trackingUrl="https://track.example/T1",
                errors=[
                    {"fieldName": "address1", "code": "GRS_1001", "message": "address1 is required"}
                ],
                histories=[
                    {
                        "orderItemNumber": "line-1",
                        "eventType": "note",
                        "eventDate": "2023-10-03T21:05:10Z",
                        "note": "created",
                    }
                ],
            ),
        ],
    }
    response = vendor.post_status([update])
    assert response.status_code == 200
    (order,) = response.json()
    assert order["mcOrderId"] == placed.mc_order_id and order["orderId"] == "ext-1"
    first, second = order["orderItems"]
    assert first["status"] == "Shipped" and second["status"] == "Pending"
    assert first["id"] == "line-1"
    assert first["trackingNumber"] == "T1" and first["trackingUrl"] == "https://track.example/T1"
    assert first["errors"][0]["code"] == "GRS_1001" and "receivedAt" in first["errors"][0]
    notes = [h for h in first["histories"] if h["eventType"] == "note"]
    assert notes == [
        {
            "orderItemNumber": "line-1",
            "eventType": "note",
            "eventDate": "2023-10-03T21:05:10Z",
            "note": "created",
            "receivedAt": notes[0]["receivedAt"],
        }
    ]
    assert any(h["eventType"] == "statusChange" for h in first["histories"])
    assert order["status"] == "Pending"  # mixed items leave the order where it was
    assert "errorCode" not in order


def test_order_follows_its_items_when_they_all_agree(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id)
    body = [
        {
            "mcOrderId": placed.mc_order_id,
            "orderItems": [item(placed, 0, status="Shipped"), item(placed, 1, status="shipped")],
        }
    ]
    (order,) = vendor.post_status(body).json()
    assert order["status"] == "Shipped"


def test_order_status_without_items_moves_every_item_not_final(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=3)
    vendor.post_status(
        [{"mcOrderId": placed.mc_order_id, "orderItems": [item(placed, 0, status="Rejected")]}]
    )
    (order,) = vendor.post_status([{"mcOrderId": placed.mc_order_id, "status": "Canceled"}]).json()
    assert order["status"] == "Cancelled"
    assert [i["status"] for i in order["orderItems"]] == ["Rejected", "Cancelled", "Cancelled"]


def test_unknown_order_fails_with_1001_in_mastercards_words(vendor: Client) -> None:
    response = vendor.post_status(
        [
            {
                "orderId": "656afd7-2396-54345-34545",
                "mcOrderId": "afd72396-b9c0-11ed-afa1-0242ac120002",
                "status": "Shipped",
            }
        ]
    )
    assert response.status_code == 200
    assert response.json() == [
        {
            "orderId": "656afd7-2396-54345-34545",
            "mcOrderId": "afd72396-b9c0-11ed-afa1-0242ac120002",
            "status": "FAILED",
            "errorCode": 1001,
            "description": "[Combination of ExternalOrderId: (656afd7-2396-54345-34545) and "
            "OrderId: (afd72396-b9c0-11ed-afa1-0242ac120002) invalid.]",
        }
    ]


def test_another_vendors_order_is_unknown_to_this_vendor(
    make_vendor: Callable[..., Client], place: Callable[..., Placed]
) -> None:
    owner, other = make_vendor(), make_vendor()
    placed = place(owner.vendor_id)
    (result,) = other.post_status([{"mcOrderId": placed.mc_order_id, "status": "Shipped"}]).json()
    assert result["errorCode"] == 1001


def test_order_id_is_bound_on_first_sight_and_must_match_after(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id)
    (first,) = vendor.post_status([{"mcOrderId": placed.mc_order_id, "orderId": "A"}]).json()
    assert first["orderId"] == "A"
    (second,) = vendor.post_status(
        [{"mcOrderId": placed.mc_order_id, "orderId": "B", "status": "Shipped"}]
    ).json()
    assert second["errorCode"] == 1001 and second["status"] == "FAILED"


def test_unknown_item_fails_with_1002_and_changes_nothing(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id)
    body = [
        {
            "mcOrderId": placed.mc_order_id,
            "orderItems": [
                item(placed, 0, status="Shipped"),
                {"mcId": "nope", "status": "Shipped"},
            ],
        }
    ]
    (result,) = vendor.post_status(body).json()
    assert result["errorCode"] == 1002 and "nope" in result["description"]
    (state,) = vendor.get_status(mcOrderId=placed.mc_order_id).json()["orders"]
    assert [i["status"] for i in state["orderItems"]] == ["Pending", "Pending"]


def test_item_vendor_id_is_bound_and_checked(vendor: Client, place: Callable[..., Placed]) -> None:
    placed = place(vendor.vendor_id)
    vendor.post_status([{"mcOrderId": placed.mc_order_id, "orderItems": [item(placed, 0, id="x")]}])
    (result,) = vendor.post_status(
        [{"mcOrderId": placed.mc_order_id, "orderItems": [item(placed, 0, id="y")]}]
    ).json()
    assert result["errorCode"] == 1002


def test_unknown_status_fails_with_1003(vendor: Client, place: Callable[..., Placed]) -> None:
    placed = place(vendor.vendor_id)
    (result,) = vendor.post_status(
        [{"mcOrderId": placed.mc_order_id, "status": "Teleported"}]
    ).json()
    assert result["errorCode"] == 1003 and "Teleported" in result["description"]


def test_step_backwards_fails_with_1004_naming_the_transition(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=1)
    vendor.post_status([{"mcOrderId": placed.mc_order_id, "status": "Delivered"}])
    (result,) = vendor.post_status([{"mcOrderId": placed.mc_order_id, "status": "Shipped"}]).json()
    assert result["errorCode"] == 1004
    assert "Delivered" in result["description"] and "Shipped" in result["description"]


def test_terminal_state_stays_terminal(vendor: Client, place: Callable[..., Placed]) -> None:
    placed = place(vendor.vendor_id, items=1)
    vendor.post_status([{"mcOrderId": placed.mc_order_id, "status": "Cancelled"}])
    for target in ("Processing", "Shipped", "Delivered", "Returned"):
        (result,) = vendor.post_status([{"mcOrderId": placed.mc_order_id, "status": target}]).json()
        assert result["errorCode"] == 1004, target


def test_repeated_mc_order_id_fails_with_1005_after_the_first_is_applied(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=1)
    first, repeat = vendor.post_status(
        [
            {"mcOrderId": placed.mc_order_id, "status": "Processing"},
            {"mcOrderId": placed.mc_order_id, "status": "Shipped"},
        ]
    ).json()
    assert first["status"] == "Processing"
    assert repeat["status"] == "FAILED" and repeat["errorCode"] == 1005


def test_failed_order_does_not_stop_the_others_and_answers_in_request_order(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    a, b = place(vendor.vendor_id), place(vendor.vendor_id)
    results = vendor.post_status(
        [
            {"mcOrderId": a.mc_order_id, "status": "Shipped"},
            {"mcOrderId": "missing", "status": "Shipped"},
            {"mcOrderId": b.mc_order_id, "status": "Processing"},
        ]
    ).json()
    assert [r["mcOrderId"] for r in results] == [a.mc_order_id, "missing", b.mc_order_id]
    assert [r["status"] for r in results] == ["Shipped", "FAILED", "Processing"]


def test_same_request_twice_changes_nothing_the_second_time(
    vendor: Client, place: Callable[..., Placed], platform: Client
) -> None:
    placed = place(vendor.vendor_id)
    body = [
        {
            "mcOrderId": placed.mc_order_id,
            "orderItems": [
                item(
                    placed,
                    0,
                    status="Shipped",
                    trackingNumber="T9",
                    histories=[
                        {"eventType": "note", "note": "out", "eventDate": "2024-01-01T00:00:00Z"}
                    ],
                    errors=[{"code": "E1", "message": "m"}],
                )
            ],
        }
    ]
    first = vendor.post_status(body).json()
    revision = platform.request("GET", f"/orders/{placed.mc_order_id}").json()["revision"]
    second = vendor.post_status(body).json()
    # The same state; and since this request added nothing, its answer lists nothing added.
    added = [i for i in first[0]["orderItems"] if i["histories"] or i["errors"]]
    assert len(added) == 1 and added[0]["errors"] and len(added[0]["histories"]) == 3
    assert second == [
        first[0]
        | {"orderItems": [i | {"histories": [], "errors": []} for i in first[0]["orderItems"]]}
    ]
    after = platform.request("GET", f"/orders/{placed.mc_order_id}").json()
    assert after["revision"] == revision
    assert [(i["historyCount"], i["errorCount"]) for i in after["orderItems"]] == [(3, 1), (0, 0)]


def test_every_tracking_number_stays_in_the_history(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=1)
    for number in ("T1", "T2"):
        vendor.post_status(
            [
                {
                    "mcOrderId": placed.mc_order_id,
                    "orderItems": [item(placed, 0, trackingNumber=number)],
                }
            ]
        )
    (order,) = vendor.get_status(mcOrderId=placed.mc_order_id).json()["orders"]
    (line,) = order["orderItems"]
    assert line["trackingNumber"] == "T2"
    notes = [h["note"] for h in line["histories"] if h["eventType"] == "trackingUpdate"]
    assert len(notes) == 2 and "T1" in notes[0] and "T2" in notes[1]


def test_identical_history_events_are_kept_once(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id, items=1)
    event = {"eventType": "note", "eventDate": "2024-01-01T00:00:00Z", "note": "hello"}
    body = [
        {"mcOrderId": placed.mc_order_id, "orderItems": [item(placed, 0, histories=[event, event])]}
    ]
    (first,) = vendor.post_status(body).json()
    assert [h["note"] for h in first["orderItems"][0]["histories"]] == ["hello"]
    (again,) = vendor.post_status(body).json()
    assert again["orderItems"][0]["histories"] == []  # nothing new: nothing added
    assert [h["note"] for h in vendor.history(placed.mc_order_id)[placed.item_ids[0]]] == ["hello"]


def test_missing_mc_order_id_is_400_with_mastercards_reason_code(vendor: Client) -> None:
    response = vendor.post_status([{"status": "Shipped"}])
    assert response.status_code == 400
    assert errors_of(response) == [
        {
            "Source": "rewards-order-management",
            "ReasonCode": "MISSING_REQUIRED_FIELD_VENDORS_UPDATE_ORDER_REQUEST_LIST[0].MC_ORDER_ID",
            "Description": "McOrderId is blank or null.",
            "Recoverable": False,
        }
    ]


def test_every_structural_fault_is_listed_and_nothing_applies(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id)
    body = [
        {"mcOrderId": placed.mc_order_id, "status": "Shipped"},
        {"mcOrderId": " ", "orderItems": [{"status": "Shipped"}, {"mcId": 7}]},
        {
            "mcOrderId": "x" * 65,
            "orderItems": [
                {"mcId": "a", "trackingUrl": "ftp://x", "histories": [{"eventDate": "yesterday"}]}
            ],
        },
    ]
    response = vendor.post_status(body)
    assert response.status_code == 400
    codes = [e["ReasonCode"] for e in errors_of(response)]
    prefix = "VENDORS_UPDATE_ORDER_REQUEST_LIST"
    assert codes == [
        f"MISSING_REQUIRED_FIELD_{prefix}[1].MC_ORDER_ID",
        f"MISSING_REQUIRED_FIELD_{prefix}[1].ORDER_ITEMS[0].MC_ID",
        f"INVALID_FIELD_VALUE_{prefix}[1].ORDER_ITEMS[1].MC_ID",
        f"INVALID_FIELD_VALUE_{prefix}[2].MC_ORDER_ID",
        f"INVALID_FIELD_VALUE_{prefix}[2].ORDER_ITEMS[0].TRACKING_URL",
        f"INVALID_FIELD_VALUE_{prefix}[2].ORDER_ITEMS[0].HISTORIES[0].EVENT_DATE",
    ]
    (state,) = vendor.get_status(mcOrderId=placed.mc_order_id).json()["orders"]
    assert state["status"] == "Pending"


def test_control_characters_in_identifiers_are_refused(vendor: Client) -> None:
    response = vendor.post_status([{"mcOrderId": "abc\u0000def"}])
    assert response.status_code == 400
    assert errors_of(response)[0]["ReasonCode"].startswith("INVALID_FIELD_VALUE_")


def test_placing_and_updating_agree_on_which_identifiers_are_valid(
    vendor: Client, platform: Client
) -> None:
    """One rule for identifier text: what placement refuses, updates refuse, and the other way
    round (an order once placed with DEL in its id could never be updated)."""
    for odd in ("\x7f", "\x85", "\u200b", "\x01"):
        mc = f"odd{odd}id"
        placed = platform.request(
            "POST",
            "/orders",
            body={"mcOrderId": mc, "vendorId": vendor.vendor_id, "items": [{"mcId": "i"}]},
        )
        assert placed.status_code == 400, repr(odd)
        updated = vendor.post_status([{"mcOrderId": mc, "status": "Shipped"}])
        assert updated.status_code == 400, repr(odd)
    fine = "ok-id é"
    placed = platform.request(
        "POST",
        "/orders",
        body={"mcOrderId": fine, "vendorId": vendor.vendor_id, "items": [{"mcId": "i"}]},
    )
    assert placed.status_code == 201, placed.text
    (answer,) = vendor.post_status([{"mcOrderId": fine, "status": "Shipped"}]).json()
    assert answer["status"] == "Shipped"


def test_body_that_is_not_an_array_of_objects_is_invalid_request_body(vendor: Client) -> None:
    for raw in (b"{}", b"[1, 2]", b"not json", b""):
        response = vendor.post_status(None, raw=raw)
        assert response.status_code == 400, raw
        assert errors_of(response)[0]["ReasonCode"] == "INVALID_REQUEST_BODY"


def test_non_json_content_type_is_415(vendor: Client) -> None:
    response = vendor.post_status([], headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert errors_of(response)[0]["ReasonCode"] == "UNSUPPORTED_MEDIA_TYPE"


def test_too_many_orders_is_413(vendor: Client) -> None:
    response = vendor.post_status([{"mcOrderId": f"o{i}"} for i in range(501)])
    assert response.status_code == 413
    assert errors_of(response)[0]["ReasonCode"] == "REQUEST_TOO_LARGE"


def test_too_many_bytes_is_413_before_anything_else(vendor: Client) -> None:
    response = vendor.post_status(None, raw=b"[" + b" " * (2 * 1024 * 1024) + b"]")
    assert response.status_code == 413
    assert errors_of(response)[0]["ReasonCode"] == "REQUEST_TOO_LARGE"


def test_status_aliases_are_understood(vendor: Client, place: Callable[..., Placed]) -> None:
    placed = place(vendor.vendor_id, items=1)
    for raw, stored in (
        ("IN_PROGRESS", "Processing"),
        ("in transit", "Shipped"),
        ("Completed", "Delivered"),
    ):
        (order,) = vendor.post_status([{"mcOrderId": placed.mc_order_id, "status": raw}]).json()
        assert order["status"] == stored, raw
