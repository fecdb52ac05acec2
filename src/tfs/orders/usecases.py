"""Use cases: each one transaction, named for what a caller does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tfs import limits
from tfs.db.outbox import ORDER_PLACED, ORDER_STATUS_CHANGED, Event, NewEvent
from tfs.db.store import Store, UnitOfWork
from tfs.errors import (
    ErrorItem,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    NonceReused,
    OrderAlreadyExists,
    OrderNotFound,
    RequestTooLarge,
    RevokedConsumerKey,
    TfsError,
    UnknownVendor,
    ValidationFailed,
)
from tfs.orders.placement import InvalidPlacement, Placement
from tfs.orders.repository import Credential, HistoryRow, OrderFilter, OrderRecord
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
from tfs.orders.views import order_state

# A request left "running" this long is taken to have died; its key may be used again.
IDEMPOTENCY_ABANDONED_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class Nonce:
    """A verified request's nonce, to be spent in the transaction of the work it asks for."""

    consumer_key: str
    value: str
    expires_at: datetime


@dataclass(frozen=True)
class Idempotency:
    consumer_key: str
    key: str
    request_hash: str
    expires_at: datetime


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes


@dataclass
class OrderOutcome:
    """One element of a status-update answer: the order as now stored with what this request
    added to it (received at `received_at`), or why not."""

    mc_order_id: str
    order_id: str | None
    received_at: datetime
    rejected: OrderRejected | None = None
    applied: AppliedUpdate | None = field(default=None, repr=False)


def spend_nonce(uow: UnitOfWork, nonce: Nonce | None) -> None:
    """Spend the request's nonce in the transaction of its work; refused on a replay, and
    once its credential is revoked (on any process: the check is in this transaction)."""
    if nonce is not None and not uow.nonces.record(
        nonce.consumer_key, nonce.value, nonce.expires_at
    ):
        if uow.credentials.revoked(nonce.consumer_key):
            raise RevokedConsumerKey()
        raise NonceReused()


def replayed_response(
    store: Store, idem: Idempotency, now: datetime, *, nonce: Nonce | None = None
) -> StoredResponse | None:
    """The stored answer to an earlier request with this key, or None after claiming the key."""
    with store.transaction() as uow:
        spend_nonce(uow, nonce)
        record = uow.idempotency.get(idem.consumer_key, idem.key)
        if record is not None and record.expires_at > now:
            if record.request_hash != idem.request_hash:
                raise IdempotencyKeyReused()
            if record.state == "done":
                assert record.response_status is not None and record.response_body is not None
                return StoredResponse(record.response_status, record.response_body)
            started = record.expires_at - (idem.expires_at - now)
            if now - started < IDEMPOTENCY_ABANDONED_AFTER:
                raise IdempotencyKeyInProgress()
            uow.idempotency.abandon(idem.consumer_key, idem.key)
        elif record is not None:
            uow.idempotency.abandon(idem.consumer_key, idem.key)
        if not uow.idempotency.start(
            idem.consumer_key, idem.key, idem.request_hash, now, idem.expires_at
        ):
            # Claimed by a concurrent request since it was read: answer as for a running one.
            claimed = uow.idempotency.get(idem.consumer_key, idem.key)
            if claimed is not None and claimed.request_hash != idem.request_hash:
                raise IdempotencyKeyReused()
            raise IdempotencyKeyInProgress()
    return None


def release_idempotency_key(store: Store, idem: Idempotency) -> None:
    """The request failed before it could answer: let the key be used again."""
    with store.transaction() as uow:
        uow.idempotency.abandon(idem.consumer_key, idem.key)


@dataclass
class _Applied:
    """A batch worked out against the orders as read: the answer and what to write."""

    outcomes: list[OrderOutcome]
    announced: list[NewEvent]
    revisions: tuple[int, int]  # of the orders as read: as Orders.revision_check gives
    body: bytes | None = None  # the answer, once rendered


@dataclass(frozen=True)
class StatusAnswer:
    outcomes: list[OrderOutcome]
    body: bytes  # rendered once: sent, and stored with an Idempotency-Key


Render = Callable[[list[OrderOutcome]], bytes]


def _work_out(
    uow: UnitOfWork,
    vendor_id: str,
    ids: Sequence[str],
    updates: Sequence[OrderUpdate],
    now: datetime,
) -> _Applied:
    states = uow.orders.lock(vendor_id, ids)
    # Only what this batch carries is looked up among what the orders hold: the work does
    # not grow with an order's age.
    known = uow.orders.stored_fingerprints(
        [p for u in updates if u.mc_order_id in states
         for p in fingerprints_to_check(states[u.mc_order_id], u)]
    )  # fmt: skip
    outcomes = [_apply_one(u, states, known, now) for u in _mark_duplicates(updates)]
    announced = [
        _changed_event(o.applied, now) for o in outcomes if o.applied and o.applied.changed
    ]
    return _Applied(outcomes, announced, (len(states), sum(s.revision for s in states.values())))


