"""The contract: the OpenAPI 3.0.3 document at /openapi.json and a readable page of it at /docs.

The document is Python data built from the constants the code enforces (limits, statuses,
result codes, error classes, settings), so that it cannot drift from them unseen;
tests/test_openapi.py checks that the live service answers as it says. Schema and field names
are Mastercard's (Traditional Fulfillment Service 1.0.4) wherever Mastercard has one.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tfs import __version__, fields, limits
from tfs import errors as e
from tfs.catalog import document as catalog_document
from tfs.catalog import routes as catalog_routes
from tfs.catalog import usecases as catalog_usecases
from tfs.config import Settings
from tfs.db import outbox as events
from tfs.orders import render, usecases
from tfs.orders import rules as o
from tfs.orders.statuses import ALIASES, FINAL, TRANSITIONS, Status, spelling_pattern
from tfs.orders.updates import DATE_TIME_PATTERN, TRACKING_URL_PATTERN

Obj = dict[str, Any]
JSON = "application/json"
SECURITY = "MastercardOAuth1"
SOURCE = e.ORDER_MANAGEMENT
MAX_FILTER_VALUES = limits.MAX_FILTER_VALUES
MAX_EVENT_DATE_LENGTH = limits.MAX_EVENT_DATE_LENGTH
MAX_IDEMPOTENCY_KEY_LENGTH = limits.MAX_IDEMPOTENCY_KEY_LENGTH
MAX_CORRELATION_ID_LENGTH = limits.MAX_CORRELATION_ID_LENGTH

# --- small builders ---------------------------------------------------------------------------


def _ref(kind: str, name: str) -> Obj:
    return {"$ref": f"#/components/{kind}/{name}"}


def _schema(name: str) -> Obj:
    return _ref("schemas", name)


def _text(description: str, max_len: int | None = None, example: Any = None, **extra: Any) -> Obj:
    out: Obj = {"type": "string", "description": description}
    if max_len is not None:
        out["maxLength"] = max_len
    if example is not None:
        out["example"] = example
    return out | extra


def _ident(description: str, example: Any = None, max_len: int = limits.MAX_ID_LENGTH) -> Obj:
    """An identifier: 1 to max_len characters, not blank, none of them refused (tfs.fields)."""
    return _text(description, max_len, example, minLength=1, pattern=fields.PATTERN)


def _optional_id(description: str, example: Any = None, max_len: int = limits.MAX_ID_LENGTH) -> Obj:
    """An identifier that may be left out: blank is taken as left out."""
    return _text(description, max_len, example, pattern=fields.TEXT_PATTERN, nullable=True)


def _free_text(description: str, max_len: int, example: Any = None) -> Obj:
    """Text a vendor sends: anything but NUL, which PostgreSQL cannot store."""
    return _text(description, max_len, example, pattern=fields.FREE_TEXT_PATTERN, nullable=True)


def _array(items: Obj, description: str, **extra: Any) -> Obj:
    return {"type": "array", "description": description, "items": items, **extra}


def _object(description: str, properties: Obj, required: str = "") -> Obj:
    """An object schema; `required` names the required properties, space-separated."""
    out: Obj = {"type": "object", "description": description, "properties": properties}
    if required:
        out["required"] = required.split()
    return out


def _received_at(what: str) -> Obj:
    return _text(
        f"Ours, answers only: when this service received the {what} (UTC).",
        format="date-time",
        readOnly=True,
        example="2023-10-03T21:06:00.123Z",
    )


# --- vocabulary -------------------------------------------------------------------------------


def _in_order(statuses: frozenset[Status]) -> str:
    return ", ".join(s.value for s in Status if s in statuses)


def _status_vocabulary() -> str:
    """The status values, aliases and moves, as statuses.py has them."""
    aliases = "; ".join(
        f"{s.value} ← " + ", ".join(a for a, t in ALIASES.items() if t is s)
        for s in Status
        if s in ALIASES.values()
    )
    moves = "; ".join(f"{s.value} → {_in_order(t)}" for s, t in TRANSITIONS.items())
    return (
        f"Canonical values (always the ones answered): {', '.join(s.value for s in Status)}. "
        "A request may use a canonical value or an alias, compared ignoring case, spaces, "
        f"hyphens and underscores. Aliases: {aliases}. Allowed moves: {moves}; repeating the "
        f"current status is always allowed; {_in_order(FINAL)} are final. An unknown value "
        f"fails the order with errorCode {o.UNKNOWN_STATUS}, a move not allowed with "
        f"{o.ILLEGAL_TRANSITION} (inside a 200)."
    )


RESULT_CODES = {
    o.UNKNOWN_ORDER: "the pair (orderId, mcOrderId) is not an order of this vendor",
    o.UNKNOWN_ITEM: "an item's pair (id, mcId) is not an item of the order",
    o.UNKNOWN_STATUS: "a status is neither a known status nor an alias",
    o.ILLEGAL_TRANSITION: "a status move is not allowed (see OrderStatus.status)",
    o.DUPLICATE_ORDER: "the mcOrderId appears earlier in the same request; only the first applies",
}


def _result_codes() -> str:
    return "; ".join(f"{code}: {why}" for code, why in RESULT_CODES.items())


# --- schemas ----------------------------------------------------------------------------------


def _order_props(status: Obj, item_schema: str = "OrderItemStatus") -> Obj:
    return {
        "orderId": _optional_id(
            "Order Id of Vendor. Bound to the order the first time it is sent; a different "
            f"value later fails the order with errorCode {o.UNKNOWN_ORDER}.",
            "656afd7-2396-54345-34545",
        ),
        "mcOrderId": _ident(
            "Order Id of Mastercard.",
            "afd72396-b9c0-11ed-afa1-0242ac120002",
        ),
        "orderItems": _array(
            _schema(item_schema),
            "order items list. In a request: the items to update (null: none); in an answer: "
            "every item.",
            maxItems=limits.MAX_ITEMS_PER_ORDER,
            nullable=True,
        ),
        "status": status,
    }


def _item_props() -> Obj:
    return {
        "id": _optional_id(
            "Order Item Id of Vendor. Bound on first sight; a different value later "
            f"fails the order with errorCode {o.UNKNOWN_ITEM}.",
            "order-item-1",
        ),
        "mcId": _ident(
            "Order Item Id of Mastercard.",
            "efa03f08-b9c0-11ed-afa1-0242ac120002",
        ),
        "status": _text(
            f"Item status. {_status_vocabulary()}",
            limits.MAX_STATUS_LENGTH,
            "Pending",
            pattern=fields.FREE_TEXT_PATTERN,
            nullable=True,
        ),
        "trackingNumber": _text(
            "Order tracking number. Every change is also kept as a trackingUpdate history event.",
            limits.MAX_TRACKING_NUMBER_LENGTH,
            "Track123",
            pattern=fields.TEXT_PATTERN,
            nullable=True,
        ),
        "trackingUrl": _text(
            "Order tracking url (http or https; blank is taken as none).",
            limits.MAX_URL_LENGTH,
            "https://tracking-url.com/order/123",
            pattern=TRACKING_URL_PATTERN,
            nullable=True,
        ),
        "errors": _array(
            _schema("OrderItemError"),
            "order items error list. A request carries at most "
            f"{limits.MAX_ERRORS_PER_ITEM} per item, each kept once. The answer to an update "
            "lists the errors this update added; a read, the item's "
            f"{limits.HISTORY_SHOWN_PER_ITEM} most recently received (oldest first; see "
            "errorCount). Null in a request: none.",
            maxItems=limits.MAX_ERRORS_PER_ITEM,
            nullable=True,
        ),
        "histories": _array(
            _schema("History"),
            "history detail of order item. A request carries at most "
            f"{limits.MAX_HISTORIES_PER_ITEM} per item; identical vendor events are kept "
            "once, and the service adds its own statusChange and trackingUpdate events. The "
            "answer to an update lists the events this update added; a read, the item's "
            f"{limits.HISTORY_SHOWN_PER_ITEM} most recently received (oldest first; fewer "
            f"where the answer would pass {limits.MAX_ANSWER_BYTES} bytes): historyCount says "
            "how many there are, the history pages hold them all. Null in a request: none.",
            maxItems=limits.MAX_HISTORIES_PER_ITEM,
            nullable=True,
        ),
    }


def _count_props() -> Obj:
    """What reads add to an item: how much its history holds."""
    return {
        "historyCount": {
            "type": "integer",
            "minimum": 0,
            "readOnly": True,
            "description": "Ours, reads only: how many history entries the item holds (its "
            "history pages list them all).",
        },
        "errorCount": {
            "type": "integer",
            "minimum": 0,
            "readOnly": True,
            "description": "Ours, reads only: how many errors the item holds.",
        },
    }


def _revision() -> Obj:
    return {
        "type": "integer",
        "minimum": 1,
        "readOnly": True,
        "description": "Ours, answers only: 1 when placed, one more for each update that "
        "changed the order.",
    }


def _order_status_schemas(settings: Settings) -> Obj:
    status = _text(
        f"Order Status. {_status_vocabulary()}",
        limits.MAX_STATUS_LENGTH,
        "Pending",
        pattern=fields.FREE_TEXT_PATTERN,
        nullable=True,
    )
    return {
        "OrderStatusArray": _array(
            _schema("OrderStatus"),
            "order status array list (the request body of updateOrderStatus). More than "
            f"{settings.max_orders_per_request} orders is refused with 413.",
            maxItems=settings.max_orders_per_request,
        ),
        "OrderStatus": _object(
            "An order's status. In a request, what the vendor reports: with orderItems, each "
            "named item is updated and the order follows its items when they all agree (unless "
            "status is given too); with a status and no items, every item not final moves with "
            "the order. In an answer, the order as stored.",
            _order_props(status),
            "mcOrderId",
        ),
        "StoredOrderStatus": _object(
            "An order as a vendor reads it back: the OrderStatus fields, its revision, and per "
            "item how much history it holds.",
            _order_props(status, "StoredOrderItem") | {"revision": _revision()},
            "mcOrderId status revision",
        ),
        "StoredOrderItem": _object(
            "An order item as read back: the OrderItemStatus fields plus historyCount and "
            "errorCount.",
            _item_props() | _count_props(),
            "mcId status historyCount errorCount",
        ),
        "OrderItemStatus": _object("An order item's status.", _item_props(), "mcId"),
        "OrderItemError": _object(
            "An error the vendor reports about an item (for example a missing address field).",
            {
                "fieldName": _free_text("field name", limits.MAX_ERROR_FIELD_LENGTH, "address1"),
                "code": _free_text("errorcode", limits.MAX_ERROR_CODE_LENGTH, "GRS_1001"),
                "message": _free_text(
                    "error message", limits.MAX_ERROR_MESSAGE_LENGTH, "address1 is required"
                ),
                "receivedAt": _received_at("error"),
            },
        ),
        "History": _object(
            "One event in an item's history.",
            {
                "orderItemNumber": _optional_id(
                    "order_item_number (answers default it to the item's id)", "order-item-1"
                ),
                "eventType": _free_text(
                    "event_type. Vendors send their own (for example note); the service adds "
                    "statusChange and trackingUpdate.",
                    limits.MAX_EVENT_TYPE_LENGTH,
                    "note",
                ),
                "eventDate": _text(
                    "event_date: an ISO-8601 date-time (the pattern: a real date in years 1000 "
                    "to 9998, T or a space, hh:mm[:ss[.fraction]], Z, ±hh:mm, ±hhmm or no "
                    "offset, which is taken as UTC); another value is refused (400 "
                    "INVALID_FIELD_VALUE_<PATH>). Answered in UTC as YYYY-MM-DDThh:mm:ss[.sss]Z.",
                    MAX_EVENT_DATE_LENGTH,
                    "2023-10-03T21:05:10Z",
                    pattern=DATE_TIME_PATTERN,
                    nullable=True,
                ),
                "note": _free_text(
                    "note",
                    limits.MAX_NOTE_LENGTH,
                    "GRS order item created for partner system order number: "
                    "SL_OCT-03-2023-16-431 Status is pending.",
                ),
                "receivedAt": _received_at("event"),
            },
        ),
    }


def _result_schemas() -> Obj:
    props = _order_props(
        _text(
            "The order's canonical status as stored (see OrderStatus.status), or FAILED when "
            "this order was not applied.",
            limits.MAX_STATUS_LENGTH,
            "Shipped",
        )
    )
    props["errorCode"] = {
        "type": "integer",
        "minimum": min(RESULT_CODES),
        "maximum": max(RESULT_CODES),
        "description": f"Only when status is FAILED: why. {_result_codes()}.",
        "example": o.UNKNOWN_ORDER,
    }
    props["revision"] = _revision()
    props["description"] = _text(
        "Only when status is FAILED: the reason in words.",
        example="[Combination of ExternalOrderId: (656afd7-2396-54345-34545) and OrderId: "
        "(afd72396-b9c0-11ed-afa1-0242ac120002) invalid.]",
    )
    return {
        "OrderStatusResult": _object(
            "One element of the updateOrderStatus answer, in request order. Either the order "
            "as stored after the update (the OrderStatus fields), or, when it could not be "
            f"applied, status {o.FAILED} with errorCode and description, orderId and mcOrderId "
            "echoed and no orderItems (Mastercard's own example). One flat schema rather than "
            "oneOf OrderStatus/failure: a FAILED element also matches OrderStatus, so a oneOf "
            "would be ambiguous, and generators handle one class best. Clients generated from "
            "Mastercard's OrderStatusArray read it too, ignoring errorCode and description.",
            props,
            "mcOrderId status",
        ),
        "HistoryPage": _object(
            "One page of an order's full history: item by item, each item's entries in the "
            "order received. A page ends early rather than pass "
            f"{limits.MAX_ANSWER_BYTES} bytes.",
            {
                "mcOrderId": _text("Order Id of Mastercard.", limits.MAX_ID_LENGTH),
                "histories": _array(
                    {
                        "allOf": [
                            _schema("History"),
                            _object(
                                "The item the entry belongs to.",
                                {"mcId": _text("Order Item Id of Mastercard.")},
                                "mcId",
                            ),
                        ]
                    },
                    "The entries.",
                ),
                "nextCursor": _text(
                    "Pass as after to get the next page; null on the last page.",
                    nullable=True,
                    example="1207.99812",
                ),
            },
            "mcOrderId histories nextCursor",
        ),
        "OrderStatusPage": _object(
            "One page of a vendor's orders, oldest update first.",
            {
                "orders": _array(_schema("StoredOrderStatus"), "The orders, as stored."),
                "nextCursor": _text(
                    "Pass as cursor to get the next page; null on the last page. A page may "
                    "hold fewer orders than limit (even none) and still have a next one.",
                    nullable=True,
                    example="WyIyMDIzLTEwLTAzVDIxOjA1OjEwKzAwOjAwIiwiYWJjIl0",
                ),
            },
            "orders nextCursor",
        ),
    }


def _placement_schemas(settings: Settings) -> Obj:
    result = _placement_result_props()
    return {
        "OrderPlacementRequest": {
            "description": "One order (an object), or a batch (an array) placed in one "
            "transaction and answered with one OrderPlacementResult per element.",
            "oneOf": [_schema("OrderPlacement"), _schema("OrderPlacementArray")],
        },
        "OrderPlacementArray": _array(
            _schema("OrderPlacement"),
            "A batch of orders to place, in one transaction. More than "
            f"{settings.max_orders_per_request} orders is refused with 413. An element that is "
            "not a valid OrderPlacement fails alone (its result is FAILED), the others are "
            "placed all the same.",
            maxItems=settings.max_orders_per_request,
        ),
        "OrderPlacementAnswer": {
            "description": "The order (for an object), or one result per element, in request "
            "order (for an array).",
            "oneOf": [_schema("OrderDetail"), _schema("OrderPlacementResultArray")],
        },
        "OrderPlacementResultArray": _array(
            _schema("OrderPlacementResult"),
            "One result per element of the batch, in request order.",
        ),
        "OrderPlacementResult": _object(
            "One element of a batch placement's answer. Elements are judged in order, as if "
            "placed one after another: placed, a new order (the OrderDetail fields follow, and "
            "one order.placed event is emitted); alreadyPlaced, an identical order was placed "
            "before, by an earlier request or an earlier element of this batch (the stored "
            "OrderDetail fields follow, nothing changed); FAILED, nothing was placed, with "
            "errorCode and description: ORDER_ALREADY_EXISTS (a different order under this "
            "mcOrderId was placed before), INVALID_FIELD_VALUE_VENDOR_ID (the vendor is not "
            "known), or the first fault of an invalid element (INVALID_REQUEST_BODY_ORDER, "
            "MISSING_REQUIRED_FIELD_<PATH>, INVALID_FIELD_VALUE_<PATH>; mcOrderId is echoed "
            "when it is a string). One flat schema, as OrderStatusResult.",
            result,
            "result",
        ),
        "OrderPlacement": _object(
            "An order the platform places with a vendor. Placing the same order again is "
            "harmless (200, or alreadyPlaced in a batch); a different order under the same "
            "mcOrderId is 409 (FAILED, ORDER_ALREADY_EXISTS in a batch).",
            {
                "mcOrderId": _ident(
                    "Order Id of Mastercard.", "afd72396-b9c0-11ed-afa1-0242ac120002"
                ),
                "vendorId": _ident("The vendor that fulfils it.", "carltonone"),
                "orderId": _optional_id("Order Id of Vendor, when already known.", "ext-1"),
                "programId": {
                    "description": "The rewards program (a 64-bit integer is accepted too and "
                    "kept as text).",
                    "anyOf": [
                        _optional_id("As text.", "49631"),
                        {"type": "integer", "format": "int64"},
                    ],
                    "example": "49631",
                },
                "items": _array(
                    _schema("OrderPlacementItem"),
                    "The items, each with its own mcId.",
                    minItems=1,
                    maxItems=limits.MAX_ITEMS_PER_ORDER,
                ),
            },
            "mcOrderId vendorId items",
        ),
        "OrderPlacementItem": _object(
            "One item of a placed order.",
            {
                "mcId": _ident("Order Item Id of Mastercard, unique in the order.", "i1"),
                "id": _optional_id("Order Item Id of Vendor, when already known.", "line-1"),
                "rewardItemId": _optional_id(
                    "The reward item (catalog id). When the order's program has a catalog "
                    "imported, one of its reward items (else 400 "
                    "INVALID_FIELD_VALUE_ITEMS[j].REWARD_ITEM_ID; in a batch, that element is "
                    "FAILED).",
                    "74568",
                ),
                "description": _optional_id(
                    "What is ordered (one line).", "$25 Olive Garden", limits.MAX_DESCRIPTION_LENGTH
                ),
                "quantity": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": limits.MAX_QUANTITY,
                    "default": 1,
                    "description": "How many.",
                },
            },
            "mcId",
        ),
        "OrderDetailItem": _object(
            "An item as the platform sees it: the StoredOrderItem fields plus what was placed.",
            _item_props()
            | _count_props()
            | {
                "rewardItemId": _text(
                    "The reward (catalog) item, when given at placement.", limits.MAX_ID_LENGTH
                ),
                "description": _text(
                    "The item's description, when given at placement.",
                    limits.MAX_DESCRIPTION_LENGTH,
                ),
                "quantity": {"type": "integer", "minimum": 1, "description": "How many."},
            },
            "mcId status quantity",
        ),
        "OrderDetail": _object(
            "An order as the platform sees it: the OrderStatus fields plus its vendor, program, "
            "revision and times.",
            _detail_props(),
            "mcOrderId status vendorId revision",
        ),
    }


def _detail_props() -> Obj:
    id_ = limits.MAX_ID_LENGTH
    return _order_props(
        _text("Order Status (canonical).", limits.MAX_STATUS_LENGTH, "Pending"),
        "OrderDetailItem",
    ) | {
        "vendorId": _text("The vendor that fulfils it.", id_, "carltonone"),
        "programId": _text("The rewards program, when given.", id_, "49631"),
        "revision": {
            "type": "integer",
            "minimum": 1,
            "description": "1 when placed, one more for each update that changed it.",
        },
        "createdAt": _text("When placed (UTC).", format="date-time"),
        "updatedAt": _text("When last changed (UTC).", format="date-time"),
    }


def _placement_result_props() -> Obj:
    """OrderDetail's fields (when placed or alreadyPlaced) and the error (when FAILED)."""
    detail = _detail_props()
    return {
        "mcOrderId": _text(
            "Order Id of Mastercard, as the element gave it.",
            example="afd72396-b9c0-11ed-afa1-0242ac120002",
        ),
        "result": _text(
            "placed, alreadyPlaced or FAILED.",
            enum=[usecases.PLACED, usecases.ALREADY_PLACED, usecases.PLACEMENT_FAILED],
        ),
        **{k: v for k, v in detail.items() if k != "mcOrderId"},
        "errorCode": _text(
            "Only when FAILED: the ReasonCode of the refusal.", example="ORDER_ALREADY_EXISTS"
        ),
        "description": _text(
            "Only when FAILED: the reason in words.",
            example="A different order with this mcOrderId already exists.",
        ),
    }


