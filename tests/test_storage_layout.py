"""Storage laid out for writing: a database at 0005 with real rows converts to the new layout
(rows and public event ids intact, the documented index set), new events get UUIDv7 ids, and
a database at 0008 loses the orders' status index and keeps its orders, and one at 0011 keys
its nonces by their expiry and keeps them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from conftest import _postgres_database
from tfs.access.repository import Nonces
from tfs.db.engine import alembic_config, make_engine
from tfs.db.outbox import ORDER_STATUS_CHANGED, Events, NewEvent
from tfs.db.store import Store
from tfs.orders.repository import _STORED_FPS_SQLITE
from tfs.orders.updates import parse_updates

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

# docs/storage.md: every index of the tables a status update writes, by its columns.
PRIMARY = {
    "orders": ("mc_order_id",),
    "order_items": ("item_pk",),
    "item_history": ("history_pk",),
    "item_errors": ("error_pk",),
    "events": ("event_pk",),
    "nonces": ("expires_at", "consumer_key", "nonce"),
}
UNIQUE = {
    "orders": set(),
    "order_items": {("mc_order_id", "mc_id")},
    "item_history": set(),
    "item_errors": {("item_pk", "fingerprint")},
    "events": {("event_id",), ("sequence",), ("mc_order_id", "revision")},
    "nonces": set(),
}
INDEXES = {
    "orders": {
        ("vendor_id", "updated_at", "mc_order_id"),
        ("vendor_id", "order_id"),
    },
    "order_items": set(),
    # (item_pk, fingerprint): unique, of vendor events only (migration 0011).
    "item_history": {("item_pk", "fingerprint"), ("item_pk", "history_pk")},
    "item_errors": {("item_pk", "error_pk")},
    "events": {("vendor_id", "sequence")},
    "nonces": set(),  # the purge walks the primary key's first column (migration 0012)
}


@pytest.fixture
def url_at_0005(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to revision 0005 only."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'layout.db'}"
        command.upgrade(alembic_config(url), "0005")
        yield url
        return
    for url in _postgres_database():
        command.upgrade(alembic_config(url), "0005")
        yield url


def _time(engine: Engine, value: datetime) -> Any:
    """A time as each dialect stores it (SQLite: the service's ISO text in UTC)."""
    if engine.dialect.name == "sqlite":
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return value


def _fill(engine: Engine) -> list[tuple[Any, ...]]:
    """Rows as the service of 0005 wrote them; the events it stored (pk, id, sequence)."""
    at = _time(engine, T0)
    with engine.begin() as conn:
        run = conn.execute
        run(text("INSERT INTO vendors VALUES ('v1', 'Vendor', :at)"), {"at": at})
        for n in (1, 2):
            run(
                text(
                    "INSERT INTO orders VALUES (:id, 'v1', :oid, NULL, 'SHIPPED', 3, 'h', :at, :at)"
                ),
                {"id": f"mc-{n}", "oid": f"o-{n}", "at": at},
            )
            for position in (0, 1):
                item_pk = n * 10 + position
                run(
                    text(
                        "INSERT INTO order_items (item_pk, mc_order_id, mc_id, quantity, status,"
                        " position) VALUES (:pk, :id, :mc, 1, 'SHIPPED', :pos)"
                    ),
                    {"pk": item_pk, "id": f"mc-{n}", "mc": f"i-{position}", "pos": position},
                )
                for fp in ("a", "b"):
                    run(
                        text(
                            "INSERT INTO item_history (item_pk, kind, event_type, fingerprint,"
                            " received_at) VALUES (:pk, 'status', 'SHIPPED', :fp, :at)"
                        ),
                        {"pk": item_pk, "fp": fp, "at": at},
                    )
                run(
                    text(
                        "INSERT INTO item_errors (item_pk, code, fingerprint, received_at)"
                        " VALUES (:pk, 'E1', 'e', :at)"
                    ),
                    {"pk": item_pk, "at": at},
                )
        # Three stamped events and one still waiting for its sequence, with uuid4 ids.
        for revision, sequence in ((1, 1), (2, 2), (3, 3), (4, None)):
            run(
                text(
                    "INSERT INTO events (event_id, type, vendor_id, mc_order_id, order_id,"
                    " revision, occurred_at, data, sequence)"
                    " VALUES (:eid, 'order.status_changed', 'v1', 'mc-1', 'o-1', :rev, :at,"
                    " :data, :seq)"
                ),
                {
                    "eid": str(uuid.uuid4()),
                    "rev": revision,
                    "at": at,
                    "data": b'{"status":"SHIPPED"}',
                    "seq": sequence,
                },
            )
        run(
            text("INSERT INTO nonces VALUES ('key', 'n-1', :at)"),
            {"at": _time(engine, T0 + timedelta(minutes=5))},
        )
    return _events(engine)


def _events(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT event_pk, event_id, sequence FROM events ORDER BY event_pk")
        )
        return [tuple(r) for r in rows]


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in (*PRIMARY, "vendors")
        }


