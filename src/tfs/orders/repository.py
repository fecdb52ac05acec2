"""All SQL of the service. Repositories run inside a unit of work and never commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import (
    Connection,
    Table,
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from tfs.db.driver import Driver, PendingWrites, as_utc
from tfs.db.tables import (
    credentials,
    idempotency_keys,
    nonces,
    order_items,
    orders,
    vendors,
)
from tfs.orders.rules import AppliedUpdate, ItemState, OrderState
from tfs.orders.statuses import Status


@dataclass(frozen=True)
class Credential:
    consumer_key: str
    role: str
    vendor_id: str | None
    public_key_pem: str
    fingerprint: str
    revoked: bool
    is_demo: bool
    created_at: datetime


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


class Vendors:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, vendor_id: str, name: str | None, now: datetime) -> bool:
        """False when the vendor already exists."""
        if self.exists(vendor_id):
            return False
        self.conn.execute(insert(vendors).values(vendor_id=vendor_id, name=name, created_at=now))
        return True

    def exists(self, vendor_id: str) -> bool:
        query = select(vendors.c.vendor_id).where(vendors.c.vendor_id == vendor_id)
        return self.conn.execute(query).first() is not None

    def known(self, vendor_ids: Iterable[str]) -> set[str]:
        """Those of these vendors that exist: one query for a whole batch."""
        ids = list(set(vendor_ids))
        if not ids:
            return set()
        sql = "SELECT vendor_id FROM vendors WHERE vendor_id IN (?)"
        rows = Driver(self.conn).rows_in(sql, ids)
        return {r[0] for r in rows}

    def all(self) -> list[tuple[str, str | None]]:
        rows = self.conn.execute(select(vendors.c.vendor_id, vendors.c.name).order_by("vendor_id"))
        return [(r.vendor_id, r.name) for r in rows]


class Credentials:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, credential: Credential) -> None:
        self.conn.execute(insert(credentials).values(**credential.__dict__))

    def get(self, consumer_key: str) -> Credential | None:
        """Read on every signed request: driver-level SQL (see storage/driver.py)."""
        sql = Driver(self.conn)
        rows = sql.rows(
            "SELECT consumer_key, role, vendor_id, public_key_pem, fingerprint, revoked, is_demo,"
            " created_at FROM credentials WHERE consumer_key = ?",
            (consumer_key,),
        )
        if not rows:
            return None
        key, role, vendor_id, pem, fingerprint, revoked, is_demo, created_at = rows[0]
        return Credential(
            key,
            role,
            vendor_id,
            pem,
            fingerprint,
            bool(revoked),
            bool(is_demo),
            sql.read_time(created_at),
        )

    def all(self) -> list[Credential]:
        rows = self.conn.execute(select(credentials).order_by(credentials.c.created_at))
        return [_credential(r) for r in rows]

    def revoked(self, consumer_key: str) -> bool:
        """True when the key is revoked or gone."""
        rows = Driver(self.conn).rows(
            "SELECT revoked FROM credentials WHERE consumer_key = ?", (consumer_key,)
        )
        return not rows or bool(rows[0][0])

    def revoke(self, consumer_key: str) -> bool:
        result = self.conn.execute(
            update(credentials)
            .where(credentials.c.consumer_key == consumer_key)
            .values(revoked=True)
        )
        return result.rowcount == 1


def _credential(row: Any) -> Credential:
    values = row._asdict()
    values["created_at"] = as_utc(values["created_at"])
    return Credential(**values)


# The nonce is spent only while its credential is not revoked (`WHERE` before `ON CONFLICT`:
# SQLite needs it to parse an upsert from a SELECT).
_SPEND_NONCE = (
    "INSERT INTO nonces (consumer_key, nonce, expires_at) SELECT ?, ?, ?"
    " WHERE EXISTS (SELECT 1 FROM credentials WHERE consumer_key = ? AND NOT revoked)"
    " ON CONFLICT DO NOTHING"
)


class Nonces:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def record(self, consumer_key: str, nonce: str, expires_at: datetime) -> bool:
        """True the first time a nonce is seen for this key while the key is not revoked;
        False on a replay, or once the key is revoked: credentials are read from a cache, so
        revocation is checked here, in the transaction of the work (see api/auth.py).

        A conflict is not an error here, so no savepoint is needed around the insert.
        """
        sql = Driver(self.conn)
        inserted = sql.execute(
            _SPEND_NONCE, (consumer_key, nonce, sql.time(expires_at), consumer_key)
        )
        return inserted == 1

    def purge_expired(self, now: datetime) -> int:
        return self.conn.execute(delete(nonces).where(nonces.c.expires_at < now)).rowcount


@dataclass(frozen=True)
class IdempotencyRecord:
    request_hash: str
    state: str
    response_status: int | None
    response_body: bytes | None
    expires_at: datetime


class IdempotencyKeys:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, consumer_key: str, key: str) -> IdempotencyRecord | None:
        row = self.conn.execute(
            select(
                idempotency_keys.c.request_hash,
                idempotency_keys.c.state,
                idempotency_keys.c.response_status,
                idempotency_keys.c.response_body,
                idempotency_keys.c.expires_at,
            ).where(idempotency_keys.c.consumer_key == consumer_key, idempotency_keys.c.key == key)
        ).first()
        if row is None:
            return None
        return IdempotencyRecord(
            row.request_hash,
            row.state,
            row.response_status,
            row.response_body,
            as_utc(row.expires_at),
        )

    def start(
        self, consumer_key: str, key: str, request_hash: str, now: datetime, expires_at: datetime
    ) -> bool:
        """False when a concurrent request claimed the key first (PostgreSQL does not serialise)."""
        self.conn.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.consumer_key == consumer_key,
                idempotency_keys.c.key == key,
                idempotency_keys.c.expires_at < now,
            )
        )
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(idempotency_keys).values(
                        consumer_key=consumer_key,
                        key=key,
                        request_hash=request_hash,
                        state="running",
                        created_at=now,
                        expires_at=expires_at,
                    )
                )
        except IntegrityError:
            return False
        return True

    def finish(self, consumer_key: str, key: str, status: int, body: bytes) -> None:
        self.conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.consumer_key == consumer_key, idempotency_keys.c.key == key)
            .values(state="done", response_status=status, response_body=body)
        )

    def purge_expired(self, now: datetime) -> int:
        query = delete(idempotency_keys).where(idempotency_keys.c.expires_at < now)
        return self.conn.execute(query).rowcount

    def abandon(self, consumer_key: str, key: str) -> None:
        self.conn.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.consumer_key == consumer_key,
                idempotency_keys.c.key == key,
                idempotency_keys.c.state == "running",
            )
        )


@dataclass(frozen=True)
class OrderFilter:
    vendor_id: str | None = None
    mc_order_ids: tuple[str, ...] = ()
    order_ids: tuple[str, ...] = ()
    status: Status | None = None
    updated_since: datetime | None = None
    after: tuple[datetime, str] | None = None  # keyset cursor: (updated_at, mc_order_id)


# The orders of a batch with their items.
_LOAD = (
    "SELECT o.mc_order_id, o.vendor_id, o.order_id, o.program_id, o.status, o.revision,"
    " o.updated_at, o.created_at, i.item_pk, i.mc_id, i.item_id, i.status, i.tracking_number,"
    " i.tracking_url, i.reward_item_id, i.description, i.quantity"
    " FROM orders o LEFT JOIN order_items i ON i.mc_order_id = o.mc_order_id"
    " WHERE o.mc_order_id IN (?) ORDER BY o.mc_order_id, i.position"
)
# PostgreSQL locks the order rows first, in a statement of its own: a locking join re-reads a
# row that a concurrent transaction changed meanwhile, but not the rows joined to it, which
# would be those of the statement's older snapshot.
_LOCK_PG = "SELECT mc_order_id FROM orders WHERE mc_order_id IN (?) ORDER BY mc_order_id FOR UPDATE"


# Which (item pk, fingerprint) pairs are stored. SQLite gets the pairs as one JSON array, so
# the statement's text is the same whatever their number; PostgreSQL as two arrays.
_STORED_FPS_SQLITE = (
    "SELECT h.item_pk, h.fingerprint FROM json_each(?) AS j JOIN item_history AS h"
    " ON h.item_pk = j.value ->> 0 AND h.fingerprint = j.value ->> 1"
    " UNION ALL SELECT e.item_pk, e.fingerprint FROM json_each(?) AS j JOIN item_errors AS e"
    " ON e.item_pk = j.value ->> 0 AND e.fingerprint = j.value ->> 1"
)
_STORED_FPS_PG = (
    "SELECT h.item_pk, h.fingerprint FROM unnest(?::bigint[], ?::text[]) AS j(pk, fp)"
    " JOIN item_history AS h ON h.item_pk = j.pk AND h.fingerprint = j.fp"
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


class Orders:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # Set inside a group commit: `save` adds its rows there (see Store.run_grouped).
        self.pending: PendingWrites | None = None

    def place(self, placed: Sequence[tuple[OrderState, str]], now: datetime) -> set[str]:
        """Insert new orders with their placement hashes and items, a statement or so per table
        for the whole batch (driver level); the ids inserted. An id already there (placed by a
        concurrent transaction since it was looked up) is skipped, and so are its items."""
        if not placed:
            return set()
        sql = Driver(self.conn)
        at = sql.time(now)
        inserted = set(
            sql.insert_new(
                "orders",
                (
                    "mc_order_id",
                    "vendor_id",
                    "order_id",
                    "program_id",
                    "status",
                    "revision",
                    "placement_hash",
                    "created_at",
                    "updated_at",
                ),
                [
                    (
                        o.mc_order_id,
                        o.vendor_id,
                        o.order_id,
                        o.program_id,
                        o.status.value,
                        o.revision,
                        placement_hash,
                        at,
                        at,
                    )
                    for o, placement_hash in placed
                ],
            )
        )
        sql.insert(
            "order_items",
            (
                "mc_order_id",
                "mc_id",
                "item_id",
                "reward_item_id",
                "description",
                "quantity",
                "status",
                "position",
            ),
            [
                (
                    o.mc_order_id,
                    i.mc_id,
                    i.id,
                    i.reward_item_id,
                    i.description,
                    i.quantity,
                    i.status.value,
                    n,
                )
                for o, _ in placed
                if o.mc_order_id in inserted
                for n, i in enumerate(o.items)
            ],
        )
        return inserted

    def insert_many(self, placed: Sequence[tuple[OrderState, str]], now: datetime) -> None:
        """Bulk load (`tfs bench`): new orders with their placement hashes, no per-row overhead."""
        if not placed:
            return
        self._load(
            orders,
            "mc_order_id vendor_id order_id program_id status revision placement_hash created_at "
            "updated_at",
            [
                (
                    o.mc_order_id,
                    o.vendor_id,
                    o.order_id,
                    o.program_id,
                    o.status.value,
                    o.revision,
                    placement_hash,
                    now,
                    now,
                )
                for o, placement_hash in placed
            ],
        )
        self._load(
            order_items,
            "mc_order_id mc_id item_id reward_item_id description quantity status position",
            [
                (
                    o.mc_order_id,
                    i.mc_id,
                    i.id,
                    i.reward_item_id,
                    i.description,
                    i.quantity,
                    i.status.value,
                    n,
                )
                for o, _ in placed
                for n, i in enumerate(o.items)
            ],
        )

    def _load(self, table: Table, columns: str, rows: list[tuple[Any, ...]]) -> None:
        """COPY on PostgreSQL; elsewhere the driver's executemany, values converted once."""
        names = columns.split()
        dialect = self.conn.dialect
        if dialect.name == "postgresql":
            driver = self.conn.connection.driver_connection
            assert driver is not None
            cursor = driver.cursor()
            with cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        compiled = insert(table).compile(dialect=dialect, column_keys=names)
        convert = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
        if any(convert):
            rows = [tuple(f(v) if f else v for f, v in zip(convert, r, strict=True)) for r in rows]
        if compiled.positional:
            order = [names.index(n) for n in compiled.positiontup or ()]
            params: Any = [tuple(r[k] for k in order) for r in rows]
        else:
            params = [dict(zip(names, r, strict=True)) for r in rows]
        self.conn.exec_driver_sql(compiled.string, params)

    def placement_hashes(self, mc_order_ids: Iterable[str]) -> dict[str, str]:
        """The placement hash of each of these orders that exists: one query for a batch."""
        ids = list(set(mc_order_ids))
        if not ids:
            return {}
        rows = Driver(self.conn).rows_in(
            "SELECT mc_order_id, placement_hash FROM orders WHERE mc_order_id IN (?)", ids
        )
        return {r[0]: r[1] for r in rows}

    def revision_check(self, vendor_id: str, mc_order_ids: Sequence[str]) -> tuple[int, int]:
        """How many of these ids are the vendor's orders, and the sum of their revisions: one
        row. Orders are never deleted nor change hands, and every change raises a revision, so
        the pair moves if and only if one of these orders was placed or changed."""
        if not mc_order_ids:
            return 0, 0
        ((count, total),) = Driver(self.conn).rows_in(
            "SELECT count(*), coalesce(sum(revision), 0) FROM orders"
            # `|| ''`: SQLite must not walk the vendor's index (see `lock`).
            " WHERE mc_order_id IN (?) AND vendor_id || '' = ?",
            list(mc_order_ids),
            (vendor_id,),
        )
        return int(count), int(total)

    def lock(self, vendor_id: str, mc_order_ids: Sequence[str]) -> dict[str, OrderState]:
        """The vendor's orders among these ids with their items, locked for update (PostgreSQL:
        the order rows, in one id order, so that concurrent batches cannot deadlock; SQLite has
        one writer at a time). The hot path: driver-level SQL.
        """
        if not mc_order_ids:
            return {}
        sql = Driver(self.conn)
        # By primary key alone: with the vendor in the WHERE clause, SQLite (which keeps no
        # statistics) walks the vendor's index instead, a scan of all the vendor's orders.
        ids = list(mc_order_ids)
        if sql.postgres:
            sql.rows_in(_LOCK_PG, ids)
        rows = sql.rows_in(_LOAD, ids)
        states: dict[str, OrderState] = {}
        read_time = sql.read_time
        for r in rows:
            if r[1] != vendor_id:
                continue
            state = states.get(r[0])
            if state is None:
                state = states[r[0]] = OrderState(
                    r[0], r[1], r[2], r[3], Status(r[4]), r[5], [],
                    read_time(r[6]), read_time(r[7]),
                )  # fmt: skip
            if r[8] is not None:
                state.items.append(
                    ItemState(r[8], r[9], r[10], Status(r[11]), r[12], r[13], r[14], r[15], r[16])
                )
        return states

    def _states(self, rows: Sequence[Any]) -> list[OrderState]:
        states = {
            r.mc_order_id: OrderState(
                mc_order_id=r.mc_order_id,
                vendor_id=r.vendor_id,
                order_id=r.order_id,
                program_id=r.program_id,
                status=Status(r.status),
                revision=r.revision,
                items=[],
                updated_at=as_utc(r.updated_at),
                created_at=as_utc(r.created_at),
            )
            for r in rows
        }
        if states:
            item_rows = self.conn.execute(
                select(order_items)
                .where(order_items.c.mc_order_id.in_(list(states)))
                .order_by(order_items.c.mc_order_id, order_items.c.position)
            )
            for r in item_rows:
                states[r.mc_order_id].items.append(
                    ItemState(
                        pk=r.item_pk,
                        mc_id=r.mc_id,
                        id=r.item_id,
                        status=Status(r.status),
                        tracking_number=r.tracking_number,
                        tracking_url=r.tracking_url,
                        reward_item_id=r.reward_item_id,
                        description=r.description,
                        quantity=r.quantity,
                    )
                )
        return list(states.values())

    def stored_fingerprints(self, pairs: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
        """Which of these (item pk, fingerprint) pairs are stored, as history or as errors: one
        indexed probe per pair, whatever the items hold (the status update's dedup look-up)."""
        if not pairs:
            return set()
        sql = Driver(self.conn)
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
        sql = Driver(self.conn)
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
        sql = Driver(self.conn)
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
        """Write what changed: a statement or so per table for the whole batch (driver level)."""
        changed = [a for a in applied if a.changed]
        if not changed:
            return
        driver = Driver(self.conn)
        sql: Driver | PendingWrites = self.pending or driver
        at = driver.time(now)
        sql.update(
            "orders",
            "mc_order_id",
            ("order_id", "status", "revision", "updated_at"),
            [
                (a.order.order_id, a.order.status.value, a.order.revision, at, a.order.mc_order_id)
                for a in changed
            ],
        )
        sql.update(
            "order_items",
            "item_pk",
            ("item_id", "status", "tracking_number", "tracking_url"),
            [
                (i.id, i.status.value, i.tracking_number, i.tracking_url, i.pk)
                for a, moved in ((a, a.changed_items) for a in changed)
                for i in a.order.items
                if i.mc_id in moved
            ],
        )
        sql.insert(
            "item_history",
            (
                "item_pk",
                "kind",
                "order_item_number",
                "event_type",
                "event_date",
                "note",
                "fingerprint",
                "received_at",
            ),
            [
                (
                    h.item_pk,
                    h.kind,
                    h.order_item_number,
                    h.event_type,
                    driver.maybe_time(h.event_date),
                    h.note,
                    h.fingerprint,
                    at,
                )
                for a in changed
                for h in a.histories
            ],
        )
        sql.insert(
            "item_errors",
            ("item_pk", "field_name", "code", "message", "fingerprint", "received_at"),
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
        rows = self.conn.execute(select(orders).where(orders.c.mc_order_id == mc_order_id)).all()
        return self._states(rows)[0] if rows else None

    def get(self, mc_order_id: str, window: int) -> OrderRecord | None:
        state = self.state(mc_order_id)
        return None if state is None else self.records([state], window)[0]

    def get_many(self, mc_order_ids: Iterable[str], window: int) -> dict[str, OrderRecord]:
        """Those of these orders that exist, by id (a few queries for a whole batch)."""
        ids = list(set(mc_order_ids))
        if not ids:
            return {}
        rows = self.conn.execute(select(orders).where(orders.c.mc_order_id.in_(ids))).all()
        return {r.state.mc_order_id: r for r in self.records(self._states(rows), window)}

    def find(self, flt: OrderFilter, limit: int, window: int) -> list[OrderRecord]:
        o = orders.c
        query = select(orders).order_by(o.updated_at, o.mc_order_id).limit(limit)
        conditions = []
        if flt.vendor_id is not None:
            conditions.append(o.vendor_id == flt.vendor_id)
        if flt.mc_order_ids:
            conditions.append(o.mc_order_id.in_(flt.mc_order_ids))
        if flt.order_ids:
            conditions.append(o.order_id.in_(flt.order_ids))
        if flt.status is not None:
            conditions.append(o.status == flt.status.value)
        if flt.updated_since is not None:
            conditions.append(o.updated_at >= flt.updated_since)
        if flt.after is not None:
            at, last_id = flt.after
            conditions.append(
                or_(o.updated_at > at, and_(o.updated_at == at, o.mc_order_id > last_id))
            )
        rows = self.conn.execute(query.where(*conditions)).all()
        by_id = {s.mc_order_id: s for s in self._states(rows)}
        return self.records([by_id[r.mc_order_id] for r in rows], window)