def _event_schemas() -> Obj:
    nullable = {"type": "string", "nullable": True}
    return {
        "OrderEvent": _object(
            "Ours: one change of an order, as the platform hears it.",
            {
                "id": _text("Unique id of the event.", format="uuid"),
                "type": _text(
                    "What happened.", enum=[events.ORDER_PLACED, events.ORDER_STATUS_CHANGED]
                ),
                "occurredAt": _text("When (UTC).", format="date-time"),
                "vendorId": _text("The order's vendor."),
                "mcOrderId": _text("Order Id of Mastercard."),
                "orderId": nullable | {"description": "Order Id of Vendor, null if not known."},
                "revision": {"type": "integer", "description": "The order's revision after it."},
                "sequence": {"type": "integer", "description": "Position in the feed."},
                "data": _object(
                    "The order after the change, and what changed.",
                    {
                        "order": _schema("OrderDetail"),
                        "changes": _array(_schema("OrderChange"), "Empty when placed."),
                    },
                    "order changes",
                ),
            },
            "id type occurredAt vendorId mcOrderId orderId revision sequence data",
        ),
        "OrderChange": _object(
            "Ours: one field that moved.",
            {
                "mcId": _text("The item, when the change is an item's (absent for the order)."),
                "field": _text("The field (status, orderId, id, trackingNumber, trackingUrl)."),
                "from": nullable | {"description": "Before."},
                "to": nullable | {"description": "After."},
            },
            "field from to",
        ),
        "OrderEventPage": _object(
            "Ours: events in sequence order.",
            {
                "events": _array(_schema("OrderEvent"), "The events after the cursor."),
                "nextCursor": _text("Pass as after to get the next events (kept when none)."),
            },
            "events nextCursor",
        ),
    }


