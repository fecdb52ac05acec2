"""JSON views of orders, shared by the HTTP answers and the events that announce changes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import msgspec

from tfs import limits
from tfs.clock import iso
from tfs.orders.repository import ErrorRow, HistoryRow, OrderRecord
from tfs.orders.rules import AppliedUpdate, ItemState, NewError, NewHistory, OrderState

_encoder = msgspec.json.Encoder()


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def compact(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None}


def history_entry(
    h: HistoryRow | NewHistory, item: ItemState, received_at: datetime
) -> dict[str, Any]:
    return compact(
        {
            "orderItemNumber": h.order_item_number or item.id,
            "eventType": h.event_type,
            "eventDate": iso(h.event_date) if h.event_date else None,
            "note": h.note,
            "receivedAt": iso(received_at),
        }
    )


def error_entry(e: ErrorRow | NewError, received_at: datetime) -> dict[str, Any]:
    return compact(
        {
            "fieldName": e.field_name,
            "code": e.code,
            "message": e.message,
            "receivedAt": iso(received_at),
        }
    )


def _item_state(item: ItemState) -> dict[str, Any]:
    return compact(
        {
            "id": item.id,
            "mcId": item.mc_id,
            "status": item.status.value,
            "trackingNumber": item.tracking_number,
            "trackingUrl": item.tracking_url,
        }
    )


def _order_fields(s: OrderState) -> dict[str, Any]:
    return {"orderId": s.order_id, "mcOrderId": s.mc_order_id, "status": s.status.value}


def _platform_fields(s: OrderState, out: dict[str, Any]) -> dict[str, Any]:
    """What the platform also holds: per item what was placed; vendor, program, revision, times."""
    for shown, item in zip(out["orderItems"], s.items, strict=True):
        shown.update(
            compact(
                {
                    "rewardItemId": item.reward_item_id,
                    "description": item.description,
                    "quantity": item.quantity,
                }
            )
        )
    out.update(
        compact(
            {
                "vendorId": s.vendor_id,
                "programId": s.program_id,
                "revision": s.revision,
                "createdAt": iso(s.created_at) if s.created_at else None,
                "updatedAt": iso(s.updated_at) if s.updated_at else None,
            }
        )
    )
    return out


def order_state(s: OrderState) -> dict[str, Any]:
    """The order as the platform sees it, without history: events carry it (their `changes`
    carry each new entry), so that an event's size does not grow with the order's age."""
    out = compact(_order_fields(s))
    out["orderItems"] = [_item_state(i) for i in s.items]
    return _platform_fields(s, out)


def applied_update(applied: AppliedUpdate, received_at: datetime) -> dict[str, Any]:
    """`OrderStatus` answering a status update: the order as now stored, with the history
    entries and errors this update added (not those stored before: the answer's size is the
    request's, whatever the order holds), and its `revision`."""
    s = applied.order
    histories: dict[int, list[NewHistory]] = defaultdict(list)
    errors: dict[int, list[NewError]] = defaultdict(list)
    for h in applied.histories:
        histories[h.item_pk].append(h)
    for e in applied.errors:
        errors[e.item_pk].append(e)
    items = []
    for item in s.items:
        shown = _item_state(item)
        shown["errors"] = [error_entry(e, received_at) for e in errors.get(item.pk, ())]
        shown["histories"] = [
            history_entry(h, item, received_at) for h in histories.get(item.pk, ())
        ]
        items.append(shown)
    out = compact(_order_fields(s))
    out["orderItems"] = items
    out["revision"] = s.revision
    return out


def _tail(rows: list[Any], window: int) -> Iterable[Any]:
    return rows[-window:] if window > 0 else ()


def order_status(
    record: OrderRecord, window: int = limits.HISTORY_SHOWN_PER_ITEM
) -> dict[str, Any]:
    """`OrderStatus` as a vendor reads it: each item with its `window` most recently received
    history entries and errors, and how many it holds in all (`historyCount`, `errorCount`)."""
    s = record.state
    items = []
    for item in s.items:
        shown = _item_state(item)
        shown["errors"] = [
            error_entry(e, e.received_at) for e in _tail(record.errors.get(item.pk, []), window)
        ]
        shown["errorCount"] = record.error_counts.get(item.pk, 0)
        shown["histories"] = [
            history_entry(h, item, h.received_at)
            for h in _tail(record.histories.get(item.pk, []), window)
        ]
        shown["historyCount"] = record.history_counts.get(item.pk, 0)
        items.append(shown)
    out = compact(_order_fields(s))
    out["orderItems"] = items
    out["revision"] = s.revision
    return out


def order_detail(
    record: OrderRecord, window: int = limits.HISTORY_SHOWN_PER_ITEM
) -> dict[str, Any]:
    """`order_status` plus what the platform also holds (vendor, program, revision, times)."""
    return _platform_fields(record.state, order_status(record, window))


def windows() -> Iterator[int]:
    """The numbers of recent entries per item to try, largest first, until an order's answer
    fits in MAX_ANSWER_BYTES (none at all always fits: an order's own fields are bounded)."""
    yield from (limits.HISTORY_SHOWN_PER_ITEM, 5, 1, 0)


def fitted(record: OrderRecord, detail: bool) -> bytes:
    """The order's answer, with as many recent entries per item as fit in MAX_ANSWER_BYTES."""
    view = order_detail if detail else order_status
    body = b""
    for window in windows():
        body = encode(view(record, window))
        if len(body) <= limits.MAX_ANSWER_BYTES:
            break
    return body
