"""JSON views of orders, shared by the HTTP answers and the events that announce changes."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import msgspec

from tfs.domain.orders import ItemState
from tfs.storage.repositories import OrderRecord

_encoder = msgspec.json.Encoder()


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


@lru_cache(maxsize=8192)
def iso(value: datetime) -> str:
    """UTC, ISO-8601 with `Z`; cached: an answer and its event format the same times."""
    value = value.astimezone(UTC)
    spec = "seconds" if value.microsecond == 0 else "milliseconds"
    return value.isoformat(timespec=spec).replace("+00:00", "Z")


def compact(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None}


def _item(item: ItemState, record: OrderRecord, with_history: bool = True) -> dict[str, Any]:
    shown = compact(
        {
            "id": item.id,
            "mcId": item.mc_id,
            "status": item.status.value,
            "trackingNumber": item.tracking_number,
            "trackingUrl": item.tracking_url,
        }
    )
    if with_history:
        shown["errors"] = [
            compact(
                {
                    "fieldName": e.field_name,
                    "code": e.code,
                    "message": e.message,
                    "receivedAt": iso(e.received_at),
                }
            )
            for e in record.errors.get(item.pk, ())
        ]
        shown["histories"] = [
            compact(
                {
                    "orderItemNumber": h.order_item_number or item.id,
                    "eventType": h.event_type,
                    "eventDate": iso(h.event_date) if h.event_date else None,
                    "note": h.note,
                    "receivedAt": iso(h.received_at),
                }
            )
            for h in record.histories.get(item.pk, ())
        ]
    return shown


def order_status(record: OrderRecord, with_history: bool = True) -> dict[str, Any]:
    """`OrderStatus`: the order as stored, as a vendor sees it."""
    s = record.state
    return compact(
        {
            "orderId": s.order_id,
            "mcOrderId": s.mc_order_id,
            "status": s.status.value,
            "orderItems": [_item(i, record, with_history) for i in s.items],
        }
    )


def order_detail(record: OrderRecord, with_history: bool = True) -> dict[str, Any]:
    """`OrderStatus` plus what the platform also holds: vendor, program, revision, times.

    Without history (as in events, whose `changes` carry each new entry), the items leave out
    `histories` and `errors`, so that an event's size does not grow with the order's age.
    """
    s = record.state
    out = order_status(record, with_history)
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