def _error_schemas() -> Obj:
    return {
        "ErrorsWrapper": _object(
            "Mastercard's error envelope.", {"Errors": _schema("Errors")}, "Errors"
        ),
        "Errors": _object(
            "The errors.",
            {
                "Error": _array(
                    _schema("ErrorItem"),
                    "Error details: one per fault (at most "
                    f"{limits.MAX_REPORTED_FAULTS}; then the last one is TOO_MANY_ERRORS).",
                    minItems=1,
                    maxItems=limits.MAX_REPORTED_FAULTS,
                )
            },
            "Error",
        ),
        "ErrorItem": _object(
            "Error Details",
            {
                "Source": _text(
                    f"Source of the error: {e.GATEWAY} for authentication (what Mastercard's "
                    f"API gateway answers), {SOURCE} for the service's own errors.",
                    example=SOURCE,
                ),
                "ReasonCode": _text(
                    "A unique constant identifying the error case encountered during API "
                    "request processing.",
                    example="MISSING_REQUIRED_FIELD_VENDORS_UPDATE_ORDER_REQUEST_LIST[0].MC_ORDER_ID",
                ),
                "Description": _text(
                    "Short description of the ReasonCode field.",
                    example="McOrderId is blank or null.",
                ),
                "Recoverable": {
                    "type": "boolean",
                    "description": "Indicates whether this error will always be returned for "
                    "this request, or retrying could change the outcome.",
                    "example": False,
                },
                "Details": _text(
                    "Where appropriate, indicates detailed information about the data "
                    "received. Omitted when there is none.",
                ),
            },
            "Source ReasonCode Description Recoverable",
        ),
    }


def _schemas(settings: Settings) -> Obj:
    return (
        _order_status_schemas(settings)
        | _result_schemas()
        | _placement_schemas(settings)
        | _event_schemas()
        | _error_schemas()
        | _catalog_schemas()
        | _catalog_document_schemas()
    )


# --- parameters and headers -------------------------------------------------------------------


def _param(name: str, where: str, description: str, schema: Obj, **extra: Any) -> Obj:
    return {"name": name, "in": where, "description": description, "schema": schema, **extra}


def _parameters() -> Obj:
    many = {"style": "form", "explode": True}
    ids = {
        "type": "array",
        "items": {"type": "string", "pattern": fields.TEXT_PATTERN},
        "maxItems": MAX_FILTER_VALUES,
    }
    one_id = {"type": "string", "pattern": fields.TEXT_PATTERN}
    return {
        "VendorId": _param(
            "vendor_id",
            "path",
            "The internal Mastercard vendor Id for order fulfilment. Must be the vendor of the "
            "signing credential (else 401 INVALID_CLIENT_ID); platform credentials may read any.",
            {"type": "string"},
            required=True,
            example="carltonone",
        ),
        "McOrderId": _param("mcOrderId", "path", "Order Id of Mastercard.", one_id, required=True),
        "McOrderIdFilter": _param(
            "mcOrderId", "query", "Only these orders (repeat, at most 100).", ids, **many
        ),
        "OrderIdFilter": _param(
            "orderId", "query", "Only these vendor order ids (repeat, at most 100).", ids, **many
        ),
        "StatusFilter": _param(
            "status",
            "query",
            "Only orders in this status: a status or an alias, in any case, spaces, hyphens "
            "and underscores ignored (else 400 INVALID_FIELD_VALUE_STATUS). A page looks at "
            f"{limits.STATUS_SCAN_ORDERS:,} of the vendor's orders at most, so it may hold "
            "fewer orders than limit, even none, with a nextCursor to go on.",
            {"type": "string", "pattern": spelling_pattern()},
        ),
        "UpdatedSince": _param(
            "updatedSince",
            "query",
            "Only orders updated at or after this ISO-8601 date-time (as eventDate: UTC when "
            "no offset).",
            {"type": "string", "pattern": DATE_TIME_PATTERN},
            example="2023-10-03T00:00:00Z",
        ),
        "Cursor": _param(
            "cursor", "query", "The nextCursor of the previous page.", {"type": "string"}
        ),
        "After": _param(
            "after",
            "query",
            "The nextCursor of the previous call; 0 (the default) starts at the beginning.",
            {"type": "string", "pattern": "^[0-9]{1,18}$", "default": "0"},
        ),
        "HistoryAfter": _param(
            "after",
            "query",
            "The nextCursor of the previous page; none starts at the beginning.",
            {"type": "string", "pattern": "^[0-9]{1,18}\\.[0-9]{1,18}$"},
        ),
        "VendorIdFilter": _param("vendorId", "query", "Only this vendor's.", one_id),
        "McOrderIdOne": _param("mcOrderId", "query", "Only this order's.", one_id),
        "Limit": _param(
            "limit",
            "query",
            "Page size.",
            {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        ),
        "IdempotencyKey": _param(
            "Idempotency-Key",
            "header",
            "Optional. The same key (per consumer key) with the same request answers the stored "
            "answer again with Idempotent-Replayed: true and changes nothing; with a different "
            "request, 422; while the first is still running, 409 with Retry-After. Kept for "
            "the configured idempotency TTL (24 hours by default).",
            {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH,
                "pattern": fields.TEXT_PATTERN,
            },
        ),
        "CorrelationId": _param(
            "X-Correlation-ID",
            "header",
            f"Optional. Echoed in the answer and logged when it is 1 to "
            f"{MAX_CORRELATION_ID_LENGTH} printable characters; any other value is replaced by "
            "a new id (never refused: a diagnostic header does not fail a request).",
            {"type": "string"},
        ),
    } | _catalog_parameters()


def _headers() -> Obj:
    return {
        "X-Correlation-ID": {
            "description": "The caller's X-Correlation-ID, or a new UUID. Logged with the request.",
            "required": True,
            "schema": {"type": "string"},
        },
        "Idempotent-Replayed": {
            "description": "true when this is the stored answer to an earlier request with the "
            "same Idempotency-Key.",
            "schema": {"type": "string", "enum": ["true"]},
        },
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        },
    } | _catalog_headers()


# --- examples ---------------------------------------------------------------------------------


def _errors(summary: str, *items: e.ErrorItem) -> Obj:
    return {"summary": summary, "value": {"Errors": {"Error": [i.to_json() for i in items]}}}


def _fault(summary: str, code: str, description: str) -> Obj:
    return _errors(summary, e.ErrorItem(SOURCE, code, description))


def _exc(summary: str, exc: e.TfsError) -> Obj:
    return _errors(summary, *exc.items)


def _mastercard_examples() -> Obj:
    """Mastercard's own examples, verbatim."""
    return {
        "OrderStatusExample": {
            "summary": "Mastercard's example: an order that could not be applied",
            "value": [
                {
                    "orderId": "656afd7-2396-54345-34545",
                    "mcOrderId": "afd72396-b9c0-11ed-afa1-0242ac120002",
                    "status": "FAILED",
                    "errorCode": 1001,
                    "description": "[Combination of ExternalOrderId: (656afd7-2396-54345-34545) "
                    "and OrderId: (afd72396-b9c0-11ed-afa1-0242ac120002) invalid.]",
                }
            ],
        },
        "BadOrderRequestExample": _fault(
            "Mastercard's example: a required field is missing",
            "MISSING_REQUIRED_FIELD_VENDORS_UPDATE_ORDER_REQUEST_LIST[0].MC_ORDER_ID",
            "McOrderId is blank or null.",
        ),
        "UnauthorizedOrderExample": _exc(
            "Mastercard's example: the credential may not act here", e.InvalidClientId()
        ),
        "BadRequestExample": _exc(
            "Mastercard's example: program_id is missing", e.MissingProgramId()
        ),
        "UnauthorizedExample": _exc(
            "Mastercard's example: the credential may not read this program's catalog",
            e.CatalogClientNotEntitled(),
        ),
    }


_ITEM: Obj = {
    "id": "order-item-1",
    "mcId": "efa03f08-b9c0-11ed-afa1-0242ac120002",
    "status": "Shipped",
    "trackingNumber": "Track123",
    "trackingUrl": "https://tracking-url.com/order/123",
    "errors": [{"fieldName": "address1", "code": "GRS_1001", "message": "address1 is required"}],
    "histories": [
        {
            "orderItemNumber": "order-item-1",
            "eventType": "note",
            "eventDate": "2023-10-03T21:05:10Z",
            "note": "GRS order item created for partner system order number: "
            "SL_OCT-03-2023-16-431 Status is pending.",
        }
    ],
}
_AT = "2023-10-03T21:06:00.123Z"


def _answered_item() -> Obj:
    """_ITEM as answered: the service's own events first, as the update recorded them."""

    def event(event_type: str, note: str) -> Obj:
        return {
            "orderItemNumber": _ITEM["id"],
            "eventType": event_type,
            "eventDate": _AT,
            "note": note,
            "receivedAt": _AT,
        }

    tracking = f"Tracking number {_ITEM['trackingNumber']} ({_ITEM['trackingUrl']})"
    return _ITEM | {
        "errors": [err | {"receivedAt": _AT} for err in _ITEM["errors"]],
        "histories": [
            event("statusChange", "Pending -> Shipped"),
            event("trackingUpdate", tracking),
            *(h | {"receivedAt": _AT} for h in _ITEM["histories"]),
        ],
    }


