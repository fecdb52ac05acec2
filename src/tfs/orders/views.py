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


# Every view is a Struct encoded as it is, not a dictionary compacted and then encoded: for a
# status update's answer and event, half the Python of rendering and announcing a batch (about
# 290 -> 140 us per 10-order request). `omit_defaults` leaves out a field that is None, and
# the field order is the wire order (a subclass's fields come after its base's).


class _View(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """How every view is encoded: camelCase names, a field that is None left out. (Each
    subclass says kw_only again: msgspec does not inherit it.)"""


class _ItemFields(_View, kw_only=True):
    """What every view shows of an item, first."""

    id: str | None = None
    mc_id: str
    status: str
    tracking_number: str | None = None
    tracking_url: str | None = None


class _OrderFields(_View, kw_only=True):
    """What every view shows of an order, first."""

    order_id: str | None = None
    mc_order_id: str
    status: str


class _EntryView(_View, kw_only=True):
    order_item_number: str | None = None
    event_type: str | None = None
    event_date: str | None = None
    note: str | None = None
    received_at: str


class _ErrorView(_View, kw_only=True):
    field_name: str | None = None
    code: str | None = None
    message: str | None = None
    received_at: str


class _AppliedItemView(_ItemFields, kw_only=True):
    errors: list[_ErrorView]
    histories: list[_EntryView]


class _AppliedView(_OrderFields, kw_only=True):
    order_items: list[_AppliedItemView]
    revision: int


class _PlatformItemView(_ItemFields, kw_only=True):
    reward_item_id: str | None = None
    description: str | None = None
    quantity: int


class _PlatformView(_OrderFields, kw_only=True):
    order_items: list[_PlatformItemView]
    vendor_id: str
    program_id: str | None = None
    revision: int
    created_at: str | None = None
    updated_at: str | None = None


def order_state(s: OrderState) -> _PlatformView:
    """The order as the platform sees it, without history: events carry it (their `changes`
    carry each new entry), so that an event's size does not grow with the order's age."""
    return _PlatformView(
        order_id=s.order_id,
        mc_order_id=s.mc_order_id,
        status=s.status,
        order_items=[
            _PlatformItemView(
                id=i.id,
                mc_id=i.mc_id,
                status=i.status,
                tracking_number=i.tracking_number,
                tracking_url=i.tracking_url,
                reward_item_id=i.reward_item_id,
                description=i.description,
                quantity=i.quantity,
            )
            for i in s.items
        ],
        vendor_id=s.vendor_id,
        program_id=s.program_id,
        revision=s.revision,
        created_at=iso(s.created_at) if s.created_at else None,
        updated_at=iso(s.updated_at) if s.updated_at else None,
    )


class _ChangeView(
    msgspec.Struct,
    kw_only=True,
    omit_defaults=True,
    rename={"mc_id": "mcId", "before": "from", "after": "to"},
):
    mc_id: str | None = None  # left out for the order's own fields
    field: str
    before: str | None
    after: str | None


class _ChangedView(msgspec.Struct):
    order: _PlatformView
    changes: list[_ChangeView]


def order_placed(s: OrderState) -> _ChangedView:
    """An `order.placed` event's data: the order, nothing changed yet."""
    return _ChangedView(order_state(s), [])


def order_changed(applied: AppliedUpdate) -> _ChangedView:
    """An `order.status_changed` event's data: the order as now stored and what moved, each
    new history entry (its note) and error (its code) among the changes."""
    s = applied.order
    changes = [
        _ChangeView(mc_id=c.mc_id, field=c.field, before=c.before, after=c.after)
        for c in applied.changes
    ]
    if applied.histories or applied.errors:
        mc_ids = {i.pk: i.mc_id for i in s.items}
        changes.extend(
            _ChangeView(mc_id=mc_ids[h.item_pk], field="histories", before=None, after=h.note)
            for h in applied.histories
            if h.kind == "vendor"
        )
        changes.extend(
            _ChangeView(mc_id=mc_ids[e.item_pk], field="errors", before=None, after=e.code)
            for e in applied.errors
        )
    return _ChangedView(order_state(s), changes)


def applied_update(applied: AppliedUpdate, received_at: datetime) -> _AppliedView:
    """`OrderStatus` answering a status update: the order as now stored, with the history
    entries and errors this update added (not those stored before: the answer's size is the
    request's, whatever the order holds), and its `revision`."""
    s = applied.order
    at = iso(received_at)
    histories: dict[int, list[_EntryView]] = defaultdict(list)
    errors: dict[int, list[_ErrorView]] = defaultdict(list)
    ids = {i.pk: i.id for i in s.items} if applied.histories else {}
    for h in applied.histories:
        histories[h.item_pk].append(_entry(h, ids[h.item_pk], at))
    for e in applied.errors:
        errors[e.item_pk].append(_error(e, at))
    return _AppliedView(
        order_id=s.order_id,
        mc_order_id=s.mc_order_id,
        status=s.status,
        order_items=[
            _AppliedItemView(
                id=i.id,
                mc_id=i.mc_id,
                status=i.status,
                tracking_number=i.tracking_number,
                tracking_url=i.tracking_url,
                errors=errors.get(i.pk, []),
                histories=histories.get(i.pk, []),
            )
            for i in s.items
        ],
        revision=s.revision,
    )


class _StatusItemView(_ItemFields, kw_only=True):
    errors: list[_ErrorView]
    error_count: int
    histories: list[_EntryView]
    history_count: int


class _DetailItemView(_StatusItemView, kw_only=True):
    """What the platform also holds of an item: what was placed (fields after the vendor's)."""

    reward_item_id: str | None = None
    description: str | None = None
    quantity: int


class _StatusView(_OrderFields, kw_only=True):
    order_items: list[_StatusItemView]
    revision: int


class _DetailView(_StatusView, kw_only=True):
    """What the platform also holds of an order: vendor, program, times."""

    vendor_id: str
    program_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class _PageEntryView(_View, kw_only=True):
    """An entry of the history pages: `_EntryView`'s fields after the item's `mcId`."""

    mc_id: str
    order_item_number: str | None = None
    event_type: str | None = None
    event_date: str | None = None
    note: str | None = None
    received_at: str


def _entry(h: HistoryRow | NewHistory, item_id: str | None, received_at: str) -> _EntryView:
    """A history entry as shown: the item's own id when the entry names no item number."""
    return _EntryView(
        order_item_number=h.order_item_number or item_id,
        event_type=h.event_type,
        event_date=iso(h.event_date) if h.event_date else None,
        note=h.note,
        received_at=received_at,
    )


def _error(e: ErrorRow | NewError, received_at: str) -> _ErrorView:
    return _ErrorView(
        field_name=e.field_name, code=e.code, message=e.message, received_at=received_at
    )


def history_entry(h: HistoryRow, item: ItemState) -> _PageEntryView:
    """One entry of an order's history pages: the item's `mcId`, then the entry."""
    entry = _entry(h, item.id, iso(h.received_at))
    return _PageEntryView(mc_id=item.mc_id, **msgspec.structs.asdict(entry))


def _tail(rows: list[Any], window: int) -> Iterable[Any]:
    return rows[-window:] if window > 0 else ()


def _item_read(record: OrderRecord, i: ItemState, window: int) -> dict[str, Any]:
    """An item's fields as read: its own, and its `window` most recently received history
    entries and errors with how many it holds in all."""
    return {
        "id": i.id,
        "mc_id": i.mc_id,
        "status": i.status,
        "tracking_number": i.tracking_number,
        "tracking_url": i.tracking_url,
        "errors": [
            _error(e, iso(e.received_at)) for e in _tail(record.errors.get(i.pk, []), window)
        ],
        "error_count": record.error_counts.get(i.pk, 0),
        "histories": [
            _entry(h, i.id, iso(h.received_at))
            for h in _tail(record.histories.get(i.pk, []), window)
        ],
        "history_count": record.history_counts.get(i.pk, 0),
    }


def order_status(record: OrderRecord, window: int = limits.HISTORY_SHOWN_PER_ITEM) -> _StatusView:
    """`OrderStatus` as a vendor reads it: each item with its `window` most recently received
    history entries and errors, and how many it holds in all (`historyCount`, `errorCount`)."""
    s = record.state
    return _StatusView(
        order_id=s.order_id,
        mc_order_id=s.mc_order_id,
        status=s.status,
        order_items=[_StatusItemView(**_item_read(record, i, window)) for i in s.items],
        revision=s.revision,
    )


def order_detail(record: OrderRecord, window: int = limits.HISTORY_SHOWN_PER_ITEM) -> _DetailView:
    """`order_status` plus what the platform also holds (per item what was placed; vendor,
    program, times)."""
    s = record.state
    return _DetailView(
        order_id=s.order_id,
        mc_order_id=s.mc_order_id,
        status=s.status,
        order_items=[
            _DetailItemView(
                **_item_read(record, i, window),
                reward_item_id=i.reward_item_id,
                description=i.description,
                quantity=i.quantity,
            )
            for i in s.items
        ],
        revision=s.revision,
        vendor_id=s.vendor_id,
        program_id=s.program_id,
        created_at=iso(s.created_at) if s.created_at else None,
        updated_at=iso(s.updated_at) if s.updated_at else None,
    )


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
