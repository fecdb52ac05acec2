"""The correctness check: every update the service acknowledged is in the database.

An acknowledged request is one answered 2xx; each of its orders that the answer does not mark
FAILED must show what the request said: each item at that status or further along, the tracking
number it was given, and the request's note in its history. Later requests only move orders
forward, so "at least" is exact: a lost update shows as a missing note or a status behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec
from sqlalchemy import Engine, select

from tfs.db.tables import item_history, order_items, orders
from tfs.orders.statuses import Status

from .plan import ITEMS_PER_ORDER, Workload, parse_correlation_id, step

RANK = {Status.PENDING: 0, Status.PROCESSING: 1, Status.SHIPPED: 2, Status.DELIVERED: 3}
QUERY_CHUNK = 500


@dataclass
class ExpectedItem:
    mc_id: str
    min_status: Status = Status.PENDING
    tracking_number: str | None = None
    notes: set[str] = field(default_factory=set)


@dataclass
class ExpectedOrder:
    mc_order_id: str
    min_status: Status
    items: list[ExpectedItem]


def failed_orders(body: bytes) -> set[str]:
    """The mcOrderIds an answer marks FAILED."""
    try:
        outcomes = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return set()
    if not isinstance(outcomes, list):
        return set()
    return {
        o.get("mcOrderId", "")
        for o in outcomes
        if isinstance(o, dict) and o.get("status") == "FAILED"
    }


def expectations(
    workload: Workload, acked: Iterable[str], partial: Mapping[str, bytes] | None = None
) -> list[ExpectedOrder]:
    """What the acknowledged requests (correlation ids) require of the database."""
    partial = partial or {}
    by_order: dict[str, ExpectedOrder] = {}
    for cid in set(acked):
        spec = workload.request(*parse_correlation_id(cid))
        refused = failed_orders(partial[cid]) if cid in partial else set()
        s = step(spec.round)
        for j in spec.orders:
            mc_order_id = workload.mc_order_id(j)
            if mc_order_id in refused:
                continue
            expected = by_order.get(mc_order_id)
            if expected is None:
                items = [
                    ExpectedItem(workload.item_mc_id(mc_order_id, n))
                    for n in range(ITEMS_PER_ORDER)
                ]
                expected = by_order[mc_order_id] = ExpectedOrder(mc_order_id, Status.PENDING, items)
            if RANK[s.status] > RANK[expected.min_status]:
                expected.min_status = s.status
            for n, item in enumerate(expected.items):
                item.min_status = expected.min_status
                item.notes.add(s.note)
                if s.tracked:
                    item.tracking_number = workload.tracking(j, n)[0]
    return list(by_order.values())


def check_acknowledged(engine: Engine, expected: Sequence[ExpectedOrder]) -> list[str]:
    """The lost or wrong updates, one line each; empty when all acknowledged work is stored."""
    problems: list[str] = []
    for k in range(0, len(expected), QUERY_CHUNK):
        problems += _check_chunk(engine, expected[k : k + QUERY_CHUNK])
    return problems


def _check_chunk(engine: Engine, chunk: Sequence[ExpectedOrder]) -> list[str]:
    ids = [e.mc_order_id for e in chunk]
    o, i, h = orders.c, order_items.c, item_history.c
    with engine.connect() as conn:
        statuses = {
            r.mc_order_id: r.status
            for r in conn.execute(select(o.mc_order_id, o.status).where(o.mc_order_id.in_(ids)))
        }
        items = {
            (r.mc_order_id, r.mc_id): r
            for r in conn.execute(
                select(i.mc_order_id, i.mc_id, i.item_pk, i.status, i.tracking_number).where(
                    i.mc_order_id.in_(ids)
                )
            )
        }
        notes: dict[int, set[str]] = defaultdict(set)
        pks = [r.item_pk for r in items.values()]
        for pk, note in conn.execute(
            select(h.item_pk, h.note).where(h.item_pk.in_(pks), h.kind == "vendor")
        ):
            notes[pk].add(note)
    problems = []
    for e in chunk:
        status = statuses.get(e.mc_order_id)
        if status is None:
            problems.append(f"{e.mc_order_id}: order missing")
            continue
        if RANK.get(status, -1) < RANK[e.min_status]:
            problems.append(f"{e.mc_order_id}: order is {status}, acknowledged {e.min_status}")
        for want in e.items:
            row = items.get((e.mc_order_id, want.mc_id))
            where = f"{e.mc_order_id} item {want.mc_id}"
            if row is None:
                problems.append(f"{where}: missing")
                continue
            if RANK.get(row.status, -1) < RANK[want.min_status]:
                problems.append(f"{where}: is {row.status}, acknowledged {want.min_status}")
            if want.tracking_number and row.tracking_number != want.tracking_number:
                problems.append(f"{where}: tracking {row.tracking_number}, not the acknowledged")
            lost = want.notes - notes.get(row.item_pk, set())
            if lost:
                problems.append(f"{where}: {len(lost)} acknowledged history notes missing")
    return problems