def _order_examples() -> Obj:
    order = {
        "orderId": "656afd7-2396-54345-34545",
        "mcOrderId": "afd72396-b9c0-11ed-afa1-0242ac120002",
        "status": "Shipped",
        "orderItems": [_answered_item()],
        "revision": 2,
    }
    counts = {"historyCount": 3, "errorCount": 1}
    stored = order | {"orderItems": [_answered_item() | counts]}
    failed = {
        "mcOrderId": "0b7c2f4e-unknown",
        "status": o.FAILED,
        "errorCode": o.UNKNOWN_ORDER,
        "description": "[Combination of ExternalOrderId: () and OrderId: (0b7c2f4e-unknown) "
        "invalid.]",
    }
    placed = {"rewardItemId": "74568", "description": "$25 Olive Garden Gift Card", "quantity": 1}
    detail = order | {
        "orderItems": [_answered_item() | counts | placed],
        "vendorId": "carltonone",
        "programId": "49631",
        "revision": 2,
        "createdAt": "2023-10-03T20:00:00Z",
        "updatedAt": _AT,
    }
    new_id, nowhere = "5d1e2b7a-0c3f-4e8a-9b6d-7f2a1c9e4b30", "9c4a7e21-unknown-vendor"
    fresh = {
        "mcOrderId": new_id,
        "status": "Pending",
        "orderItems": [
            {"mcId": "i1", "status": "Pending", "errors": [], "histories": [], "quantity": 1}
        ],
        "vendorId": "carltonone",
        "revision": 1,
        "createdAt": _AT,
        "updatedAt": _AT,
    }
    return {
        "OrderStatusRequestExample": {
            "summary": "An update (assembled from the field examples of Mastercard's schema)",
            "value": [
                {
                    "orderId": order["orderId"],
                    "mcOrderId": order["mcOrderId"],
                    "orderItems": [_ITEM],
                }
            ],
        },
        "OrderStatusAppliedExample": {
            "summary": "One order applied, one not",
            "value": [order, failed],
        },
        "OrderStatusPageExample": {
            "summary": "The last page",
            "value": {"orders": [stored], "nextCursor": None},
        },
        "OrderPlacementExample": {
            "summary": "An order with one item",
            "value": {
                "mcOrderId": order["mcOrderId"],
                "vendorId": "carltonone",
                "programId": "49631",
                "items": [{"mcId": _ITEM["mcId"], "rewardItemId": "74568", "quantity": 1}],
            },
        },
        "OrderPlacementBatchExample": {
            "summary": "A batch: a new order, a repeat and one for an unknown vendor",
            "value": [
                {"mcOrderId": new_id, "vendorId": "carltonone", "items": [{"mcId": "i1"}]},
                {
                    "mcOrderId": order["mcOrderId"],
                    "vendorId": "carltonone",
                    "programId": "49631",
                    "items": [{"mcId": _ITEM["mcId"], "rewardItemId": "74568", "quantity": 1}],
                },
                {"mcOrderId": nowhere, "vendorId": "no-such-vendor", "items": [{"mcId": "i1"}]},
            ],
        },
        "OrderPlacementResultsExample": {
            "summary": "The answer to that batch",
            "value": [
                {
                    "mcOrderId": new_id,
                    "result": usecases.PLACED,
                    **fresh,
                },
                {"mcOrderId": order["mcOrderId"], "result": usecases.ALREADY_PLACED, **detail},
                {
                    "mcOrderId": nowhere,
                    "result": usecases.PLACEMENT_FAILED,
                    "errorCode": e.UnknownVendor.reason_code,
                    "description": e.UnknownVendor.default_description,
                },
            ],
        },
        "OrderDetailExample": {"summary": "An order after one update", "value": detail},
        "OrderEventPageExample": {"summary": "One change", "value": _event_page(detail)},
    }


_HISTORY_FIELDS = {"errors", "histories", "historyCount", "errorCount"}


def _event_page(detail: Obj) -> Obj:
    event = {
        "id": "5f0c3a52-8d1e-4c57-9a59-0d7e8f1b2c3d",
        "type": events.ORDER_STATUS_CHANGED,
        "occurredAt": _AT,
        "vendorId": detail["vendorId"],
        "mcOrderId": detail["mcOrderId"],
        "orderId": detail["orderId"],
        "revision": detail["revision"],
        "sequence": 42,
        "data": {
            # As the order is read, less its history: an event's size does not grow with it.
            "order": detail
            | {
                "orderItems": [
                    {k: v for k, v in i.items() if k not in _HISTORY_FIELDS}
                    for i in detail["orderItems"]
                ]
            },
            "changes": [
                {"mcId": _ITEM["mcId"], "field": "status", "from": "Pending", "to": "Shipped"},
                {"field": "status", "from": "Pending", "to": "Shipped"},
            ],
        },
    }
    return {"events": [event], "nextCursor": "42"}


def _error_examples(settings: Settings) -> Obj:
    return {
        "InvalidRequestBodyExample": _exc("Not a JSON array of objects", e.InvalidRequestBody()),
        "InvalidAuthHeaderExample": _exc("No OAuth Authorization header", e.InvalidAuthHeader()),
        "InvalidIdempotencyKeyExample": _fault(
            "A bad Idempotency-Key",
            "INVALID_FIELD_VALUE_IDEMPOTENCY_KEY",
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable characters.",
        ),
        "InvalidQueryExample": _fault(
            "A bad query parameter",
            "INVALID_FIELD_VALUE_LIMIT",
            f"limit must be an integer from 1 to {limits.MAX_PAGE_SIZE}.",
        ),
        "PlacementFaultsExample": _fault(
            "A required field is missing",
            "MISSING_REQUIRED_FIELD_VENDOR_ID",
            "VendorId is blank or null.",
        ),
        "UnknownVendorExample": _exc("The vendor is not known", e.UnknownVendor()),
        "AuthenticationFailedExample": _exc("A bad signature", e.SignatureMismatch()),
        "IdempotencyKeyInProgressExample": _exc("Still running", e.IdempotencyKeyInProgress()),
        "OrderAlreadyExistsExample": _exc("Another order, same id", e.OrderAlreadyExists()),
        "IdempotencyKeyReusedExample": _exc("Key reused", e.IdempotencyKeyReused()),
        "RequestTooLargeExample": _exc(
            "Too many bytes",
            e.RequestTooLarge(f"Request body is larger than {settings.max_body_bytes} bytes."),
        ),
        "TooManyOrdersExample": _exc(
            "Too many orders",
            e.RequestTooLarge(f"At most {settings.max_orders_per_request} orders per request."),
        ),
        "UnsupportedMediaTypeExample": _exc("Not JSON", e.UnsupportedMediaType()),
        "OrderNotFoundExample": _exc("No such order", e.OrderNotFound()),
        "InternalErrorExample": _exc("Unexpected", e.TfsError()),
        "ServiceUnavailableExample": _exc("Database unreachable", e.ServiceUnavailable()),
        "RateLimitExample": _exc("Over the credential's rate", e.RateLimitExceeded()),
    }


# --- responses --------------------------------------------------------------------------------


def _response_headers(*names: str, correlated: bool = True) -> Obj:
    out: Obj = {"X-Correlation-ID": _ref("headers", "X-Correlation-ID")}
    if not correlated:
        out["X-Correlation-ID"] = {
            "description": "The correlation id; missing when the fault escaped every handler.",
            "schema": {"type": "string"},
        }
    return out | {name: _ref("headers", name) for name in names}


def _ok(
    description: str,
    schema: Obj,
    *examples: str,
    media: str = JSON,
    headers: tuple[str, ...] = (),
) -> Obj:
    content: Obj = {"schema": schema}
    if examples:
        content["examples"] = {name: _ref("examples", name) for name in examples}
    return {
        "description": description,
        "headers": _response_headers(*headers),
        "content": {media: content},
    }


def _error(description: str, *examples: str, retry: bool = False, correlated: bool = True) -> Obj:
    headers = ("Retry-After",) if retry else ()
    return {
        "description": description,
        "headers": _response_headers(*headers, correlated=correlated),
        "content": {
            JSON: {
                "schema": _schema("ErrorsWrapper"),
                "examples": {name: _ref("examples", name) for name in examples},
            }
        },
    }


AUTH_400 = (
    "INVALID_AUTH_HEADER (Source Gateway): the OAuth Authorization header is missing or malformed"
)
AUTH_401 = (
    "AUTHENTICATION_FAILED (Source Gateway): unknown or revoked consumer key, signature or "
    "oauth_body_hash mismatch, stale oauth_timestamp or reused oauth_nonce (the Description "
    "says which); INVALID_CLIENT_ID: the credential may not act"
)


def _common(*auth_examples: str) -> Obj:
    return {
        "401": _error(f"User does not have access to the resource. {AUTH_401}.", *auth_examples),
        "429": _error(
            "RATE_LIMIT_EXCEEDED (Recoverable): over the credential's rate (TFS_RATE_LIMIT); "
            "retry after Retry-After seconds.",
            "RateLimitExample",
            retry=True,
        ),
        "500": _error(
            "INTERNAL_SERVER_ERROR: an unexpected fault (the trace is logged, never answered).",
            "InternalErrorExample",
        ),
        "503": _error(
            "SERVICE_UNAVAILABLE (Recoverable): the database cannot be reached.",
            "ServiceUnavailableExample",
            retry=True,
        ),
    }


def _post_status_responses(settings: Settings) -> Obj:
    return {
        "200": _ok(
            "Status updated successfully: one OrderStatusResult per order, in request order. "
            "Each order is applied whole or not at all; one that cannot be applied is answered "
            f"FAILED with an errorCode ({_result_codes()}) and does not stop the others.",
            _array(_schema("OrderStatusResult"), "One result per order sent."),
            "OrderStatusExample",
            "OrderStatusAppliedExample",
            headers=("Idempotent-Replayed",),
        ),
        "400": _error(
            "Something was wrong with the request; nothing was applied. "
            f"{AUTH_400}; INVALID_REQUEST_BODY: not a JSON array of objects; "
            "MISSING_REQUIRED_FIELD_VENDORS_UPDATE_ORDER_REQUEST_LIST[i].<FIELD> and "
            "INVALID_FIELD_VALUE_VENDORS_UPDATE_ORDER_REQUEST_LIST[i].<PATH>: one per fault; "
            "INVALID_FIELD_VALUE_IDEMPOTENCY_KEY.",
            "BadOrderRequestExample",
            "InvalidRequestBodyExample",
            "InvalidAuthHeaderExample",
            "InvalidIdempotencyKeyExample",
        ),
        **_common("UnauthorizedOrderExample", "AuthenticationFailedExample"),
        "409": _error(
            "IDEMPOTENCY_KEY_IN_PROGRESS (Recoverable): a request with this Idempotency-Key is "
            "still running.",
            "IdempotencyKeyInProgressExample",
            retry=True,
        ),
        "413": _error(
            f"REQUEST_TOO_LARGE: more than {settings.max_body_bytes} bytes, or more than "
            f"{settings.max_orders_per_request} orders.",
            "RequestTooLargeExample",
            "TooManyOrdersExample",
        ),
        "415": _error(
            "UNSUPPORTED_MEDIA_TYPE: Content-Type is neither application/json nor +json "
            "(none at all is taken as JSON).",
            "UnsupportedMediaTypeExample",
        ),
        "422": _error(
            "IDEMPOTENCY_KEY_REUSED: this Idempotency-Key came with a different request.",
            "IdempotencyKeyReusedExample",
        ),
    }


def _get_status_responses() -> Obj:
    return {
        "200": _ok("One page of orders.", _schema("OrderStatusPage"), "OrderStatusPageExample"),
        "400": _error(
            f"{AUTH_400}; INVALID_FIELD_VALUE_<PARAMETER>: a bad limit, cursor, status, "
            "updatedSince, or too many mcOrderId/orderId values.",
            "InvalidQueryExample",
            "InvalidAuthHeaderExample",
        ),
        **_common("UnauthorizedOrderExample", "AuthenticationFailedExample"),
    }


