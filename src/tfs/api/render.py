"""JSON shapes of the answers: TFS schema names and field spellings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from tfs.domain.orders import FAILED, ItemState
from tfs.errors import ErrorItem, TfsError
from tfs.storage.repositories import OrderRecord
from tfs.usecases import OrderOutcome

_encoder = msgspec.json.Encoder()


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def iso(value: datetime) -> str:
    value = value.astimezone(UTC)
    spec = "seconds" if value.microsecond == 0 else "milliseconds"
    return value.isoformat(timespec=spec).replace("+00:00", "Z")


def _compact(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None}


def _item(item: ItemState, record: OrderRecord) -> dict[str, Any]:
    return _compact(
        {
            "id": item.id,
            "mcId": item.mc_id,
            "status": item.status.value,
            "trackingNumber": item.tracking_number,
            "trackingUrl": item.tracking_url,
            "errors": [
                _compact(
                    {
                        "fieldName": e.field_name,
                        "code": e.code,
                        "message": e.message,
                        "receivedAt": iso(e.received_at),
                    }
                )
                for e in record.errors.get(item.pk, ())
            ],
            "histories": [
                _compact(
                    {
                        "orderItemNumber": h.order_item_number or item.id,
                        "eventType": h.event_type,
                        "eventDate": iso(h.event_date) if h.event_date else None,
                        "note": h.note,
                        "receivedAt": iso(h.received_at),
                    }
                )
                for h in record.histories.get(item.pk, ())
            ],
        }
    )


def order_status(record: OrderRecord) -> dict[str, Any]:
    """`OrderStatus`: the order as stored, as a vendor sees it."""
    s = record.state
    return _compact(
        {
            "orderId": s.order_id,
            "mcOrderId": s.mc_order_id,
            "status": s.status.value,
            "orderItems": [_item(i, record) for i in s.items],
        }
    )


def order_detail(record: OrderRecord) -> dict[str, Any]:
    """`OrderStatus` plus what the platform also holds: vendor, program, revision, times."""
    s = record.state
    out = order_status(record)
    out.update(
        _compact(
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


def outcome(o: OrderOutcome) -> dict[str, Any]:
    if o.rejected is not None:
        return _compact(
            {
                "orderId": o.order_id,
                "mcOrderId": o.mc_order_id,
                "status": FAILED,
                "errorCode": o.rejected.code,
                "description": o.rejected.description,
            }
        )
    assert o.record is not None
    return order_status(o.record)


def outcomes(items: list[OrderOutcome]) -> bytes:
    return encode([outcome(o) for o in items])


def errors(items: list[ErrorItem]) -> bytes:
    return encode({"Errors": {"Error": [i.to_json() for i in items]}})


def error(exc: TfsError) -> bytes:
    return errors(exc.items)
