"""Orders and their items as held, and the pure rule that applies one vendor update to one order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from tfs.orders.statuses import Status, can_move, derived_order_status, is_final, parse_status
from tfs.orders.updates import HistoryEvent, ItemUpdate, OrderUpdate, ReportedError, fingerprint

# Per-order result codes, answered inside a 200 with status FAILED.
UNKNOWN_ORDER = 1001
UNKNOWN_ITEM = 1002
UNKNOWN_STATUS = 1003
ILLEGAL_TRANSITION = 1004
DUPLICATE_ORDER = 1005
FAILED = "FAILED"


class OrderRejected(Exception):
    """An order of a batch that cannot be applied; the rest of the batch still is."""

    def __init__(self, code: int, description: str) -> None:
        self.code = code
        self.description = description
        super().__init__(description)


def unknown_order(order_id: str | None, mc_order_id: str) -> OrderRejected:
    # Wording of Mastercard's own example (ExternalOrderId is the vendor's id).
    return OrderRejected(
        UNKNOWN_ORDER,
        f"[Combination of ExternalOrderId: ({order_id or ''}) and OrderId: ({mc_order_id})"
        " invalid.]",
    )


def duplicate_order(mc_order_id: str) -> OrderRejected:
    return OrderRejected(
        DUPLICATE_ORDER,
        f"[OrderId: ({mc_order_id}) appears earlier in this request; only the first was applied.]",
    )


@dataclass
class ItemState:
    pk: int
    mc_id: str
    id: str | None
    status: Status
    tracking_number: str | None = None
    tracking_url: str | None = None
    reward_item_id: str | None = None
    description: str | None = None
    quantity: int = 1

    def copy(self) -> ItemState:
        """A shallow copy (every field is immutable), at a quarter of `dataclasses.replace`'s
        cost: a status update copies each item of its orders."""
        item = object.__new__(ItemState)
        item.__dict__.update(self.__dict__)
        return item


@dataclass
class OrderState:
    mc_order_id: str
    vendor_id: str
    order_id: str | None
    program_id: str | None
    status: Status
    revision: int
    items: list[ItemState]
    updated_at: datetime | None = None
    created_at: datetime | None = None

    def copy(self) -> OrderState:
        """A copy with copies of its items, to change without touching this one."""
        order = object.__new__(OrderState)
        order.__dict__.update(self.__dict__)
        order.items = [i.copy() for i in self.items]
        return order


class Change(msgspec.Struct, frozen=True):
    """One field that moved: what the platform is told in `data.changes`."""

    mc_id: str | None  # None for the order itself
    field: str
    before: str | None
    after: str | None


class NewHistory(msgspec.Struct, frozen=True):
    item_pk: int
    kind: str  # "vendor" (sent by the vendor), "status", "tracking" (recorded by the service)
    order_item_number: str | None
    event_type: str | None
    event_date: datetime | None
    note: str | None
    fingerprint: str


class NewError(msgspec.Struct, frozen=True):
    item_pk: int
    field_name: str | None
    code: str | None
    message: str | None
    fingerprint: str


@dataclass
class AppliedUpdate:
    order: OrderState
    changes: list[Change] = field(default_factory=list)
    histories: list[NewHistory] = field(default_factory=list)
    errors: list[NewError] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes or self.histories or self.errors)

    @property
    def changed_items(self) -> set[str]:
        """The `mcId` of every item whose own fields (status, id, tracking) moved."""
        return {c.mc_id for c in self.changes if c.mc_id is not None}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def fingerprints_to_check(order: OrderState, update: OrderUpdate) -> list[tuple[int, str]]:
    """(item pk, fingerprint) of every vendor event and error `update` carries for `order`'s
    items: what must be looked up among the stored ones before `apply_update`, which keeps only
    those not yet stored. The records the service makes itself (status moves, tracking changes)
    carry the time of the request and need no look-up."""
    pks = {i.mc_id: i.pk for i in order.items}
    pairs: list[tuple[int, str]] = []
    for item in update.items:
        pk = pks.get(item.mc_id)
        if pk is None:
            continue
        pairs.extend((pk, e.fingerprint) for e in item.histories)
        pairs.extend((pk, e.fingerprint) for e in item.errors)
    return pairs


def _status(raw: str) -> Status:
    status = parse_status(raw)
    if status is None:
        raise OrderRejected(UNKNOWN_STATUS, f"[Status: ({raw}) is not a known status.]")
    return status


def _refuse(what: str, current: Status, target: Status) -> OrderRejected:
    return OrderRejected(
        ILLEGAL_TRANSITION,
        f"[{what} cannot move from {current.value} to {target.value}.]",
    )


class _Applier:
    """Applies one update to a copy of one order, collecting what changed."""

    def __init__(self, order: OrderState, known: set[tuple[int, str]], now: datetime) -> None:
        self.order = order.copy()
        self.result = AppliedUpdate(self.order)
        # (item pk, fingerprint) of the history and errors already stored for this order's items
        self.known = known
        self.now = now
        self._now_iso = now.isoformat()  # in the fingerprint of every record made here

    def set_item_status(self, item: ItemState, target: Status) -> None:
        if item.status == target:
            return
        if not can_move(item.status, target):
            raise _refuse(f"Order item ({item.mc_id})", item.status, target)
        self.result.changes.append(Change(item.mc_id, "status", item.status, target))
        self.record(item, "status", "statusChange", self.now, f"{item.status} -> {target}", True)
        item.status = target

    def set_order_status(self, target: Status) -> None:
        current = self.order.status
        if current == target:
            return
        if not can_move(current, target):
            raise _refuse(f"Order ({self.order.mc_order_id})", current, target)
        self.result.changes.append(Change(None, "status", current, target))
        self.order.status = target

    def record(
        self,
        item: ItemState,
        kind: str,
        event_type: str | None,
        event_date: datetime | None,
        note: str | None,
        always: bool = False,
        order_item_number: str | None = None,
        fp: str | None = None,
    ) -> None:
        if fp is None:
            # Records the service makes are unique by the request's time.
            date = self._now_iso if event_date is self.now else _iso(event_date)
            extra = self._now_iso if always else None
            fp = fingerprint(kind, order_item_number, event_type, date, note, extra)
        if (item.pk, fp) in self.known:
            return
        self.known.add((item.pk, fp))
        self.result.histories.append(
            NewHistory(item.pk, kind, order_item_number, event_type, event_date, note, fp)
        )

    def report_error(self, item: ItemState, error: ReportedError) -> None:
        fp = error.fingerprint
        if (item.pk, fp) in self.known:
            return
        self.known.add((item.pk, fp))
        self.result.errors.append(
            NewError(item.pk, error.field_name, error.code, error.message, fp)
        )

    def bind(self, item: ItemState, update: ItemUpdate) -> None:
        if update.id is None or item.id == update.id:
            return
        if item.id is not None:
            raise _unknown_item(update)
        self.result.changes.append(Change(item.mc_id, "id", None, update.id))
        item.id = update.id

    def track(self, item: ItemState, update: ItemUpdate) -> None:
        number = update.tracking_number or item.tracking_number
        url = update.tracking_url or item.tracking_url
        if (number, url) == (item.tracking_number, item.tracking_url):
            return
        if number != item.tracking_number:
            self.result.changes.append(
                Change(item.mc_id, "trackingNumber", item.tracking_number, number)
            )
        if url != item.tracking_url:
            self.result.changes.append(Change(item.mc_id, "trackingUrl", item.tracking_url, url))
        item.tracking_number, item.tracking_url = number, url
        note = f"Tracking number {number or '-'}" + (f" ({url})" if url else "")
        self.record(item, "tracking", "trackingUpdate", self.now, note)

    def apply_item(self, update: ItemUpdate) -> ItemState:
        item = next((i for i in self.order.items if i.mc_id == update.mc_id), None)
        if item is None:
            raise _unknown_item(update)
        self.bind(item, update)
        if update.status is not None:
            self.set_item_status(item, _status(update.status))
        self.track(item, update)
        for error in update.errors:
            self.report_error(item, error)
        for event in update.histories:
            self.add_vendor_event(item, event)
        return item

    def add_vendor_event(self, item: ItemState, event: HistoryEvent) -> None:
        self.record(
            item,
            "vendor",
            event.event_type,
            event.event_date,
            event.note,
            order_item_number=event.order_item_number,
            fp=event.fingerprint,
        )


def _unknown_item(update: ItemUpdate) -> OrderRejected:
    return OrderRejected(
        UNKNOWN_ITEM,
        f"[Combination of ExternalOrderItemId: ({update.id or ''}) and OrderItemId: "
        f"({update.mc_id}) invalid.]",
    )


def apply_update(
    order: OrderState, update: OrderUpdate, known: set[tuple[int, str]], now: datetime
) -> AppliedUpdate:
    """The order after `update`, or OrderRejected. Pure: `order` itself is left untouched.

    With items, each named item moves and the order follows its items when they all agree
    (unless the vendor names the order's status too). With an order status and no items, every
    item that is not final moves with the order (a whole-order cancel, say).
    """
    if update.order_id is not None and order.order_id not in (None, update.order_id):
        raise unknown_order(update.order_id, update.mc_order_id)
    applier = _Applier(order, set(known), now)
    if update.order_id is not None and order.order_id is None:
        applier.result.changes.append(Change(None, "orderId", None, update.order_id))
        applier.order.order_id = update.order_id
    target = _status(update.status) if update.status is not None else None
    if update.items:
        for item_update in update.items:
            applier.apply_item(item_update)
        derived = derived_order_status(i.status for i in applier.order.items)
        if target is not None:
            applier.set_order_status(target)
        elif derived is not None and can_move(applier.order.status, derived):
            applier.set_order_status(derived)
    elif target is not None:
        for item in applier.order.items:
            if not is_final(item.status) or item.status == target:
                applier.set_item_status(item, target)
        applier.set_order_status(target)
    if applier.result.changed:
        applier.order.revision += 1
        applier.order.updated_at = now
    return applier.result