def _post_order_responses(settings: Settings) -> Obj:
    return {
        "201": _ok(
            "The order (an object) was placed.", _schema("OrderDetail"), "OrderDetailExample"
        ),
        "200": _ok(
            "An object: the same order was placed before, nothing changed (OrderDetail). An "
            "array: one OrderPlacementResult per element, in request order.",
            _schema("OrderPlacementAnswer"),
            "OrderPlacementResultsExample",
        ),
        "400": _error(
            f"{AUTH_400}; INVALID_REQUEST_BODY: not JSON; INVALID_REQUEST_BODY_ORDER: not an "
            "object; MISSING_REQUIRED_FIELD_<PATH> and INVALID_FIELD_VALUE_<PATH>: one per "
            "fault; INVALID_FIELD_VALUE_VENDOR_ID: the vendor is not known.",
            "PlacementFaultsExample",
            "UnknownVendorExample",
            "InvalidAuthHeaderExample",
        ),
        **_common("UnauthorizedOrderExample", "AuthenticationFailedExample"),
        "409": _error(
            "ORDER_ALREADY_EXISTS: a different order with this mcOrderId exists (an object; in "
            "an array, that element is FAILED).",
            "OrderAlreadyExistsExample",
        ),
        "413": _error(
            f"REQUEST_TOO_LARGE: more than {settings.max_body_bytes} bytes, or an array of more "
            f"than {settings.max_orders_per_request} orders.",
            "RequestTooLargeExample",
            "TooManyOrdersExample",
        ),
        "415": _error("UNSUPPORTED_MEDIA_TYPE.", "UnsupportedMediaTypeExample"),
    }


def _get_events_responses() -> Obj:
    return {
        "200": _ok("The events.", _schema("OrderEventPage"), "OrderEventPageExample"),
        "400": _error(
            f"{AUTH_400}; INVALID_FIELD_VALUE_AFTER, INVALID_FIELD_VALUE_LIMIT.",
            "InvalidQueryExample",
            "InvalidAuthHeaderExample",
        ),
        **_common("UnauthorizedOrderExample", "AuthenticationFailedExample"),
    }


def _get_history_responses() -> Obj:
    return {
        "200": _ok("One page of the order's history.", _schema("HistoryPage")),
        "400": _error(
            f"{AUTH_400}; INVALID_FIELD_VALUE_AFTER, INVALID_FIELD_VALUE_LIMIT.",
            "InvalidQueryExample",
            "InvalidAuthHeaderExample",
        ),
        **_common("UnauthorizedOrderExample", "AuthenticationFailedExample"),
        "404": _error("ORDER_NOT_FOUND (also another vendor's order).", "OrderNotFoundExample"),
    }


def _history_operation(op_id: str, who: str, parameters: Sequence[Obj]) -> Obj:
    return _operation(
        op_id,
        "orders" if who == "vendor" else "platform",
        f"Read an order's full history, page by page ({who})",
        _get_history_responses(),
        description="Every history entry the order's items hold, item by item, each item's "
        "in the order received.",
        parameters=[*parameters, _ref("parameters", "HistoryAfter"), _ref("parameters", "Limit")],
    )


def _get_order_responses() -> Obj:
    return {
        "200": _ok("The order.", _schema("OrderDetail"), "OrderDetailExample"),
        "400": _error(f"{AUTH_400}.", "InvalidAuthHeaderExample"),
        **_common("UnauthorizedOrderExample", "AuthenticationFailedExample"),
        "404": _error("ORDER_NOT_FOUND.", "OrderNotFoundExample"),
    }


# --- operations -------------------------------------------------------------------------------


def _operation(
    op_id: str,
    tag: str,
    summary: str,
    responses: Obj,
    *,
    description: str | None = None,
    parameters: Sequence[Obj] = (),
    body: Obj | None = None,
    public: bool = False,
) -> Obj:
    op: Obj = {"tags": [tag], "summary": summary, "operationId": op_id}
    if description:
        op["description"] = description
    op["parameters"] = [*parameters, _ref("parameters", "CorrelationId")]
    if body:
        op["requestBody"] = body
    op["responses"] = responses
    if public:
        op["security"] = []
    return op


def _body(schema: str, example: str, description: str) -> Obj:
    media = {"schema": _schema(schema), "examples": {example: _ref("examples", example)}}
    return {"description": description, "required": True, "content": {JSON: media}}


def _vendor_paths(settings: Settings) -> Obj:
    post = _operation(
        "updateOrderStatus",
        "orders",
        "API used by external Vendors to provide the orders status",
        _post_status_responses(settings),
        description="The Loyalty Rewards Order Management Mastercard API is used by external "
        "vendor to provide orders status. Structural faults refuse the whole request (400); "
        "business faults fail single orders inside the 200.",
        parameters=[_ref("parameters", "VendorId"), _ref("parameters", "IdempotencyKey")],
        body=_body("OrderStatusArray", "OrderStatusRequestExample", "The orders to update."),
    )
    filters = ("McOrderIdFilter", "OrderIdFilter", "StatusFilter", "UpdatedSince", "Cursor")
    get = _operation(
        "listOrderStatuses",
        "orders",
        "Read back a vendor's orders (ours; Mastercard documents no read)",
        _get_status_responses(),
        description="Pages through the vendor's orders, oldest update first.",
        parameters=[_ref("parameters", n) for n in ("VendorId", *filters, "Limit")],
    )
    history = _history_operation(
        "listVendorOrderHistory",
        "vendor",
        [_ref("parameters", "VendorId"), _ref("parameters", "McOrderId")],
    )
    base = f"{settings.base_path}/vendors/{{vendor_id}}/orders"
    return {
        f"{base}/status": {"post": post, "get": get},
        f"{base}/{{mcOrderId}}/history": {"get": history},
    }


def _platform_paths(settings: Settings) -> Obj:
    place = _operation(
        "placeOrder",
        "platform",
        "Place an order, or a batch of orders, with their vendors (platform credentials only)",
        _post_order_responses(settings),
        description="An object places one order: 201 when new, 200 for an identical repeat, "
        "409 for a different order under the same mcOrderId, 400 for a fault. An array places "
        f"up to {settings.max_orders_per_request} orders in one transaction and answers 200 "
        "with one result per element, in request order (see OrderPlacementResult): a fault, "
        "conflict or unknown vendor fails that element alone.",
        body=_body("OrderPlacementRequest", "OrderPlacementExample", "The order(s) to place."),
    )
    place["requestBody"]["content"][JSON]["examples"]["OrderPlacementBatchExample"] = _ref(
        "examples", "OrderPlacementBatchExample"
    )
    read = _operation(
        "getOrder",
        "platform",
        "Read an order (platform credentials only)",
        _get_order_responses(),
        parameters=[_ref("parameters", "McOrderId")],
    )
    feed = _operation(
        "listOrderEvents",
        "platform",
        "Read the feed of order changes (platform credentials only)",
        _get_events_responses(),
        description="Every placement and every change, in sequence order, after a cursor.",
        parameters=[_ref("parameters", n) for n in ("After", "VendorIdFilter", "McOrderIdOne")]
        + [_ref("parameters", "Limit")],
    )
    base = settings.base_path
    return {
        f"{base}/orders": {"post": place},
        f"{base}/orders/{{mcOrderId}}": {"get": read},
        f"{base}/orders/{{mcOrderId}}/history": {
            "get": _history_operation(
                "listOrderHistory", "platform", [_ref("parameters", "McOrderId")]
            )
        },
        f"{base}/events": {"get": feed},
    }


def _service_paths(settings: Settings) -> Obj:
    state = {"type": "string"}
    health = _object("Liveness.", {"status": state | {"enum": ["ok"]}}, "status")
    ready = _object(
        "Readiness.",
        {"status": state | {"enum": ["ready", "unavailable"]}, "database": {"type": "boolean"}},
        "status database",
    )
    unready = _ok("The database cannot be reached.", ready, headers=("Retry-After",))

    def op(op_id: str, summary: str, responses: Obj) -> Obj:
        return {"get": _operation(op_id, "service", summary, responses, public=True)}

    metrics = {
        "/metrics": op(
            "getMetrics",
            "Prometheus metrics",
            {
                "200": _ok(
                    "Counters, histograms and gauges in Prometheus' text format (README: "
                    "Metrics). Absent (404) when TFS_METRICS=off.",
                    {"type": "string"},
                    media="text/plain",
                )
            },
        )
    }
    return {
        **(metrics if settings.metrics else {}),
        "/health": op("getHealth", "Liveness", {"200": _ok("Alive.", health)}),
        "/ready": op("getReadiness", "Readiness", {"200": _ok("Ready.", ready), "503": unready}),
        "/openapi.json": op(
            "getOpenApiDocument",
            "This document",
            {"200": _ok("The OpenAPI document.", {"type": "object"})},
        ),
        "/docs": op(
            "getDocsPage",
            "This document as a page",
            {"200": _ok("An HTML page.", {"type": "string"}, media="text/html")},
        ),
    }


def _info(settings: Settings) -> Obj:
    return {
        "title": "Traditional Fulfillment Service",
        "version": __version__,
        "description": (
            "Mastercard's Traditional Fulfillment Service (TFS 1.0.4): program customers read "
            "rewards catalogs (getCatalogs, getItems); external vendors report the status of "
            "reward orders; the platform imports catalogs, places orders and reads them. Schema "
            "and field names are Mastercard's; OrderStatusResult, OrderStatusPage, "
            "OrderPlacement, OrderPlacementItem, OrderDetail, OrderEvent, OrderChange, "
            "OrderEventPage, CatalogDocument (and its parts) and CatalogImportResult, and the "
            "fields marked 'Ours', are this service's. "
            "Paths include the base path "
            f"({settings.base_path or '/'}). Every request but /health, /ready, /metrics, "
            "/openapi.json and /docs is signed with Mastercard OAuth 1.0a. Errors use "
            "Mastercard's envelope (ErrorsWrapper); an unknown path is 404 NOT_FOUND and an "
            "unknown method 405 METHOD_NOT_ALLOWED."
        ),
    }


def openapi(settings: Settings) -> Obj:
    """The service's OpenAPI 3.0.3 document, for these settings."""
    return {
        "openapi": "3.0.3",
        "info": _info(settings),
        "servers": [{"url": "/", "description": "This service (paths carry the base path)."}],
        "tags": [
            {
                "name": "orders",
                "description": "Mastercard API for external vendor to provide orders status",
            },
            {"name": "catalogs", "description": "Operations specific to Rewards Catalog"},
            {
                "name": "platform",
                "description": "The rewards platform: orders, and programs' catalogs.",
            },
            {"name": "service", "description": "Health, readiness, metrics and this document."},
        ],
        "security": [{SECURITY: []}],
        "paths": _vendor_paths(settings)
        | _platform_paths(settings)
        | _catalog_paths(settings)
        | _service_paths(settings),
        "components": {
            "securitySchemes": {
                SECURITY: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "Mastercard OAuth 1.0a: one-legged, RSA-SHA256 (RSA-PSS also "
                    "accepted), with oauth_body_hash (base64 SHA-256 of the body; of the empty "
                    "string when there is none). Header: OAuth oauth_consumer_key, oauth_nonce, "
                    'oauth_timestamp, oauth_signature_method, oauth_version="1.0", '
                    "oauth_body_hash, oauth_signature. Sign with Mastercard's oauth1 signer "
                    "libraries. OpenAPI has no OAuth 1.0a scheme, hence apiKey.",
                }
            },
            "schemas": _schemas(settings),
            "parameters": _parameters(),
            "headers": _headers(),
            "examples": _mastercard_examples()
            | _order_examples()
            | _error_examples(settings)
            | _catalog_examples(),
        },
    }