def _layout(engine: Engine) -> dict[str, tuple[Any, ...]]:
    """Per table: its primary key, unique constraints and other indexes, by their columns."""
    found = inspect(engine)
    layout = {}
    for table in PRIMARY:
        primary = tuple(found.get_pk_constraint(table)["constrained_columns"])
        unique = {tuple(u["column_names"]) for u in found.get_unique_constraints(table)}
        indexes = {
            tuple(i["column_names"])
            for i in found.get_indexes(table)
            if not i.get("duplicates_constraint")
        }
        layout[table] = (primary, unique, indexes)
    return layout


def _documented() -> dict[str, tuple[Any, ...]]:
    return {t: (PRIMARY[t], UNIQUE[t], INDEXES[t]) for t in PRIMARY}


def _index_names(engine: Engine, table: str) -> set[str]:
    return {str(i["name"]) for i in inspect(engine).get_indexes(table)}


def _unique_names(engine: Engine, table: str) -> set[str]:
    return {str(u["name"]) for u in inspect(engine).get_unique_constraints(table)}


def test_a_database_at_0005_converts_with_its_rows_and_event_ids_intact(url_at_0005: str) -> None:
    engine = make_engine(url_at_0005)
    try:
        before = _fill(engine)
        counts = _counts(engine)
        assert "ix_events_unstamped" in _index_names(engine, "events")

        command.upgrade(alembic_config(url_at_0005), "head")
        engine.dispose()

        assert [r[2] for r in before] == [1, 2, 3, None]
        # On SQLite 0010 numbers the unstamped one, next after the others (events are numbered
        # as they are written from then on); PostgreSQL leaves it to the relay.
        sqlite = engine.dialect.name == "sqlite"
        expected = [*before[:-1], (*before[-1][:2], 4 if sqlite else None)]
        assert _events(engine) == expected
        assert all(uuid.UUID(r[1]).version == 4 for r in before)
        assert _counts(engine) == counts
        assert _layout(engine) == _documented()
        assert "ix_events_unstamped" not in _index_names(engine, "events")

        # The way back restores the old index, and forward again is the same layout.
        command.downgrade(alembic_config(url_at_0005), "0005")
        engine.dispose()
        assert "ix_events_unstamped" in _index_names(engine, "events")
        assert _events(engine) == expected
        command.upgrade(alembic_config(url_at_0005), "head")
        engine.dispose()
        assert _layout(engine) == _documented()
    finally:
        engine.dispose()


def test_new_events_get_increasing_uuid7_ids_and_are_numbered_after_the_old(
    url_at_0005: str,
) -> None:
    engine = make_engine(url_at_0005)
    store = Store(engine)
    try:
        before = _fill(engine)
        command.upgrade(alembic_config(url_at_0005), "head")
        engine.dispose()

        for revision in range(10, 16):
            with store.transaction() as tx:
                Events(tx).add(
                    [
                        NewEvent(
                            ORDER_STATUS_CHANGED,
                            "v1",
                            mc_order_id,
                            None,
                            revision,
                            T0,
                            {"status": "DELIVERED"},
                        )
                        for mc_order_id in ("mc-1", "mc-2")
                    ]
                )
        with store.transaction() as tx:
            if engine.dialect.name == "sqlite":
                # The one 0005 left unstamped was numbered by 0010, and the twelve new ones as
                # they were written: nothing is left to stamp.
                assert not Events(tx).has_unstamped()
                assert Events(tx).stamp() == 0
            else:
                # The one left unstamped by 0005 and the twelve new ones, found without the
                # partial index that 0006 dropped.
                assert Events(tx).has_unstamped()
                assert Events(tx).stamp() == 13
            assert not Events(tx).has_unstamped()

        after = _events(engine)
        assert after[: len(before) - 1] == before[:-1]
        assert after[len(before) - 1][:2] == before[-1][:2]
        new_ids = [r[1] for r in after[len(before) :]]
        assert len(new_ids) == 12
        assert all(uuid.UUID(i).version == 7 for i in new_ids)
        assert new_ids == sorted(new_ids)
        assert len(set(new_ids)) == len(new_ids)
        # Stamped in insertion order, after the sequences already given.
        assert [r[2] for r in after] == list(range(1, 17))
        with store.transaction(readonly=True) as tx:
            feed = Events(tx).after(3, 100)
        assert [e.event_id for e in feed] == [before[-1][1], *new_ids]
    finally:
        store.close()
        engine.dispose()


