"""Use cases of orders: placement, status updates from vendors, reads and history pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tfs import limits, metrics
from tfs.access.repository import Vendors
from tfs.access.usecases import Nonce, spend_nonce
from tfs.catalog import usecases as catalog
from tfs.db.outbox import ORDER_PLACED, ORDER_STATUS_CHANGED, Events, NewEvent
from tfs.db.store import Store
from tfs.db.transaction import Transaction
from tfs.errors import (
    ORDER_MANAGEMENT,
    ErrorItem,
    OrderAlreadyExists,
    OrderNotFound,
    RequestTooLarge,
    TfsError,
    UnknownVendor,
    ValidationFailed,
)
from tfs.idempotency.usecases import Answer, Idempotency, Keep, once
from tfs.orders.placement import InvalidPlacement, Placement
from tfs.orders.repository import Found, HistoryRow, OrderFilter, OrderRecord, Orders
from tfs.orders.rules import (
    AppliedUpdate,
    ItemState,
    OrderRejected,
    OrderState,
    apply_update,
    duplicate_order,
    fingerprints_to_check,
    unknown_order,
)
from tfs.orders.updates import OrderUpdate
from tfs.orders.views import order_changed, order_placed


@dataclass
class OrderOutcome:
    """One element of a status-update answer: the order as now stored with what this request
    added to it (received at `received_at`), or why not."""

    mc_order_id: str
    order_id: str | None
    received_at: datetime
    rejected: OrderRejected | None = None
    applied: AppliedUpdate | None = field(default=None, repr=False)


@dataclass(frozen=True)
class StatusAnswer:
    outcomes: list[OrderOutcome]
    body: bytes  # rendered once: sent, and stored with an Idempotency-Key
    replayed: bool = False  # the stored answer to an earlier request with the same key


Render = Callable[[list[OrderOutcome]], bytes]


async def update_status(
    store: Store,
    vendor_id: str,
    updates: Sequence[OrderUpdate],
    now: datetime,
    render: Render,
    *,
    nonce: Nonce | None = None,
    idempotency: Idempotency | None = None,
) -> StatusAnswer:
    """Apply a vendor's batch: each order all or nothing, the batch in one transaction, the
    answer given only after the commit (and, with an Idempotency-Key, kept with it).

    The orders are read and locked (PostgreSQL: in id order, so that concurrent batches
    touching the same orders serialise instead of losing updates or deadlocking) in the
    transaction that writes them: on SQLite, in the writer's turn, where nothing can move them.
    The work needs no savepoint: all it writes besides the nonce is held in the transaction's
    writes until it has returned (a work that fails unexpectedly leaves its nonce spent; a
    client's retry is a new signed request with a new nonce anyway).
    """
    ids = sorted({u.mc_order_id for u in updates})
    outcomes: list[OrderOutcome] = []

    async def run(nonce: Nonce | None, keep: Keep | None) -> Answer:
        def work(tx: Transaction) -> Answer:
            spend_nonce(tx, nonce)
            applied = _work_out(tx, vendor_id, ids, updates, now)
            body = _rendered(applied, render)
            Orders(tx).save([o.applied for o in applied.outcomes if o.applied], now)
            # The outbox rows commit with the changes they announce, or not at all.
            Events(tx).add(applied.announced)
            if keep is not None:
                keep(tx, 200, body)
            outcomes[:] = applied.outcomes
            return Answer(200, body)

        return await store.write(work, keys=frozenset(ids), savepoint=False)

    answer = await once(store, idempotency, nonce, now, run)
    if not answer.replayed:  # committed now: counted once (a replay's orders were, the first time)
        metrics.count_updates(_result(o) for o in outcomes)
    return StatusAnswer(outcomes, answer.body, answer.replayed)


def _result(outcome: OrderOutcome) -> str:
    """The metrics' name for an order's result: applied, unchanged, or its errorCode."""
    if outcome.rejected is not None:
        return str(outcome.rejected.code)
    assert outcome.applied is not None
    return metrics.APPLIED if outcome.applied.changed else metrics.UNCHANGED


@dataclass
class _Applied:
    """A batch worked out against the orders as stored: the answer and what to write."""

    outcomes: list[OrderOutcome]
    announced: list[NewEvent]


def _work_out(
    tx: Transaction,
    vendor_id: str,
    ids: Sequence[str],
    updates: Sequence[OrderUpdate],
    now: datetime,
) -> _Applied:
    orders = Orders(tx)
    states = orders.lock(vendor_id, ids)
    # Only what this batch carries is looked up among what the orders hold: the work does
    # not grow with an order's age.
    known = orders.stored_fingerprints(
        [p for u in updates if u.mc_order_id in states
         for p in fingerprints_to_check(states[u.mc_order_id], u)]
    )  # fmt: skip
    outcomes = [_apply_one(u, states, known, now) for u in _mark_duplicates(updates)]
    announced = [
        _changed_event(o.applied, now) for o in outcomes if o.applied and o.applied.changed
    ]
    return _Applied(outcomes, announced)


def _rendered(applied: _Applied, render: Render) -> bytes:
    """The answer, refused before anything of the batch is written if it would be too large
    (a batch that moves many items of many orders: it can be sent in smaller requests)."""
    body = render(applied.outcomes)
    if len(body) > limits.MAX_ANSWER_BYTES:
        raise RequestTooLarge(
            f"The answer to this batch would pass {limits.MAX_ANSWER_BYTES} bytes;"
            " send its orders in smaller requests."
        )
    return body


def _changed_event(applied: AppliedUpdate, now: datetime) -> NewEvent:
    s = applied.order
    return NewEvent(
        ORDER_STATUS_CHANGED, s.vendor_id, s.mc_order_id, s.order_id, s.revision, now,
        order_changed(applied),
    )  # fmt: skip


def _mark_duplicates(batch: Sequence[OrderUpdate]) -> list[tuple[OrderUpdate, bool]]:
    seen: set[str] = set()
    marked = []
    for u in batch:
        marked.append((u, u.mc_order_id in seen))
        seen.add(u.mc_order_id)
    return marked


def _apply_one(
    marked: tuple[OrderUpdate, bool],
    states: dict[str, OrderState],
    known: set[tuple[int, str]],
    now: datetime,
) -> OrderOutcome:
    update, duplicate = marked
    outcome = OrderOutcome(update.mc_order_id, update.order_id, now)
    try:
        if duplicate:
            raise duplicate_order(update.mc_order_id)
        state = states.get(update.mc_order_id)
        if state is None:
            raise unknown_order(update.order_id, update.mc_order_id)
        outcome.applied = apply_update(state, update, known, now)
    except OrderRejected as rejected:
        outcome.rejected = rejected
    return outcome


PLACED, ALREADY_PLACED, PLACEMENT_FAILED = "placed", "alreadyPlaced", "FAILED"


@dataclass(frozen=True)
class PlacementOutcome:
    """One element of a placement batch's answer: the order as stored, or why not."""

    mc_order_id: str | None
    result: str  # PLACED, ALREADY_PLACED or PLACEMENT_FAILED
    record: OrderRecord | None = None
    refused: TfsError | None = None  # FAILED: UnknownVendor, OrderAlreadyExists, ValidationFailed

    @property
    def error(self) -> ErrorItem:
        """Why a FAILED element failed: its first fault."""
        assert self.refused is not None
        return self.refused.items[0]


def place_order(
    store: Store, placement: Placement, now: datetime, *, nonce: Nonce | None = None
) -> tuple[OrderRecord, bool]:
    """Place an order with its vendor. True when it is new; an identical repeat gives False."""
    (outcome,) = place_orders(store, [placement], now, nonce=nonce)
    if outcome.refused is not None:
        raise outcome.refused
    assert outcome.record is not None
    return outcome.record, outcome.result == PLACED


def place_orders(
    store: Store,
    entries: Sequence[Placement | InvalidPlacement],
    now: datetime,
    *,
    nonce: Nonce | None = None,
) -> list[PlacementOutcome]:
    """Place a batch with their vendors in one transaction: one outcome per entry, in order.

    Each entry is judged as if the entries before it had been placed one after another: an id
    stored or placed earlier in the batch is a repeat (identical placement hash) or a conflict.
    A few statements serve the whole batch: the stored hashes and the vendors are looked up in
    one query each, and the new orders, their items and their events inserted in bulk.
    """
    with store.transaction() as tx:
        spend_nonce(tx, nonce)
        entries = _checked_against_catalogs(tx, entries)
        placements = [p for p in entries if isinstance(p, Placement)]
        digests = [p.fingerprint() for p in placements]
        stored = Orders(tx).placement_hashes(p.mc_order_id for p in placements)
        vendors = Vendors(tx).known(p.vendor_id for p in placements)
        new = _placed_first(placements, digests, stored, vendors)
        inserted = Orders(tx).place([(p.new_order(), d) for p, d in new.values()], now)
        lost = new.keys() - inserted
        if lost:
            # Placed by a concurrent transaction since the look-up (PostgreSQL waited for it to
            # commit): judged again by its hash. Only entries of those ids change, and none of
            # them is placed now, so what was inserted is exactly what is placed.
            stored.update(Orders(tx).placement_hashes(lost))
            new = _placed_first(placements, digests, stored, vendors)
        records = {i: _new_record(p, now) for i, (p, _) in new.items()}
        records.update(
            Orders(tx).get_many(stored, limits.HISTORY_SHOWN_PER_ITEM)
        )  # the batch's ids that were there
        Events(tx).add([_placed_event(records[i], now) for i in new])
        outcomes = _placement_outcomes(entries, digests, stored, vendors, new, records)
    metrics.count_placed(len(new))  # committed
    return outcomes


def _checked_against_catalogs(
    tx: Transaction, entries: Sequence[Placement | InvalidPlacement]
) -> list[Placement | InvalidPlacement]:
    """Placements whose program has a catalog name only reward items it holds: one that names
    another is refused, item by item (one look-up per program of the batch)."""
    by_program: dict[str, set[str]] = {}
    for p in entries:
        if isinstance(p, Placement) and p.program_id is not None:
            ids = {i.reward_item_id for i in p.items if i.reward_item_id is not None}
            by_program.setdefault(p.program_id, set()).update(ids)
    unknown = {
        program_id: catalog.unknown_reward_items(tx, program_id, ids)
        for program_id, ids in by_program.items()
        if ids
    }
    if not any(unknown.values()):
        return list(entries)
    out: list[Placement | InvalidPlacement] = []
    for p in entries:
        if isinstance(p, InvalidPlacement):
            out.append(p)
            continue
        missing = unknown.get(p.program_id or "", set())
        faults = [
            ErrorItem(
                ORDER_MANAGEMENT,
                f"INVALID_FIELD_VALUE_ITEMS[{j}].REWARD_ITEM_ID",
                f"rewardItemId {i.reward_item_id} is not in the catalog of program {p.program_id}.",
            )
            for j, i in enumerate(p.items)
            if i.reward_item_id in missing
        ]
        out.append(InvalidPlacement(p.mc_order_id, faults) if faults else p)
    return out


def _placed_first(
    placements: Sequence[Placement],
    digests: Sequence[str],
    stored: dict[str, str],
    vendors: set[str],
) -> dict[str, tuple[Placement, str]]:
    """The placements that place a new order: the first of each id not stored, whose vendor
    is known."""
    new: dict[str, tuple[Placement, str]] = {}
    for p, digest in zip(placements, digests, strict=True):
        if p.mc_order_id not in stored and p.mc_order_id not in new and p.vendor_id in vendors:
            new[p.mc_order_id] = (p, digest)
    return new


def _placement_outcomes(
    entries: Sequence[Placement | InvalidPlacement],
    digests: Sequence[str],
    stored: dict[str, str],
    vendors: set[str],
    new: dict[str, tuple[Placement, str]],
    records: dict[str, OrderRecord],
) -> list[PlacementOutcome]:
    """The outcomes, entry by entry, as placing them one after another would give."""
    outcomes = []
    hashes = iter(digests)
    placed: dict[str, str] = {}  # placed by an earlier entry of the batch: id -> hash
    for entry in entries:
        if isinstance(entry, InvalidPlacement):
            outcomes.append(
                PlacementOutcome(
                    entry.mc_order_id, PLACEMENT_FAILED, refused=ValidationFailed(entry.faults)
                )
            )
            continue
        digest, mc_order_id = next(hashes), entry.mc_order_id
        known = stored.get(mc_order_id) or placed.get(mc_order_id)
        if known is None and entry.vendor_id not in vendors:
            outcome = PlacementOutcome(mc_order_id, PLACEMENT_FAILED, refused=UnknownVendor())
        elif known is None:
            assert new[mc_order_id][0] is entry  # as _placed_first chose
            placed[mc_order_id] = digest
            outcome = PlacementOutcome(mc_order_id, PLACED, records[mc_order_id])
        elif known != digest:
            outcome = PlacementOutcome(mc_order_id, PLACEMENT_FAILED, refused=OrderAlreadyExists())
        else:
            outcome = PlacementOutcome(mc_order_id, ALREADY_PLACED, records[mc_order_id])
        outcomes.append(outcome)
    return outcomes


def _new_record(placement: Placement, now: datetime) -> OrderRecord:
    """A new order as stored, built without reading back what was just written (its items'
    keys are not needed: nothing has happened to them yet)."""
    state = placement.new_order()
    state.created_at = state.updated_at = now
    return OrderRecord(state, {}, {}, {}, {})


def _placed_event(record: OrderRecord, now: datetime) -> NewEvent:
    s = record.state
    return NewEvent(
        ORDER_PLACED,
        s.vendor_id,
        s.mc_order_id,
        s.order_id,
        s.revision,
        now,
        order_placed(s),
    )


def read_order(store: Store, mc_order_id: str) -> OrderRecord:
    """The order with each item's most recent entries (limits.HISTORY_SHOWN_PER_ITEM). Reads
    run in a snapshot; a signed read's nonce is spent before (access/read_nonces.py)."""
    with store.snapshot() as tx:
        record = Orders(tx).get(mc_order_id, limits.HISTORY_SHOWN_PER_ITEM)
    if record is None:
        raise OrderNotFound()
    return record


def find_orders(store: Store, flt: OrderFilter, limit: int) -> Found:
    with store.snapshot() as tx:
        return Orders(tx).find(flt, limit, limits.HISTORY_SHOWN_PER_ITEM)


def count_by_status(store: Store) -> list[tuple[str, str, int]]:
    """(vendor id, status, orders) for every vendor and status that has orders (operators)."""
    with store.transaction(readonly=True) as tx:
        return Orders(tx).counts_by_status()


def search_orders(store: Store, text: str, limit: int) -> list[OrderRecord]:
    """Orders whose `mcOrderId`, or else whose vendor's `orderId`, is `text` (operators; the
    vendor's id is looked up across vendors, without an index of its own)."""
    found = find_orders(store, OrderFilter(mc_order_ids=(text,)), limit).records
    return found or find_orders(store, OrderFilter(order_ids=(text,)), limit).records


@dataclass(frozen=True)
class HistoryPage:
    """Entries of an order's full history, item by item in the order received: (the item,
    the entry's cursor, the entry)."""

    state: OrderState
    entries: list[tuple[ItemState, str, HistoryRow]]


def read_history(
    store: Store,
    mc_order_id: str,
    after: tuple[int, int] | None,
    limit: int,
    *,
    vendor_id: str | None = None,
) -> HistoryPage:
    """A page of the order's history after a cursor; with `vendor_id`, only that vendor's
    order is found (another vendor's order is not found, as one that does not exist)."""
    with store.snapshot() as tx:
        state = Orders(tx).state(mc_order_id)
        if state is None or (vendor_id is not None and state.vendor_id != vendor_id):
            raise OrderNotFound()
        rows = Orders(tx).history_page([i.pk for i in state.items], after, limit)
    items = {i.pk: i for i in state.items}
    return HistoryPage(state, [(items[pk], f"{pk}.{hpk}", row) for pk, hpk, row in rows])