# --- the catalog (tfs/catalog; docs/catalog.md) -----------------------------------------------

CATALOG_SOURCE = e.CATALOG
IMAGE = "https://www.loyaltygateway.com/rewards/ImageDisplayServlet?file=/apps_01/"
ITEM_TEXT = limits.MAX_ITEM_TEXT_LENGTH
LANGUAGE_PATTERN = f"^{catalog_document.LANGUAGE.pattern}$"


def _int64(description: str, example: Any = None, **extra: Any) -> Obj:
    out: Obj = {"type": "integer", "format": "int64", "description": description}
    if example is not None:
        out["example"] = example
    return out | extra


def _flag(description: str, example: bool) -> Obj:
    return {"type": "boolean", "description": description, "example": example}


def _catalog_schemas() -> Obj:
    """Mastercard's CatalogDetails, Catalog, RewardItems, RewardItem and RedemptionFees: the
    same names, fields, types, formats and maxLengths. What Mastercard leaves optional is
    required here because every answer holds it."""
    personalization = _object(
        "Personalisation settings. (Mastercard's schema says required: "
        "[personalizationInformation], a property the object does not have; here the three "
        "fields are always answered, {isRequired: false, length: 0, label: ''} when the item "
        "has none.)",
        {
            "isRequired": _flag(
                "Indicates if it is required to enter personalized information for the reward "
                "item.",
                False,
            ),
            "length": _int64(
                "The number of allowable characters in the personalization message.",
                2000,
                minimum=0,
            ),
            "label": _text(
                "The label displayed on the personalization information field in the requested "
                "language ('' when the item has none).",
                limits.MAX_LABEL_LENGTH,
                "No Translation Available",
            ),
        },
        "isRequired length label",
    )
    flags = {
        "shippingAddressRequired": _flag(
            "Indicates whether a Shipping Address (Physical or PO Box Address) is required.", True
        ),
        "isRecurringType": _flag(
            "Reward Matrix Item is allowed for recurring redemptions only if the program is "
            "configured for recurring redemptions.",
            True,
        ),
        "isRedeemable": _flag(
            "Indicates if the reward item can be redeemed (unredeemable items are listed too).",
            True,
        ),
        "physicalAddressRequired": _flag(
            "Indicates whether the reward item will be shipped to a physical address (not a PO "
            "Box address).",
            True,
        ),
        "isSingleQuantityType": _flag(
            "Indicates whether the reward item can only be redeemed with a quantity of one.",
            False,
        ),
        "emailAddressRequired": _flag(
            "Indicates if an email address is required for the reward Item when redeemed. This "
            "is typical for eCerts that must be delivered via email.",
            False,
        ),
    }
    assert tuple(flags) == catalog_document.FLAGS
    return {
        "CatalogDetails": _object(
            "Every level of the program's catalog hierarchy, parents before children "
            "(depth-first, siblings in the imported document's order).",
            {"catalogs": _array(_schema("Catalog"), "catalogs")},
            "catalogs",
        ),
        "Catalog": _object(
            "One level of the program's catalog hierarchy.",
            {
                "id": _int64(
                    "The internal Mastercard catalog hierarchy ID for the rewards program.", 8032
                ),
                "name": _text(
                    "The description for the reward catalog hierarchy level in the requested "
                    "language (the program's default language where it has no translation).",
                    limits.MAX_CATALOG_NAME_LENGTH,
                    "Gift Cards",
                ),
                "imageURL": _text(
                    "The URL where the reward catalog hierarchy image can be referenced from.",
                    ITEM_TEXT,
                    IMAGE + "mcrewards_content/Catalog/en_US/categories/noimage.jpg",
                ),
                "parentCatalogId": _int64(
                    "The parent reward catalog hierarchy to which the reward catalog hierarchy "
                    "is directly under. A null value indicates that the reward catalog "
                    "hierarchy is a top-level hierarchy.",
                    7991,
                    nullable=True,
                ),
                "hasRewardItems": _flag(
                    "Indicates that the reward catalog hierarchy is the lowest level (a leaf) "
                    "and therefore has the reward items associated to it; true even for a leaf "
                    "that holds no item yet.",
                    True,
                ),
            },
            "id name imageURL parentCatalogId hasRewardItems",
        ),
        "RewardItems": _object(
            "The reward items of the catalog (of every leaf below it, each once, for a level "
            "above the leaves) that pass the filters, in the imported document's order.",
            {"rewardItems": _array(_schema("RewardItem"), "rewardItems")},
            "rewardItems",
        ),
        "RewardItem": _object(
            "A reward item in the requested language. A text missing in that language is the "
            "program's default language's; an optional text given in none is ''.",
            {
                "id": _int64(
                    "The internal Mastercard ID assigned to the program matrix (Reward) item.",
                    74568,
                ),
                "shortDescription": _text(
                    "The short description of the reward item.", ITEM_TEXT, "$25 Olive Garden"
                ),
                "longDescription": _text(
                    "The long description of the reward item.",
                    ITEM_TEXT,
                    "$25 Olive Garden Gift Card",
                ),
                "imageURL": _text(
                    "The URL that links to the image used by the reward item.",
                    ITEM_TEXT,
                    IMAGE + "mcrewards_content/Catalog/en_US/items/OliveGC25.jpg",
                ),
                "pointValue": {
                    "type": "number",
                    "minimum": 0,
                    "description": "The point value of the reward item.",
                    "example": 25.23,
                },
                **flags,
                "orderInformation": _text(
                    "The shipping message associated with the reward matrix item's reward "
                    "category in the requested language.",
                    ITEM_TEXT,
                    "Please allow 7-10 days for gift cards to arrive",
                ),
                "personalizationInformation": personalization,
                "redemptionFees": _array(_schema("RedemptionFees"), "redemptionFees"),
            },
            "id shortDescription longDescription imageURL pointValue "
            + " ".join(catalog_document.FLAGS)
            + " orderInformation personalizationInformation redemptionFees",
        ),
        "RedemptionFees": _object(
            "A fee of redeeming the item.",
            {
                "description": _text(
                    "Description of the fee associated with this reward item.",
                    limits.MAX_FEE_DESCRIPTION_LENGTH,
                    "Point purchase",
                ),
                "amount": {
                    "type": "number",
                    "minimum": 0,
                    "description": "The fee associated with this reward item.",
                    "example": 50,
                },
                "quantityLevel": _flag(
                    "Indicates if the redemption fee amount will be multiplied by the quantity "
                    "on the redemption.",
                    True,
                ),
            },
            "description amount quantityLevel",
        ),
    }


def _localized(what: str, max_len: int) -> Obj:
    return {
        "type": "object",
        "description": f"{what}: a text (1 to {max_len} characters, no control characters but "
        "line breaks and tabs) by language. Keys are languages of the document's languages; "
        "the default language (the first) is required.",
        "additionalProperties": {"type": "string", "minLength": 1, "maxLength": max_len},
        "minProperties": 1,
        "maxProperties": limits.MAX_PROGRAM_LANGUAGES,
    }


def _document_id(what: str, example: int) -> Obj:
    return _int64(what, example, minimum=1)


def _strings(description: str, max_count: int, max_len: int) -> Obj:
    item = {"type": "string", "minLength": 1, "maxLength": max_len}
    return _array(item, description, maxItems=max_count)


def _image_url(what: str) -> Obj:
    return _text(f"The URL of the {what}'s image: http or https.", ITEM_TEXT)


def _catalog_document_schemas() -> Obj:
    flags = {
        flag: {"type": "boolean", "default": False, "description": f"As RewardItem.{flag}."}
        for flag in catalog_document.FLAGS
    }
    return {
        "CatalogDocument": _object(
            "Ours: one program's whole catalog, as imported (PUT) and exported (GET). An export "
            "is the normalised document (defaults filled in, levels parents first, repeated "
            "product codes and keywords dropped): importing it again changes nothing. A field "
            "not named here is a fault.",
            {
                "programId": _document_id("The rewards program (the URL's).", 49631),
                "languages": _array(
                    {"type": "string", "pattern": LANGUAGE_PATTERN},
                    "The program's languages, no repeats; the first is the default.",
                    minItems=1,
                    maxItems=limits.MAX_PROGRAM_LANGUAGES,
                    uniqueItems=True,
                    example=["en_US", "fr_CA"],
                ),
                "catalogs": _array(
                    _schema("CatalogDocumentLevel"),
                    "The hierarchy's levels. Every parentCatalogId names a level of the "
                    f"document; no cycles; at most {limits.MAX_CATALOG_DEPTH} levels deep.",
                    maxItems=limits.MAX_CATALOG_LEVELS,
                ),
                "rewardItems": _array(
                    _schema("CatalogDocumentItem"),
                    "The reward items.",
                    maxItems=limits.MAX_REWARD_ITEMS,
                ),
            },
            "programId languages",
        ),
        "CatalogDocumentLevel": _object(
            "Ours: one level of the hierarchy.",
            {
                "id": _document_id("Unique among the levels (Catalog.id).", 8032),
                "parentCatalogId": _int64(
                    "The level above; null (or absent) at the top.", 7991, nullable=True, minimum=1
                ),
                "imageURL": _image_url("level"),
                "name": _localized("Catalog.name", limits.MAX_CATALOG_NAME_LENGTH),
            },
            "id imageURL name",
        ),
        "CatalogDocumentItem": _object(
            "Ours: one reward item.",
            {
                "id": _document_id("Unique among the items (RewardItem.id).", 74568),
                "catalogIds": _array(
                    _int64("A leaf level (one with no level below it).", 8032, minimum=1),
                    "The leaves the item is on.",
                    minItems=1,
                    maxItems=limits.MAX_ITEM_CATALOGS,
                ),
                "pointValue": {
                    "type": "number",
                    "minimum": 0,
                    "maximum": catalog_document.MAX_AMOUNT,
                    "description": "RewardItem.pointValue.",
                    "example": 25.23,
                },
                "imageURL": _image_url("item"),
                "shortDescription": _localized("RewardItem.shortDescription", ITEM_TEXT),
                "longDescription": _localized("RewardItem.longDescription", ITEM_TEXT),
                "orderInformation": _localized("RewardItem.orderInformation", ITEM_TEXT),
                **flags,
                "personalizationInformation": _object(
                    "RewardItem.personalizationInformation.",
                    {
                        "isRequired": {"type": "boolean", "default": False},
                        "length": _int64("Characters allowed.", 2000, minimum=0, default=0),
                        "label": _localized(
                            "RewardItem.personalizationInformation.label", limits.MAX_LABEL_LENGTH
                        ),
                    },
                ),
                "redemptionFees": _array(
                    _schema("CatalogDocumentFee"),
                    "RewardItem.redemptionFees.",
                    maxItems=limits.MAX_REDEMPTION_FEES,
                ),
                "productCodes": _strings(
                    "The bank products (product_code) the item is available to; none: all.",
                    limits.MAX_ITEM_PRODUCT_CODES,
                    limits.MAX_PRODUCT_CODE_LENGTH,
                ),
                "keywords": _strings(
                    "Words the keyword filter finds the item by (besides its descriptions).",
                    limits.MAX_ITEM_KEYWORDS,
                    limits.MAX_KEYWORD_LENGTH,
                ),
            },
            "id catalogIds pointValue imageURL shortDescription",
        ),
        "CatalogDocumentFee": _object(
            "Ours: one redemption fee.",
            {
                "description": _localized(
                    "RedemptionFees.description", limits.MAX_FEE_DESCRIPTION_LENGTH
                ),
                "amount": {
                    "type": "number",
                    "minimum": 0,
                    "maximum": catalog_document.MAX_AMOUNT,
                    "description": "RedemptionFees.amount.",
                },
                "quantityLevel": {"type": "boolean", "default": False},
            },
            "description amount",
        ),
        "CatalogImportResult": _object(
            "Ours: what an import stored.",
            {
                "programId": _int64("The program.", 49631),
                "version": _int64(
                    "The program's catalog version: 1 after the first import, one more for each "
                    "import that changed something (the same document again keeps it).",
                    1,
                    minimum=1,
                ),
                "catalogs": {"type": "integer", "minimum": 0, "description": "Levels stored."},
                "rewardItems": {"type": "integer", "minimum": 0, "description": "Items stored."},
            },
            "programId version catalogs rewardItems",
        ),
    }