def test_a_database_at_0008_loses_the_status_index_and_keeps_its_orders(
    url_at_0005: str,
) -> None:
    engine = make_engine(url_at_0005)
    try:
        _fill(engine)
        command.upgrade(alembic_config(url_at_0005), "0008")
        engine.dispose()
        counts = _counts(engine)
        assert "ix_orders_vendor_id_status" in _index_names(engine, "orders")

        command.upgrade(alembic_config(url_at_0005), "0009")
        engine.dispose()
        assert "ix_orders_vendor_id_status" not in _index_names(engine, "orders")
        assert _counts(engine) == counts
        assert _layout(engine)["orders"] == _documented()["orders"]

        command.downgrade(alembic_config(url_at_0005), "0008")
        engine.dispose()
        assert "ix_orders_vendor_id_status" in _index_names(engine, "orders")
        assert _counts(engine) == counts
    finally:
        engine.dispose()


def _history_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT history_pk, item_pk, kind, fingerprint FROM item_history ORDER BY 1")
        )
        return [tuple(r) for r in rows]


def _add_history(engine: Engine, kind: str, fingerprint: str) -> None:
    with engine.begin() as conn:
        item_pk = conn.execute(text("SELECT min(item_pk) FROM order_items")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO item_history (item_pk, kind, fingerprint, received_at)"
                " VALUES (:pk, :kind, :fp, :at)"
            ),
            {"pk": item_pk, "kind": kind, "fp": fingerprint, "at": _time(engine, T0)},
        )


def test_at_0011_only_vendor_events_are_unique_by_fingerprint_and_rows_are_kept(
    url_at_0005: str,
) -> None:
    engine = make_engine(url_at_0005)
    try:
        _fill(engine)
        command.upgrade(alembic_config(url_at_0005), "0010")
        engine.dispose()
        _add_history(engine, "vendor", "v-1")
        rows, counts = _history_rows(engine), _counts(engine)
        assert "uq_item_history_item_pk_fingerprint" in _unique_names(engine, "item_history")

        command.upgrade(alembic_config(url_at_0005), "0011")
        engine.dispose()
        assert _history_rows(engine) == rows
        assert _counts(engine) == counts
        assert _layout(engine)["item_history"] == _documented()["item_history"]
        (index,) = [
            i
            for i in inspect(engine).get_indexes("item_history")
            if i["name"] == "ix_item_history_item_pk_fingerprint"
        ]
        assert index["unique"]
        # A vendor event stored twice is still refused; a record of the service's is not
        # looked up by fingerprint, so the index no longer holds it.
        with pytest.raises(IntegrityError):
            _add_history(engine, "vendor", "v-1")
        _add_history(engine, "status", "v-1")
        _add_history(engine, "status", "v-1")
        if engine.dialect.name == "sqlite":
            # The status update's probe (repository._STORED_FPS_SQLITE) finds the partial index.
            with engine.connect() as conn:
                plan = " ".join(
                    str(r[-1])
                    for r in conn.exec_driver_sql(
                        "EXPLAIN QUERY PLAN " + _STORED_FPS_SQLITE, ('[[1, "x"]]',) * 2
                    )
                )
            assert "ix_item_history_item_pk_fingerprint" in plan

        # The way back makes every fingerprint unique again: the service's own records are, by
        # their time, so only the two made up above must go first.
        with engine.begin() as conn:
            conn.execute(
                text("DELETE FROM item_history WHERE kind = 'status' AND fingerprint = 'v-1'")
            )
        command.downgrade(alembic_config(url_at_0005), "0010")
        engine.dispose()
        assert _history_rows(engine) == rows
        assert "uq_item_history_item_pk_fingerprint" in _unique_names(engine, "item_history")
    finally:
        engine.dispose()


