"""JSON shapes of the answers: TFS schema names and field spellings."""

from __future__ import annotations

from typing import Any

from msgspec import to_builtins

from tfs.clock import iso
from tfs.errors import ErrorItem, TfsError
from tfs.orders.rules import FAILED
from tfs.orders.usecases import PLACEMENT_FAILED, OrderOutcome, PlacementOutcome
from tfs.orders.views import (
    applied_update,
    compact,
    encode,
    fitted,
    history_entry,
    order_detail,
    order_status,
)

__all__ = [
    "encode",
    "error",
    "errors",
    "fitted",
    "history_entry",
    "iso",
    "order_detail",
    "order_status",
    "outcome",
    "outcomes",
    "placements",
]


def outcome(o: OrderOutcome) -> Any:  # a dict, or a Struct of views
    if o.rejected is not None:
        return compact(
            {
                "orderId": o.order_id,
                "mcOrderId": o.mc_order_id,
                "status": FAILED,
                "errorCode": o.rejected.code,
                "description": o.rejected.description,
            }
        )
    assert o.applied is not None
    return applied_update(o.applied, o.received_at)


def outcomes(items: list[OrderOutcome]) -> bytes:
    return encode([outcome(o) for o in items])


def errors(items: list[ErrorItem]) -> bytes:
    return encode({"Errors": {"Error": [i.to_json() for i in items]}})


def error(exc: TfsError) -> bytes:
    return errors(exc.items)


def placement(o: PlacementOutcome) -> dict[str, Any]:
    """One element of a batch placement's answer: the result, and the order or the error."""
    if o.result == PLACEMENT_FAILED:
        return compact(
            {
                "mcOrderId": o.mc_order_id,
                "result": o.result,
                "errorCode": o.error.reason_code,
                "description": o.error.description,
            }
        )
    assert o.record is not None
    # The id first, then the result, then the order (its id again in place): as placed.
    return {"mcOrderId": o.mc_order_id, "result": o.result, **to_builtins(order_detail(o.record))}


def placements(items: list[PlacementOutcome]) -> bytes:
    return encode([placement(o) for o in items])