def _catalog_parameters() -> Obj:
    """Mastercard's parameters (the same component names, `in`, required, types and formats),
    and ours for the platform's routes."""
    language = (
        "Language for the requested information. Customer preferred language code. This must "
        "be a valid language code that is configured for Mastercard program (else 400 "
        f"INVALID_FIELD_VALUE). Without it: {catalog_usecases.DEFAULT_LANGUAGE} when the program "
        "configures it, else the program's default language."
    )
    product = (
        "The reward product identifier for the associated account, as defined by the client "
        "and configured during the implementation of the program. Keeps the items that list it "
        "and those that list no product code; an unknown code is not an error."
    )
    short = {
        "type": "string",
        "minLength": 1,
        "maxLength": limits.MAX_PRODUCT_CODE_LENGTH,
        "pattern": fields.TEXT_PATTERN,
    }
    return {
        "CatalogId": _param(
            "catalog_id",
            "path",
            "The internal Mastercard Catalog Hierarchy ID for the rewards program (a Catalog.id "
            "of getCatalogs; one the program's catalog does not hold is 400 INVALID_INPUT).",
            {"type": "integer", "format": "int64"},
            required=True,
            example=1234,
        ),
        "ProgramId": _param(
            "program_id",
            "query",
            "Unique identifier of a rewards program. Missing: 400 MISSING_REQUIRED_FIELD; not "
            "an integer: 400 INVALID_FIELD_VALUE.",
            {"type": "integer", "format": "int64"},
            required=True,
            example=49631,
        ),
        "ProductCode": _param(
            "product_code", "query", product, short, required=False, example="FIDOCASHBACK"
        ),
        "Language": _param(
            "language",
            "query",
            language,
            {"type": "string", "pattern": LANGUAGE_PATTERN},
            example="en_US",
        ),
        "MinPoints": _param(
            "min_points",
            "query",
            "Minimum point value for a reward item (inclusive; not above max_points).",
            {"type": "integer"},
            example=0,
        ),
        "MaxPoints": _param(
            "max_points",
            "query",
            "Maximum point value for a reward item (inclusive).",
            {"type": "integer"},
            example=9999,
        ),
        "Keyword": _param(
            "keyword",
            "query",
            "Filters reward items based on the keywords provided: whole words, case and accents "
            "folded, every word required, in the short and long descriptions (any language) "
            f"and the item's keywords; no stemming. At most {limits.MAX_KEYWORD_QUERY_WORDS} "
            "words.",
            {
                "type": "string",
                "minLength": 1,
                "maxLength": limits.MAX_KEYWORD_QUERY_LENGTH,
                "pattern": fields.TEXT_PATTERN,
            },
            example="catalog",
        ),
        "ProgramIdPath": _param(
            "program_id",
            "path",
            "Unique identifier of a rewards program.",
            {"type": "integer", "format": "int64"},
            required=True,
            example=49631,
        ),
        "IfNoneMatch": _param(
            "If-None-Match",
            "header",
            "Optional. The ETag of an earlier answer to the same URL (or *): 304 with no body "
            "while the program's catalog is unchanged.",
            {"type": "string"},
        ),
    }


def _catalog_headers() -> Obj:
    return {
        "ETag": {
            "description": "Strong; changes with every import that changes the program's "
            'catalog, and only then ("none" while it has none). Per URL.',
            "required": True,
            "schema": {"type": "string", "pattern": '^"([0-9a-f]{32}|none)"$'},
        },
        "Cache-Control": {
            "description": "Catalog answers may be kept by the caller, not by shared caches.",
            "required": True,
            "schema": {"type": "string", "enum": [catalog_routes.CACHE_CONTROL]},
        },
    }


def _catalog_document_example() -> Obj:
    url = "https://img.example.com/"
    return {
        "programId": 49631,
        "languages": ["en_US", "fr_CA"],
        "catalogs": [
            {
                "id": 7991,
                "parentCatalogId": None,
                "imageURL": url + "root.jpg",
                "name": {"en_US": "Rewards", "fr_CA": "Récompenses"},
            },
            {
                "id": 8032,
                "parentCatalogId": 7991,
                "imageURL": url + "gift.jpg",
                "name": {"en_US": "Gift Cards", "fr_CA": "Cartes-cadeaux"},
            },
        ],
        "rewardItems": [
            {
                "id": 74568,
                "catalogIds": [8032],
                "pointValue": 25.23,
                "imageURL": url + "OliveGC25.jpg",
                "shortDescription": {"en_US": "$25 Olive Garden"},
                "longDescription": {"en_US": "$25 Olive Garden Gift Card"},
                "orderInformation": {"en_US": "Please allow 7-10 days for gift cards to arrive"},
                "shippingAddressRequired": True,
                "isRecurringType": True,
                "isRedeemable": True,
                "physicalAddressRequired": True,
                "isSingleQuantityType": False,
                "emailAddressRequired": False,
                "personalizationInformation": {
                    "isRequired": False,
                    "length": 2000,
                    "label": {"en_US": "Message", "fr_CA": "Message personnel"},
                },
                "redemptionFees": [
                    {
                        "description": {"en_US": "Point purchase"},
                        "amount": 50,
                        "quantityLevel": True,
                    }
                ],
                "productCodes": ["FIDOCASHBACK"],
                "keywords": ["dining", "restaurant"],
            }
        ],
    }


def _catalog_examples() -> Obj:
    doc = _catalog_document_example()
    top, leaf = doc["catalogs"]
    (item,) = doc["rewardItems"]
    image = IMAGE + "mcrewards_content/Catalog/en_US/categories/noimage.jpg"

    def level(lv: Obj, image_url: str, leaf: bool) -> Obj:
        return {
            "id": lv["id"],
            "name": lv["name"]["en_US"],
            "imageURL": image_url,
            "parentCatalogId": lv["parentCatalogId"],
            "hasRewardItems": leaf,
        }

    answered = {
        "id": item["id"],
        "shortDescription": "$25 Olive Garden",
        "longDescription": "$25 Olive Garden Gift Card",
        "imageURL": IMAGE + "mcrewards_content/Catalog/en_US/items/OliveGC25.jpg",
        "pointValue": 25.23,
        **{flag: item[flag] for flag in catalog_document.FLAGS},
        "orderInformation": "Please allow 7-10 days for gift cards to arrive",
        "personalizationInformation": {"isRequired": False, "length": 2000, "label": "Message"},
        "redemptionFees": [{"description": "Point purchase", "amount": 50, "quantityLevel": True}],
    }
    faults = [
        e.ErrorItem(CATALOG_SOURCE, code, f"{path}: {why}", details=path)
        for code, path, why in (
            ("MISSING_REQUIRED_FIELD", "catalogs[1].imageURL", "is required."),
            (
                "INVALID_FIELD_VALUE",
                "rewardItems[3].shortDescription.en_US",
                f"must be a text of 1 to {ITEM_TEXT} characters.",
            ),
            (
                "INVALID_FIELD_VALUE",
                "rewardItems[4].catalogIds[0]",
                "names catalog 7991, which has levels below it: items go on leaves.",
            ),
        )
    ]
    return {
        "CatalogDetailsExample": {
            "summary": "A top level and a leaf below it",
            "value": {"catalogs": [level(top, image, False), level(leaf, image, True)]},
        },
        "NoCatalogExample": {
            "summary": "A program with no catalog imported",
            "value": {"catalogs": []},
        },
        "RewardItemsExample": {
            "summary": "Mastercard's field examples",
            "value": {"rewardItems": [answered]},
        },
        "CatalogDocumentExample": {"summary": "Two levels, one item", "value": doc},
        "CatalogImportResultExample": {
            "summary": "The first import",
            "value": {"programId": 49631, "version": 1, "catalogs": 2, "rewardItems": 1},
        },
        "InvalidProgramIdExample": _exc(
            "program_id is not an integer",
            e.InvalidCatalogParameter("program_id must be an integer."),
        ),
        "UnconfiguredLanguageExample": _exc(
            "A language the program does not configure",
            e.InvalidCatalogParameter("language de_DE is not configured for program 49631."),
        ),
        "InvalidPointsExample": _exc(
            "min_points above max_points",
            e.InvalidCatalogParameter("min_points must not be greater than max_points."),
        ),
        "UnknownCatalogExample": _exc("catalog_id not in the catalog", e.UnknownCatalog()),
        "InvalidCatalogDocumentExample": _errors("Every fault of the document", *faults),
        "CatalogNotFoundExample": _exc("No catalog imported", e.CatalogNotFound()),
        "CatalogTooLargeExample": _exc(
            "Too many bytes",
            e.RequestTooLarge(
                f"Request body is larger than {limits.MAX_CATALOG_DOCUMENT_BYTES} bytes."
            ),
        ),
        "InvalidJsonExample": _exc(
            "Not JSON", e.InvalidRequestBody("Request body is not valid JSON.")
        ),
    }


CATALOG_401 = (
    "User is not found in the reward programs (Mastercard's words). INVALID_CLIENT_ID (Source "
    f"{CATALOG_SOURCE}): a vendor's credential, or a customer's not bound to program_id; "
    "AUTHENTICATION_FAILED (Source Gateway): unknown or revoked consumer key, bad signature, "
    "stale oauth_timestamp or reused oauth_nonce"
)


def _cacheable(description: str, schema: str, *examples: str) -> Obj:
    return _ok(description, _schema(schema), *examples, headers=("ETag", "Cache-Control"))


def _not_modified() -> Obj:
    return {
        "description": "Not Modified: If-None-Match holds the current ETag (or *). No body.",
        "headers": _response_headers("ETag", "Cache-Control"),
    }


