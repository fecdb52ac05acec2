"""Orders, their items, and what happened to them: the SQL of orders (run in a transaction,
never committing)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from tfs import limits
from tfs.db.tables import VENDOR_EVENT
from tfs.db.transaction import Transaction
from tfs.orders.rules import AppliedUpdate, ItemState, OrderState
from tfs.orders.statuses import BY_VALUE, Status


@dataclass(frozen=True)
class HistoryRow:
    kind: str
    order_item_number: str | None
    event_type: str | None
    event_date: datetime | None
    note: str | None
    received_at: datetime


@dataclass(frozen=True)
class ErrorRow:
    field_name: str | None
    code: str | None
    message: str | None
    received_at: datetime


@dataclass
class OrderRecord:
    """An order as stored, with the latest of what its items have been through: per item pk,
    the most recent history entries and errors (oldest first) and how many are stored in all."""

    state: OrderState
    histories: dict[int, list[HistoryRow]]
    errors: dict[int, list[ErrorRow]]
    history_counts: dict[int, int]
    error_counts: dict[int, int]


@dataclass
class _Recent:
    histories: dict[int, list[HistoryRow]]
    errors: dict[int, list[ErrorRow]]
    history_counts: dict[int, int]
    error_counts: dict[int, int]


@dataclass(frozen=True)
class Found:
    """A page of orders, and where a walk that stopped short of the page's end stopped
    (updated_at, mc_order_id), if one did: the next page goes on from there."""

    records: list[OrderRecord]
    resume_after: tuple[datetime, str] | None = None


@dataclass(frozen=True)
class OrderFilter:
    vendor_id: str | None = None
    mc_order_ids: tuple[str, ...] = ()
    order_ids: tuple[str, ...] = ()
    status: Status | None = None
    updated_since: datetime | None = None
    after: tuple[datetime, str] | None = None  # keyset cursor: (updated_at, mc_order_id)


# One mapper per table each way: the columns read, in the order the decoders below take them.
_ORDER_COLUMNS = (
    "mc_order_id, vendor_id, order_id, program_id, status, revision, updated_at, created_at"
)
_ITEM_COLUMNS = (
    "item_pk, mc_id, item_id, status, tracking_number, tracking_url, reward_item_id,"
    " description, quantity"
)
_ORDER_INSERT = (
    "mc_order_id", "vendor_id", "order_id", "program_id", "status", "revision",
    "placement_hash", "created_at", "updated_at",
)  # fmt: skip
_ITEM_INSERT = (
    "mc_order_id", "mc_id", "item_id", "reward_item_id", "description", "quantity", "status",
    "position",
)  # fmt: skip
_HISTORY_INSERT = (
    "item_pk", "kind", "order_item_number", "event_type", "event_date", "note", "fingerprint",
    "received_at",
)  # fmt: skip
_ERROR_INSERT = ("item_pk", "field_name", "code", "message", "fingerprint", "received_at")

# The orders of a batch with their items.
_LOAD = (
    "SELECT o.mc_order_id, o.vendor_id, o.order_id, o.program_id, o.status, o.revision,"
    " o.updated_at, o.created_at, i.item_pk, i.mc_id, i.item_id, i.status, i.tracking_number,"
    " i.tracking_url, i.reward_item_id, i.description, i.quantity"
    " FROM orders o LEFT JOIN order_items i ON i.mc_order_id = o.mc_order_id"
    " WHERE o.mc_order_id IN (?) ORDER BY o.mc_order_id, i.position"
)
# SQLite: the same rows as one JSON array in one row (each with the item's position last, to
# sort by). Python's sqlite3 lets go of the GIL for every row it steps through and must wait to
# take it back, in the writer's turn, while the event loop works; one row is one wait.
_LOAD_SQLITE = (
    "SELECT json_group_array(json_array(o.mc_order_id, o.vendor_id, o.order_id, o.program_id,"
    " o.status, o.revision, o.updated_at, o.created_at, i.item_pk, i.mc_id, i.item_id, i.status,"
    " i.tracking_number, i.tracking_url, i.reward_item_id, i.description, i.quantity,"
    " i.position)) FROM orders o LEFT JOIN order_items i ON i.mc_order_id = o.mc_order_id"
    " WHERE o.mc_order_id IN (?)"
)
# PostgreSQL locks the order rows first, in a statement of its own: a locking join re-reads a
# row that a concurrent transaction changed meanwhile, but not the rows joined to it, which
# would be those of the statement's older snapshot.
_LOCK_PG = "SELECT mc_order_id FROM orders WHERE mc_order_id IN (?) ORDER BY mc_order_id FOR UPDATE"
_ORDERS_BY_ID = f"SELECT {_ORDER_COLUMNS} FROM orders WHERE mc_order_id IN (?)"  # noqa: S608
_ITEMS_OF = (
    f"SELECT mc_order_id, {_ITEM_COLUMNS} FROM order_items"  # noqa: S608
    " WHERE mc_order_id IN (?) ORDER BY mc_order_id, position"
)
_PLACEMENT_HASHES = "SELECT mc_order_id, placement_hash FROM orders WHERE mc_order_id IN (?)"
# Which (item pk, fingerprint) pairs are stored, among vendor events (the partial unique index
# of item_history holds only theirs: the condition lets the planner use it) and errors. SQLite
# gets the pairs as one JSON array, so the statement's text is the same whatever their number;
# PostgreSQL as two arrays.
_STORED_FPS_SQLITE = (
    "SELECT h.item_pk, h.fingerprint FROM json_each(?) AS j JOIN item_history AS h"  # noqa: S608
    f" ON h.item_pk = j.value ->> 0 AND h.fingerprint = j.value ->> 1 AND h.{VENDOR_EVENT}"
    " UNION ALL SELECT e.item_pk, e.fingerprint FROM json_each(?) AS j JOIN item_errors AS e"
    " ON e.item_pk = j.value ->> 0 AND e.fingerprint = j.value ->> 1"
)
_STORED_FPS_PG = (
    "SELECT h.item_pk, h.fingerprint FROM unnest(?::bigint[], ?::text[]) AS j(pk, fp)"  # noqa: S608
    f" JOIN item_history AS h ON h.item_pk = j.pk AND h.fingerprint = j.fp AND h.{VENDOR_EVENT}"
    " UNION ALL SELECT e.item_pk, e.fingerprint FROM unnest(?::bigint[], ?::text[]) AS j(pk, fp)"
    " JOIN item_errors AS e ON e.item_pk = j.pk AND e.fingerprint = j.fp"
)
_COUNT = "SELECT item_pk, count(*) FROM {table} WHERE item_pk IN (?) GROUP BY item_pk"
_HISTORY_COLUMNS = "kind, order_item_number, event_type, event_date, note, received_at"
_ERROR_COLUMNS = "field_name, code, message, received_at"
# The latest entries of each item, by the (item_pk, <key>) index: a few rows per item read,
# however many it holds. Table and column names come from this module, never from a request.
_RECENT_SQLITE = (
    "SELECT t.item_pk, t.{key}, {columns} FROM json_each(?) AS j JOIN {table} AS t"
    " ON t.{key} IN (SELECT x.{key} FROM {table} AS x WHERE x.item_pk = j.value"
    " ORDER BY x.{key} DESC LIMIT ?) ORDER BY t.item_pk, t.{key}"
)
_RECENT_PG = (
    "SELECT t.item_pk, t.{key}, {columns} FROM unnest(?::bigint[]) AS j(pk) CROSS JOIN LATERAL"
    " (SELECT * FROM {table} AS x WHERE x.item_pk = j.pk ORDER BY x.{key} DESC LIMIT ?) AS t"
    " ORDER BY t.item_pk, t.{key}"
)
_HISTORY_PAGE = (
    "SELECT history_pk, kind, order_item_number, event_type, event_date, note, received_at"
    " FROM item_history WHERE item_pk = ? AND history_pk > ? ORDER BY history_pk LIMIT ?"
)


# By the index of (vendor_id, status): its entries, not the orders' rows.
_BY_STATUS = (
    "SELECT vendor_id, status, count(*) FROM orders GROUP BY vendor_id, status"
    " ORDER BY vendor_id, status"
)


class Orders:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.sql = tx.sql

    def place(self, placed: Sequence[tuple[OrderState, str]], now: datetime) -> set[str]:
        """Insert new orders with their placement hashes and items, a statement or so per table
        for the whole batch; the ids inserted. An id already there (placed by a concurrent
        transaction since it was looked up) is skipped, and so are its items."""
        if not placed:
            return set()
        sql = self.sql
        at = sql.time(now)
        inserted = set(sql.insert_new("orders", _ORDER_INSERT, _order_rows(placed, at)))
        sql.insert(
            "order_items",
            _ITEM_INSERT,
            _item_rows([p for p in placed if p[0].mc_order_id in inserted]),
        )
        return inserted

    def insert_many(self, placed: Sequence[tuple[OrderState, str]], now: datetime) -> None:
        """Bulk load (`tfs bench`): new orders with their placement hashes; COPY on PostgreSQL."""
        if not placed:
            return
        sql = self.sql
        at = sql.time(now)
        orders, items = _order_rows(placed, at), _item_rows(placed)
        if not sql.postgres:
            sql.insert("orders", _ORDER_INSERT, orders)
            sql.insert("order_items", _ITEM_INSERT, items)
            return
        driver = self.tx.conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            for table, columns, rows in (("orders", _ORDER_INSERT, orders),
                                         ("order_items", _ITEM_INSERT, items)):  # fmt: skip
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)

    def placement_hashes(self, mc_order_ids: Iterable[str]) -> dict[str, str]:
        """The placement hash of each of these orders that exists: one query for a batch."""
        ids = list(set(mc_order_ids))
        if not ids:
            return {}
        return {r[0]: r[1] for r in self.sql.rows_in(_PLACEMENT_HASHES, ids)}

    def lock(self, vendor_id: str, mc_order_ids: Sequence[str]) -> dict[str, OrderState]:
        """The vendor's orders among these ids with their items, locked for update (PostgreSQL:
        the order rows, in one id order, so that concurrent batches cannot deadlock; SQLite has
        one writer at a time)."""
        if not mc_order_ids:
            return {}
        sql = self.sql
        # By primary key alone: with the vendor in the WHERE clause, SQLite (which keeps no
        # statistics) walks the vendor's index instead, a scan of all the vendor's orders.
        ids = list(mc_order_ids)
        if sql.postgres:
            sql.rows_in(_LOCK_PG, ids)
            rows: list[Any] = sql.rows_in(_LOAD, ids)
        else:
            ((found,),) = sql.rows_in(_LOAD_SQLITE, ids)
            rows = sorted(_decode_rows(found), key=lambda r: (r[0], r[17] or 0))
        states: dict[str, OrderState] = {}
        read_time = sql.read_time
        for r in rows:
            if r[1] != vendor_id:
                continue
            state = states.get(r[0])
            if state is None:
                state = states[r[0]] = _order_state(r, read_time)
            if r[8] is not None:
                state.items.append(_item_state(r, 8))
        return states

    def _states(self, mc_order_ids: Sequence[str]) -> dict[str, OrderState]:
        """These orders that exist, with their items, by id."""
        if not mc_order_ids:
            return {}
        sql = self.sql
        ids = list(mc_order_ids)
        states = {r[0]: _order_state(r, sql.read_time) for r in sql.rows_in(_ORDERS_BY_ID, ids)}
        for r in sql.rows_in(_ITEMS_OF, ids):
            states[r[0]].items.append(_item_state(r, 1))
        return states

    def stored_fingerprints(self, pairs: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
        """Which of these (item pk, fingerprint) pairs are stored, as history or as errors: one
        indexed probe per pair, whatever the items hold (the status update's dedup look-up)."""
        if not pairs:
            return set()
        sql = self.sql
        if sql.postgres:
            rows = sql.rows(_STORED_FPS_PG, ([p for p, _ in pairs], [f for _, f in pairs]) * 2)
        else:
            probe = msgspec.json.encode(pairs).decode()
            rows = sql.rows(_STORED_FPS_SQLITE, (probe, probe))
        return {(int(pk), fp) for pk, fp in rows}

    def recent(self, item_pks: Sequence[int], window: int) -> _Recent:
        """The `window` most recently received history entries and errors of each item (oldest
        first), and how many each item holds in all."""
        recent = _Recent(defaultdict(list), defaultdict(list), {}, {})
        pks = list(item_pks)
        if not pks:
            return recent
        sql = self.sql
        read_time = sql.read_time
        for table, counts in (("item_history", recent.history_counts),
                              ("item_errors", recent.error_counts)):  # fmt: skip
            for pk, n in sql.rows_in(_COUNT.format(table=table), pks):
                counts[int(pk)] = int(n)
        if window <= 0:
            return recent
        latest = _RECENT_PG if sql.postgres else _RECENT_SQLITE
        args: tuple[Any, ...] = (
            (pks, window) if sql.postgres else (msgspec.json.encode(pks).decode(), window)
        )
        for pk, _, kind, number, event_type, event_date, note, received_at in sql.rows(
            latest.format(table="item_history", columns=_HISTORY_COLUMNS, key="history_pk"), args
        ):
            recent.histories[pk].append(
                HistoryRow(
                    kind,
                    number,
                    event_type,
                    read_time(event_date) if event_date is not None else None,
                    note,
                    read_time(received_at),
                )
            )
        for pk, _, field_name, code, message, received_at in sql.rows(
            latest.format(table="item_errors", columns=_ERROR_COLUMNS, key="error_pk"), args
        ):
            recent.errors[pk].append(ErrorRow(field_name, code, message, read_time(received_at)))
        return recent

    def history_page(
        self, item_pks: Sequence[int], after: tuple[int, int] | None, limit: int
    ) -> list[tuple[int, int, HistoryRow]]:
        """Up to `limit` history entries of these items, item by item (in pk order) and in the
        order received, after the cursor (item pk, history pk): (item pk, history pk, entry)."""
        sql = self.sql
        read_time = sql.read_time
        page: list[tuple[int, int, HistoryRow]] = []
        for pk in sorted(item_pks):
            if after is not None and pk < after[0]:
                continue
            since = after[1] if after is not None and pk == after[0] else 0
            for hpk, kind, number, event_type, event_date, note, received_at in sql.rows(
                _HISTORY_PAGE, (pk, since, limit - len(page))
            ):
                entry = HistoryRow(
                    kind,
                    number,
                    event_type,
                    read_time(event_date) if event_date is not None else None,
                    note,
                    read_time(received_at),
                )
                page.append((pk, int(hpk), entry))
            if len(page) >= limit:
                break
        return page

    def save(self, applied: Sequence[AppliedUpdate], now: datetime) -> None:
        """Write what changed: a statement per table for the whole batch, held in the
        transaction's writes (on SQLite, written with its group's)."""
        changed = [a for a in applied if a.changed]
        if not changed:
            return
        sql, writes = self.sql, self.tx.writes
        at = sql.time(now)
        writes.update(
            "orders",
            "mc_order_id",
            ("order_id", "status", "revision", "updated_at"),
            [
                (a.order.order_id, a.order.status.value, a.order.revision, at, a.order.mc_order_id)
                for a in changed
            ],
        )
        writes.update(
            "order_items",
            "item_pk",
            ("item_id", "status", "tracking_number", "tracking_url"),
            [
                (i.id, i.status.value, i.tracking_number, i.tracking_url, i.pk)
                for a in changed
                for i in a.order.items
                if i.mc_id in a.changed_items
            ],
        )
        maybe_time = sql.maybe_time
        writes.insert(
            "item_history",
            _HISTORY_INSERT,
            [
                (h.item_pk, h.kind, h.order_item_number, h.event_type, maybe_time(h.event_date),
                 h.note, h.fingerprint, at)
                for a in changed
                for h in a.histories
            ],
        )  # fmt: skip
        writes.insert(
            "item_errors",
            _ERROR_INSERT,
            [
                (e.item_pk, e.field_name, e.code, e.message, e.fingerprint, at)
                for a in changed
                for e in a.errors
            ],
        )

    def records(self, states: Sequence[OrderState], window: int) -> list[OrderRecord]:
        recent = self.recent([i.pk for s in states for i in s.items], window)
        return [
            OrderRecord(
                s, recent.histories, recent.errors, recent.history_counts, recent.error_counts
            )
            for s in states
        ]

    def state(self, mc_order_id: str) -> OrderState | None:
        return self._states([mc_order_id]).get(mc_order_id)

    def get(self, mc_order_id: str, window: int) -> OrderRecord | None:
        state = self.state(mc_order_id)
        return None if state is None else self.records([state], window)[0]

    def get_many(self, mc_order_ids: Iterable[str], window: int) -> dict[str, OrderRecord]:
        """Those of these orders that exist, by id (a few queries for a whole batch)."""
        states = self._states(list(set(mc_order_ids)))
        return {r.state.mc_order_id: r for r in self.records(list(states.values()), window)}

    def counts_by_status(self) -> list[tuple[str, str, int]]:
        """(vendor id, status, orders) for every vendor and status that has orders."""
        return [(r[0], r[1], int(r[2])) for r in self.sql.rows(_BY_STATUS)]

    def find(self, flt: OrderFilter, limit: int, window: int) -> Found:
        """A page of orders in (updated_at, mc_order_id) order: the filter's conditions are
        each a fixed text, so there are as many statement texts as combinations of them.

        A vendor's orders filtered by status alone are found by walking the vendor's
        (updated_at, mc_order_id) index, at most `limits.STATUS_SCAN_ORDERS` of them: there is
        no index by status (each status move would move an entry in it). When the walk stops
        there, `Found.resume_after` says where it stopped."""
        sql = self.sql
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if flt.vendor_id is not None:
            where.append("vendor_id = ?")
            params.append(flt.vendor_id)
        if flt.mc_order_ids:
            where.append("mc_order_id IN (?)")
            params.append(list(flt.mc_order_ids))
        if flt.order_ids:
            where.append("order_id IN (?)")
            params.append(list(flt.order_ids))
        walk = (
            flt.status is not None
            and flt.vendor_id is not None
            and not flt.mc_order_ids
            and not flt.order_ids
        )
        if flt.status is not None and not walk:
            where.append("status = ?")
            params.append(flt.status.value)
        if flt.updated_since is not None:
            where.append("updated_at >= ?")
            params.append(sql.time(flt.updated_since))
        if flt.after is not None:
            at, last_id = flt.after
            where.append("(updated_at > ? OR (updated_at = ? AND mc_order_id > ?))")
            params.extend((sql.time(at), sql.time(at), last_id))
        # One statement for both: a walk reads up to STATUS_SCAN_ORDERS rows and keeps those
        # in the status; otherwise the page's rows are the orders.
        rows = sql.rows_lists(
            f"SELECT mc_order_id, status, updated_at FROM orders"  # noqa: S608
            f" WHERE {' AND '.join(where)} ORDER BY updated_at, mc_order_id LIMIT ?",
            [*params, limits.STATUS_SCAN_ORDERS if walk else limit],
        )
        resume_after = None
        if walk:
            assert flt.status is not None
            ids = [r[0] for r in rows if r[1] == flt.status.value][:limit]
            if len(ids) < limit and len(rows) == limits.STATUS_SCAN_ORDERS:
                resume_after = (sql.read_time(rows[-1][2]), rows[-1][0])
        else:
            ids = [r[0] for r in rows]
        states = self._states(ids)
        return Found(self.records([states[i] for i in ids], window), resume_after)


_decode_rows = msgspec.json.Decoder(list[list[Any]]).decode


def _order_rows(placed: Sequence[tuple[OrderState, str]], at: Any) -> list[tuple[Any, ...]]:
    return [
        (o.mc_order_id, o.vendor_id, o.order_id, o.program_id, o.status.value, o.revision,
         placement_hash, at, at)
        for o, placement_hash in placed
    ]  # fmt: skip


def _item_rows(placed: Sequence[tuple[OrderState, str]]) -> list[tuple[Any, ...]]:
    return [
        (o.mc_order_id, i.mc_id, i.id, i.reward_item_id, i.description, i.quantity,
         i.status.value, n)
        for o, _ in placed
        for n, i in enumerate(o.items)
    ]  # fmt: skip


def _order_state(r: Sequence[Any], read_time: Callable[[Any], datetime]) -> OrderState:
    """An order row (_ORDER_COLUMNS first), without its items."""
    return OrderState(
        r[0], r[1], r[2], r[3], BY_VALUE[r[4]], r[5], [], read_time(r[6]), read_time(r[7])
    )


def _item_state(r: Sequence[Any], at: int) -> ItemState:
    """An item row (_ITEM_COLUMNS from column `at`)."""
    return ItemState(
        r[at], r[at + 1], r[at + 2], BY_VALUE[r[at + 3]], r[at + 4], r[at + 5], r[at + 6],
        r[at + 7], r[at + 8],
    )  # fmt: skip