def _nonces(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT consumer_key, nonce, expires_at FROM nonces ORDER BY 2"))
        return [tuple(r) for r in rows]


def test_at_0012_nonces_are_keyed_by_expiry_first_and_kept(url_at_0005: str) -> None:
    engine = make_engine(url_at_0005)
    store = Store(engine)
    try:
        _fill(engine)
        command.upgrade(alembic_config(url_at_0005), "0011")
        engine.dispose()
        with engine.begin() as conn:
            for n, minutes in ((2, -5), (3, 20)):
                conn.execute(
                    text(
                        "INSERT INTO nonces (consumer_key, nonce, expires_at) VALUES (:k, :n, :at)"
                    ),
                    {
                        "k": "key",
                        "n": f"n-{n}",
                        "at": _time(engine, T0 + timedelta(minutes=minutes)),
                    },
                )
        rows = _nonces(engine)
        assert len(rows) == 3

        command.upgrade(alembic_config(url_at_0005), "0012")
        engine.dispose()
        assert _nonces(engine) == rows
        assert _layout(engine)["nonces"] == _documented()["nonces"]
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:  # one B-tree: no rowid table beside the key's index
            with engine.connect() as conn:
                schema = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'nonces'"
                ).scalar_one()
            assert "WITHOUT ROWID" in schema.upper()
        # A replay (the same key, nonce and signed time) is still a conflict.
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                text("INSERT INTO nonces (consumer_key, nonce, expires_at) VALUES (:k, :n, :at)"),
                {"k": "key", "n": "n-3", "at": _time(engine, T0 + timedelta(minutes=20))},
            )
        # The purge forgets what has expired, and only that, by the key's first column.
        with store.transaction() as tx:
            assert Nonces(tx).purge_expired(T0 + timedelta(minutes=10)) == 2
        assert [r[1] for r in _nonces(engine)] == ["n-3"]
        if sqlite:
            with engine.connect() as conn:
                plan = " ".join(
                    str(r[-1])
                    for r in conn.exec_driver_sql(
                        "EXPLAIN QUERY PLAN DELETE FROM nonces WHERE expires_at < ?", ("x",)
                    )
                )
            assert "PRIMARY KEY" in plan

        # The way back restores the old key and its index, with the rows.
        command.downgrade(alembic_config(url_at_0005), "0011")
        engine.dispose()
        assert [r[1] for r in _nonces(engine)] == ["n-3"]
        assert tuple(inspect(engine).get_pk_constraint("nonces")["constrained_columns"]) == (
            "consumer_key",
            "nonce",
        )
        assert "ix_nonces_expires_at" in _index_names(engine, "nonces")
    finally:
        store.close()
        engine.dispose()


def test_stored_fingerprints_keep_their_formula() -> None:
    # Fingerprints are stored with each vendor event and error and compared with those of what
    # a vendor sends later: one worked out another way (as when the work moved from the rule
    # to the parse) would let an event sent before and again after an upgrade in twice.
    def sha(*parts: str) -> str:
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

    body = [
        {
            "mcOrderId": "m-1",
            "orderItems": [
                {
                    "mcId": "i-1",
                    "histories": [
                        {"orderItemNumber": "n-1", "eventType": "note", "note": "Café",
                         "eventDate": "2025-03-01T10:00:00.5+02:00"},
                        {"note": "only a note"},
                    ],
                    "errors": [{"fieldName": "f", "code": "E1", "message": "m"}, {"code": "E2"}],
                }
            ],
        }
    ]  # fmt: skip
    (update,), faults = parse_updates(body)
    assert faults == []
    (item,) = update.items
    assert [e.fingerprint for e in item.histories] == [
        sha("vendor", "n-1", "note", "2025-03-01T08:00:00.500000+00:00", "Café", ""),
        sha("vendor", "", "", "", "only a note", ""),
    ]
    assert [e.fingerprint for e in item.errors] == [
        sha("error", "f", "E1", "m"),
        sha("error", "", "E2", ""),
    ]