def _catalog_read_responses(ok: Obj, bad: str, *examples: str) -> Obj:
    common = _common("UnauthorizedExample", "AuthenticationFailedExample")
    common["401"] = _error(f"{CATALOG_401}.", "UnauthorizedExample", "AuthenticationFailedExample")
    return {
        "200": ok,
        "304": _not_modified(),
        "400": _error(
            f"Something was wrong with the request (Source {CATALOG_SOURCE}). "
            f"{AUTH_400}; MISSING_REQUIRED_FIELD: no program_id; INVALID_FIELD_VALUE (the "
            f"Description names the parameter): {bad}, a parameter given twice.",
            "BadRequestExample",
            *examples,
            "InvalidAuthHeaderExample",
        ),
        **common,
    }


def _import_responses() -> Obj:
    size = limits.MAX_CATALOG_DOCUMENT_BYTES
    return {
        "200": _ok(
            "Imported: the program's catalog is this document now.",
            _schema("CatalogImportResult"),
            "CatalogImportResultExample",
        ),
        "400": _error(
            f"{AUTH_400}; INVALID_REQUEST_BODY: not JSON; otherwise every fault of the document "
            f"(at most {limits.MAX_REPORTED_FAULTS}, the last saying how many more), each "
            f"Source {CATALOG_SOURCE}, ReasonCode INVALID_FIELD_VALUE or "
            "MISSING_REQUIRED_FIELD, Description '<path>: <why>' and Details the path (for "
            "example rewardItems[3].shortDescription.en_US). A programId other than the URL's "
            "is a fault too; program_id not an integer is INVALID_FIELD_VALUE. Nothing changed.",
            "InvalidCatalogDocumentExample",
            "InvalidJsonExample",
            "InvalidAuthHeaderExample",
        ),
        **_common("UnauthorizedOrderExample", "AuthenticationFailedExample"),
        "413": _error(f"REQUEST_TOO_LARGE: more than {size} bytes.", "CatalogTooLargeExample"),
        "415": _error(
            "UNSUPPORTED_MEDIA_TYPE: Content-Type is neither application/json nor +json.",
            "UnsupportedMediaTypeExample",
        ),
    }


def _export_responses() -> Obj:
    return {
        "200": _ok(
            "The program's catalog document as stored (normalised).",
            _schema("CatalogDocument"),
            "CatalogDocumentExample",
        ),
        "400": _error(
            f"{AUTH_400}; INVALID_FIELD_VALUE: program_id not an integer.",
            "InvalidProgramIdExample",
            "InvalidAuthHeaderExample",
        ),
        **_common("UnauthorizedExample", "UnauthorizedOrderExample", "AuthenticationFailedExample"),
        "404": _error("CATALOG_NOT_FOUND: the program has no catalog.", "CatalogNotFoundExample"),
    }


def _catalog_paths(settings: Settings) -> Obj:
    def params(*names: str) -> list[Obj]:
        return [_ref("parameters", n) for n in (*names, "IfNoneMatch")]

    get_catalogs = _operation(
        "getCatalogs",
        "catalogs",
        "Returns a list of all rewards catalogs for a given program.",
        _catalog_read_responses(
            _cacheable(
                "Rewards catalog response for a given program (empty when it has no catalog).",
                "CatalogDetails",
                "CatalogDetailsExample",
                "NoCatalogExample",
            ),
            "program_id not an integer, a language the program does not configure",
            "InvalidProgramIdExample",
            "UnconfiguredLanguageExample",
        ),
        description="Allows the retrieval of the rewards catalog for a given program. This "
        "method will provide all levels of the program's catalog hierarchy. With product_code: "
        "the levels that hold an item available to that product, themselves or below them. "
        "Customer credentials of the program and platform credentials.",
        parameters=params("ProgramId", "Language", "ProductCode"),
    )
    get_items = _operation(
        "getItems",
        "catalogs",
        "Returns a list of all reward items for a given catalog.",
        _catalog_read_responses(
            _cacheable(
                "Reward Matrix Item details result for a given set of items that are associated "
                "with a catalog hierarchy (empty when the program has no catalog).",
                "RewardItems",
                "RewardItemsExample",
            ),
            "program_id, catalog_id, min_points or max_points not an integer, min_points above "
            "max_points, a language the program does not configure, an empty or too long "
            "keyword or product_code; INVALID_INPUT: a catalog_id the program's catalog does "
            "not hold",
            "InvalidProgramIdExample",
            "UnconfiguredLanguageExample",
            "InvalidPointsExample",
            "UnknownCatalogExample",
        ),
        description="Returns a list of all reward items for a given catalog and search "
        "criteria. Customer credentials of the program and platform credentials.",
        parameters=params(
            "ProgramId", "CatalogId", "Language", "MinPoints", "MaxPoints", "Keyword", "ProductCode"
        ),
    )
    put = _operation(
        "importCatalog",
        "platform",
        "Import (replace) a program's whole catalog (ours; platform credentials only)",
        _import_responses(),
        description="Replaces the program's catalog atomically and bumps its version; readers "
        "see the old catalog or the new one, never a mix. The same document again (an export, "
        "say) changes nothing and keeps the version. Every fault is reported at once.",
        parameters=[_ref("parameters", "ProgramIdPath")],
        body=_body(
            "CatalogDocument",
            "CatalogDocumentExample",
            f"The program's whole catalog, at most {limits.MAX_CATALOG_DOCUMENT_BYTES} bytes.",
        ),
    )
    export = _operation(
        "exportCatalog",
        "platform",
        "Export a program's catalog (ours; platform credentials only)",
        _export_responses(),
        description="The document as stored: importing it again changes nothing.",
        parameters=[_ref("parameters", "ProgramIdPath")],
    )
    base = settings.base_path
    return {
        f"{base}/catalogs": {"get": get_catalogs},
        f"{base}/catalogs/{{catalog_id}}/items": {"get": get_items},
        f"{base}/programs/{{program_id}}/catalog": {"put": put, "get": export},
    }


# --- the page ---------------------------------------------------------------------------------

_CSS = (
    "body{font:15px/1.45 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;"
    "text-align:left;vertical-align:top}pre{background:#f4f4f4;padding:.5rem;overflow:auto}"
    ".m{font-weight:bold;text-transform:uppercase}p,td{white-space:pre-line}"
)


def _e(value: Any) -> str:
    return html.escape(str(value))


def _resolve(doc: Obj, node: Obj) -> Obj:
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _type(schema: Obj) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return f"<a href='#schema-{_e(name)}'>{_e(name)}</a>"
    if schema.get("type") == "array":
        return "array of " + _type(schema["items"])
    if "oneOf" in schema:
        return "one of " + " or ".join(_type(s) for s in schema["oneOf"])
    return _e(schema.get("type", "any") + (f" ({schema['format']})" if "format" in schema else ""))


def _limits(schema: Obj) -> str:
    keys = ("enum", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems")
    found = [f"{k}: {schema[k]}" for k in (*keys, "default", "nullable", "readOnly") if k in schema]
    return _e(", ".join(found))


def _table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    if not rows:
        return ""
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _operations(doc: Obj) -> Iterator[tuple[str, str, Obj]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield path, method, op


def _html_response(doc: Obj, status: str, response: Obj) -> tuple[str, ...]:
    response = _resolve(doc, response)
    media = response.get("content", {})
    schema = "; ".join(f"{_e(m)}: {_type(c['schema'])}" for m, c in media.items())
    examples = "".join(
        f"<details><summary>{_e(name)}</summary><pre>"
        f"{_e(json.dumps(_resolve(doc, ex)['value'], indent=2))}</pre></details>"
        for c in media.values()
        for name, ex in c.get("examples", {}).items()
    )
    headers = _e(", ".join(response.get("headers", {})))
    return _e(status), _e(response["description"]) + examples, schema, headers


def _html_operation(doc: Obj, path: str, method: str, op: Obj) -> str:
    params = [_resolve(doc, p) for p in op.get("parameters", [])]
    rows = [
        (
            _e(p["name"]),
            _e(p["in"]),
            "yes" if p.get("required") else "no",
            _type(p["schema"]),
            _e(p.get("description", "")),
        )
        for p in params
    ]
    body = op.get("requestBody")
    body_html = ""
    if body:
        body_html = (
            "<p>Request body: "
            + "; ".join(f"{_e(m)}: {_type(c['schema'])}" for m, c in body["content"].items())
            + "</p>"
        )
    secured = op.get("security", doc.get("security")) != []
    return (
        f"<h3 id='op-{_e(op['operationId'])}'><span class=m>{_e(method)}</span> {_e(path)}</h3>"
        f"<p><b>{_e(op['operationId'])}</b>: {_e(op['summary'])}</p>"
        f"<p>{_e(op.get('description', ''))}</p>"
        f"<p>Security: {'Mastercard OAuth 1.0a' if secured else 'none'}</p>"
        + _table(("Parameter", "In", "Required", "Type", "Description"), rows)
        + body_html
        + _table(
            ("Status", "Description", "Body", "Headers"),
            [_html_response(doc, s, r) for s, r in op["responses"].items()],
        )
    )


def _html_schema(name: str, schema: Obj) -> str:
    required = set(schema.get("required", ()))
    rows = [
        (
            _e(prop),
            _type(sub),
            "yes" if prop in required else "",
            _limits(sub),
            _e(sub.get("description", "")),
        )
        for prop, sub in schema.get("properties", {}).items()
    ]
    shape = "" if rows else f"<p>{_type(schema)} {_limits(schema)}</p>"
    return (
        f"<h3 id='schema-{_e(name)}'>{_e(name)}</h3><p>{_e(schema.get('description', ''))}</p>"
        + shape
        + _table(("Field", "Type", "Required", "Limits", "Description"), rows)
    )


def render_html(doc: Obj) -> str:
    """A self-contained reference page of the document (no script, no external resource)."""
    info = doc["info"]
    toc = "".join(
        f"<li><a href='#op-{_e(op['operationId'])}'>{_e(m.upper())} {_e(p)}</a> "
        f"({_e(op['operationId'])})</li>"
        for p, m, op in _operations(doc)
    )
    schemes = doc["components"]["securitySchemes"]
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_e(info['title'])}"
        f"</title><style>{_CSS}</style></head><body><h1>{_e(info['title'])} {_e(info['version'])}"
        f"</h1><p>{_e(info['description'])}</p><p>The document: <a href='/openapi.json'>"
        f"/openapi.json</a> (OpenAPI {_e(doc['openapi'])})</p><h2>Security</h2>"
        + "".join(f"<p><b>{_e(n)}</b>: {_e(s['description'])}</p>" for n, s in schemes.items())
        + f"<h2>Operations</h2><ul>{toc}</ul>"
        + "".join(_html_operation(doc, p, m, op) for p, m, op in _operations(doc))
        + "<h2>Schemas</h2>"
        + "".join(_html_schema(n, s) for n, s in doc["components"]["schemas"].items())
        + "</body></html>"
    )


def routes(settings: Settings) -> list[Route]:
    document = openapi(settings)
    body, page = render.encode(document), render_html(document)

    async def openapi_json(_request: Request) -> Response:
        return Response(body, media_type=JSON)

    async def docs_page(_request: Request) -> Response:
        return HTMLResponse(page)

    return [Route("/openapi.json", openapi_json), Route("/docs", docs_page)]
