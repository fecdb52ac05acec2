"""An order the platform places with a vendor: its structure and validation, one at a time or
as the elements of a batch."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from tfs import limits
from tfs.errors import ORDER_MANAGEMENT, ErrorItem
from tfs.fields import printable
from tfs.orders.rules import ItemState, OrderState
from tfs.orders.statuses import Status
from tfs.orders.updates import field_code, field_label


@dataclass(frozen=True)
class PlacedItem:
    mc_id: str
    id: str | None
    reward_item_id: str | None
    description: str | None
    quantity: int


@dataclass(frozen=True)
class Placement:
    mc_order_id: str
    vendor_id: str
    order_id: str | None
    program_id: str | None
    items: tuple[PlacedItem, ...]

    def fingerprint(self) -> str:
        """Equal for placements that mean the same order (an identical repeat is harmless)."""
        canonical = json.dumps(
            [
                self.mc_order_id,
                self.vendor_id,
                self.order_id,
                self.program_id,
                [list(i.__dict__.values()) for i in self.items],
            ],
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def new_order(self) -> OrderState:
        return OrderState(
            mc_order_id=self.mc_order_id,
            vendor_id=self.vendor_id,
            order_id=self.order_id,
            program_id=self.program_id,
            status=Status.PENDING,
            revision=1,
            items=[
                ItemState(
                    pk=0,
                    mc_id=i.mc_id,
                    id=i.id,
                    status=Status.PENDING,
                    reward_item_id=i.reward_item_id,
                    description=i.description,
                    quantity=i.quantity,
                )
                for i in self.items
            ],
        )


def _fault(kind: str, path: str, description: str) -> ErrorItem:
    return ErrorItem(ORDER_MANAGEMENT, f"{kind}_{path}", description)


def _id(
    obj: dict[str, Any],
    field: str,
    path: str,
    faults: list[ErrorItem],
    required: bool = False,
    max_len: int = limits.MAX_ID_LENGTH,
    integer: bool = False,
) -> str | None:
    value = obj.get(field)
    code = f"{path}.{field_code(field)}" if path else field_code(field)
    if integer and type(value) is int and -(2**63) <= value < 2**63:
        value = str(value)  # program ids are (64-bit) integers in the catalog API
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            faults.append(
                _fault("MISSING_REQUIRED_FIELD", code, f"{field_label(field)} is blank or null.")
            )
        return None
    if not isinstance(value, str) or len(value) > max_len or not printable(value):
        faults.append(
            _fault(
                "INVALID_FIELD_VALUE",
                code,
                f"{field_label(field)} must be a string of at most {max_len} printable characters.",
            )
        )
        return None
    return value


def _quantity(obj: dict[str, Any], path: str, faults: list[ErrorItem]) -> int:
    value = obj.get("quantity", 1)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= limits.MAX_QUANTITY
    ):
        faults.append(
            _fault(
                "INVALID_FIELD_VALUE",
                f"{path}.QUANTITY",
                f"quantity must be an integer from 1 to {limits.MAX_QUANTITY}.",
            )
        )
        return 1
    return value


def parse_placement(obj: Any, prefix: str = "") -> tuple[Placement | None, list[ErrorItem]]:
    """A placement from a decoded JSON object, or the faults that prevent it."""
    faults: list[ErrorItem] = []
    if not isinstance(obj, dict):
        return None, [
            _fault("INVALID_REQUEST_BODY", prefix or "ORDER", "An order must be an object.")
        ]
    mc_order_id = _id(obj, "mcOrderId", prefix, faults, required=True)
    vendor_id = _id(obj, "vendorId", prefix, faults, required=True)
    order_id = _id(obj, "orderId", prefix, faults)
    program_id = _id(obj, "programId", prefix, faults, integer=True)
    raw_items = obj.get("items")
    items_path = f"{prefix}.ITEMS" if prefix else "ITEMS"
    items: list[PlacedItem] = []
    if not isinstance(raw_items, list) or not raw_items:
        faults.append(
            _fault("MISSING_REQUIRED_FIELD", items_path, "items must hold at least one item.")
        )
    elif len(raw_items) > limits.MAX_ITEMS_PER_ORDER:
        faults.append(
            _fault(
                "INVALID_FIELD_VALUE",
                items_path,
                f"items must have at most {limits.MAX_ITEMS_PER_ORDER} entries.",
            )
        )
    else:
        seen: set[str] = set()
        for j, raw in enumerate(raw_items):
            path = f"{items_path}[{j}]"
            if not isinstance(raw, dict):
                faults.append(_fault("INVALID_FIELD_VALUE", path, "An item must be an object."))
                continue
            mc_id = _id(raw, "mcId", path, faults, required=True)
            if mc_id in seen:
                faults.append(_fault("INVALID_FIELD_VALUE", f"{path}.MC_ID", "McId is repeated."))
            seen.add(mc_id or "")
            items.append(
                PlacedItem(
                    mc_id=mc_id or "",
                    id=_id(raw, "id", path, faults),
                    reward_item_id=_id(raw, "rewardItemId", path, faults),
                    description=_id(
                        raw, "description", path, faults, max_len=limits.MAX_DESCRIPTION_LENGTH
                    ),
                    quantity=_quantity(raw, path, faults),
                )
            )
    if faults:
        return None, faults
    assert mc_order_id is not None and vendor_id is not None
    return Placement(mc_order_id, vendor_id, order_id, program_id, tuple(items)), []


@dataclass(frozen=True)
class InvalidPlacement:
    """A batch element that is no placement: what it gave as its id (if a string), and why."""

    mc_order_id: str | None
    faults: list[ErrorItem]


def parse_placements(data: list[Any]) -> list[Placement | InvalidPlacement]:
    """Each element of a batch parsed on its own: a fault in one does not refuse the others."""
    parsed: list[Placement | InvalidPlacement] = []
    for obj in data:
        placement, faults = parse_placement(obj)
        if placement is not None:
            parsed.append(placement)
        else:
            raw_id = obj.get("mcOrderId") if isinstance(obj, dict) else None
            parsed.append(InvalidPlacement(raw_id if isinstance(raw_id, str) else None, faults))
    return parsed