def _rendered(applied: _Applied, render: Render) -> bytes:
    """The answer, refused before anything of the batch is written if it would be too large
    (a batch that moves many items of many orders: it can be sent in smaller requests)."""
    if applied.body is None:
        applied.body = render(applied.outcomes)
        if len(applied.body) > limits.MAX_ANSWER_BYTES:
            raise RequestTooLarge(
                f"The answer to this batch would pass {limits.MAX_ANSWER_BYTES} bytes;"
                " send its orders in smaller requests."
            )
    return applied.body


def apply_status_updates(
    store: Store,
    vendor_id: str,
    updates: Sequence[OrderUpdate],
    now: datetime,
    render: Render,
    *,
    nonce: Nonce | None = None,
    idempotency: Idempotency | None = None,
) -> StatusAnswer:
    """Apply a vendor's batch (see _status_update_work), and wait for its commit."""
    work, keys = _status_update_work(
        store, vendor_id, updates, now, render, nonce=nonce, idempotency=idempotency
    )
    # The hot path: on SQLite, concurrent batches share one commit (one fsync).
    return store.run_grouped(work, keys=keys, savepoint=False)


def submit_status_updates(
    store: Store,
    vendor_id: str,
    updates: Sequence[OrderUpdate],
    now: datetime,
    render: Render,
    nonce: Nonce,
) -> Future[StatusAnswer]:
    """As apply_status_updates, where writers take turns, without waiting: the future settles
    once the batch is committed (or has failed)."""
    work, keys = _status_update_work(store, vendor_id, updates, now, render, nonce=nonce)
    return store.submit_grouped(work, keys=keys, savepoint=False)


def _status_update_work(
    store: Store,
    vendor_id: str,
    updates: Sequence[OrderUpdate],
    now: datetime,
    render: Render,
    *,
    nonce: Nonce | None = None,
    idempotency: Idempotency | None = None,
) -> tuple[Callable[[UnitOfWork], StatusAnswer], frozenset[str]]:
    """The work that applies a vendor's batch, each order all or nothing, the batch in one
    transaction, and the keys it reads (for Store.run_grouped).

    The orders are locked in id order up front, so that concurrent batches touching the same
    orders serialise instead of losing updates or deadlocking. The answer is given only after
    the commit.

    Where writers take turns (SQLite), the batch is first worked out (and its answer rendered)
    against the orders as read, outside the writer's turn; in its turn, one indexed read checks
    that no order's revision moved meanwhile (every stored change moves it) and the work is
    written as it is. If one did move, the batch is worked out again in the turn, against the
    orders as they are. The work needs no savepoint: all it writes besides the nonce is held
    back by the group commit until it has returned (a work that fails unexpectedly leaves its
    nonce spent; a client's retry is a new signed request with a new nonce anyway).
    """
    ids = sorted({u.mc_order_id for u in updates})
    ahead: _Applied | None = None
    if store.writers_take_turns:
        # Its reads need no snapshot: a commit landing between them moves a revision, and the
        # check in the writer's turn sends the batch down the slow path.
        with store.reading() as uow:
            ahead = _work_out(uow, vendor_id, ids, updates, now)
        _rendered(ahead, render)

    def work(uow: UnitOfWork) -> StatusAnswer:
        spend_nonce(uow, nonce)
        if ahead is not None and uow.orders.revision_check(vendor_id, ids) == ahead.revisions:
            applied = ahead
        else:
            applied = _work_out(uow, vendor_id, ids, updates, now)
        body = _rendered(applied, render)
        outcomes = applied.outcomes
        uow.orders.save([o.applied for o in outcomes if o.applied], now)
        # The outbox rows commit with the changes they announce, or not at all.
        uow.events.add(applied.announced)
        if idempotency is not None:
            uow.idempotency.finish(idempotency.consumer_key, idempotency.key, 200, body)
        return StatusAnswer(outcomes, body)

    return work, frozenset(ids)


def _changed_event(applied: AppliedUpdate, now: datetime) -> NewEvent:
    s = applied.order
    changes = [
        {"mcId": c.mc_id, "field": c.field, "from": c.before, "to": c.after}
        if c.mc_id is not None
        else {"field": c.field, "from": c.before, "to": c.after}
        for c in applied.changes
    ]
    for h in applied.histories:
        if h.kind == "vendor":
            item = next(i for i in s.items if i.pk == h.item_pk)
            changes.append({"mcId": item.mc_id, "field": "histories", "from": None, "to": h.note})
    for e in applied.errors:
        item = next(i for i in s.items if i.pk == e.item_pk)
        changes.append({"mcId": item.mc_id, "field": "errors", "from": None, "to": e.code})
    return NewEvent(
        ORDER_STATUS_CHANGED,
        s.vendor_id,
        s.mc_order_id,
        s.order_id,
        s.revision,
        now,
        {"order": order_state(s), "changes": changes},
    )


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
    placements = [p for p in entries if isinstance(p, Placement)]
    digests = [p.fingerprint() for p in placements]
    with store.transaction() as uow:
        spend_nonce(uow, nonce)
        stored = uow.orders.placement_hashes(p.mc_order_id for p in placements)
        vendors = uow.vendors.known(p.vendor_id for p in placements)
        new = _placed_first(placements, digests, stored, vendors)
        inserted = uow.orders.place([(p.new_order(), d) for p, d in new.values()], now)
        lost = new.keys() - inserted
        if lost:
            # Placed by a concurrent transaction since the look-up (PostgreSQL waited for it to
            # commit): judged again by its hash. Only entries of those ids change, and none of
            # them is placed now, so what was inserted is exactly what is placed.
            stored.update(uow.orders.placement_hashes(lost))
            new = _placed_first(placements, digests, stored, vendors)
        records = {i: _new_record(p, now) for i, (p, _) in new.items()}
        records.update(
            uow.orders.get_many(stored, limits.HISTORY_SHOWN_PER_ITEM)
        )  # the batch's ids that were there
        uow.events.add([_placed_event(records[i], now) for i in new])
        return _placement_outcomes(entries, digests, stored, vendors, new, records)


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
        {"order": order_state(s), "changes": []},
    )


def read_order(store: Store, mc_order_id: str, *, nonce: Nonce | None = None) -> OrderRecord:
    """The order with each item's most recent entries (limits.HISTORY_SHOWN_PER_ITEM)."""
    with store.transaction() as uow:
        spend_nonce(uow, nonce)
        record = uow.orders.get(mc_order_id, limits.HISTORY_SHOWN_PER_ITEM)
    if record is None:
        raise OrderNotFound()
    return record


def find_orders(
    store: Store, flt: OrderFilter, limit: int, *, nonce: Nonce | None = None
) -> list[OrderRecord]:
    with store.transaction() as uow:
        spend_nonce(uow, nonce)
        return uow.orders.find(flt, limit, limits.HISTORY_SHOWN_PER_ITEM)


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
    nonce: Nonce | None = None,
) -> HistoryPage:
    """A page of the order's history after a cursor; with `vendor_id`, only that vendor's
    order is found (another vendor's order is not found, as one that does not exist)."""
    with store.transaction() as uow:
        spend_nonce(uow, nonce)
        state = uow.orders.state(mc_order_id)
        if state is None or (vendor_id is not None and state.vendor_id != vendor_id):
            raise OrderNotFound()
        rows = uow.orders.history_page([i.pk for i in state.items], after, limit)
    items = {i.pk: i for i in state.items}
    return HistoryPage(state, [(items[pk], f"{pk}.{hpk}", row) for pk, hpk, row in rows])


def purge_expired(store: Store, now: datetime) -> int:
    """Forget nonces that can no longer be replayed (their timestamps are stale anyway) and
    Idempotency-Key answers past their lifetime."""
    with store.transaction() as uow:
        return uow.nonces.purge_expired(now) + uow.idempotency.purge_expired(now)


def add_vendor(store: Store, vendor_id: str, name: str | None, now: datetime) -> bool:
    """False when the vendor was already there (onboarding twice is harmless)."""
    with store.transaction() as uow:
        return uow.vendors.add(vendor_id, name, now)


def add_credential(store: Store, credential: Credential) -> None:
    with store.transaction() as uow:
        if credential.vendor_id is not None and not uow.vendors.exists(credential.vendor_id):
            raise UnknownVendor(f"Vendor {credential.vendor_id} does not exist.")
        uow.credentials.add(credential)


def list_credentials(store: Store) -> list[Credential]:
    with store.transaction(readonly=True) as uow:
        return uow.credentials.all()


def revoke_credential(store: Store, consumer_key: str) -> bool:
    with store.transaction() as uow:
        return uow.credentials.revoke(consumer_key)


def stamp_events(store: Store) -> int:
    """Number the events committed since the last call (cheap when there are none)."""
    with store.transaction(readonly=True) as uow:
        if not uow.events.has_unstamped():
            return 0
    with store.transaction() as uow:
        return uow.events.stamp()


def read_events(
    store: Store,
    after: int,
    limit: int,
    *,
    vendor_id: str | None = None,
    mc_order_id: str | None = None,
    nonce: Nonce | None = None,
) -> list[Event]:
    """The change feed: events after a cursor, in sequence order."""
    stamp_events(store)
    with store.transaction() as uow:
        spend_nonce(uow, nonce)
        return uow.events.after(after, limit, vendor_id=vendor_id, mc_order_id=mc_order_id)
