"""The unit of work: grouped commits keep each work all-or-nothing and its own outcome."""

from __future__ import annotations

import threading
import uuid

import pytest

from conftest import now
from tfs.access import usecases as access
from tfs.access.repository import Vendors
from tfs.db.store import Store
from tfs.db.transaction import Transaction


class Refused(Exception):
    pass


def test_grouped_works_commit_alone_or_together_and_a_failing_one_changes_nothing(
    store: Store,
) -> None:
    vendors = [f"uow-{uuid.uuid4().hex[:8]}-{n}" for n in range(12)]
    start = threading.Barrier(len(vendors))
    outcomes: dict[str, object] = {}

    def add(vendor_id: str, fail: bool) -> None:
        def work(uow: Transaction) -> str:
            Vendors(uow).add(vendor_id, None, now())
            if fail:
                raise Refused(vendor_id)
            return vendor_id

        start.wait()
        try:
            outcomes[vendor_id] = store.submit(work).result()
        except Refused as exc:
            outcomes[vendor_id] = exc

    threads = [threading.Thread(target=add, args=(v, n % 3 == 0)) for n, v in enumerate(vendors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with store.transaction(readonly=True) as uow:
        stored = {v for v, _ in Vendors(uow).all()}
    for n, vendor_id in enumerate(vendors):
        if n % 3 == 0:
            assert isinstance(outcomes[vendor_id], Refused)
            assert vendor_id not in stored
        else:
            assert outcomes[vendor_id] == vendor_id
            assert vendor_id in stored


def test_a_grouped_work_sees_what_an_earlier_one_of_its_group_wrote(store: Store) -> None:
    vendor_id = f"uow-{uuid.uuid4().hex[:8]}"
    store.submit(lambda uow: Vendors(uow).add(vendor_id, None, now())).result()
    assert store.submit(lambda uow: Vendors(uow).exists(vendor_id)).result()
    assert access.add_vendor(store, vendor_id, None, now()) is False


def test_errors_of_a_grouped_work_reach_its_caller(store: Store) -> None:
    def work(uow: Transaction) -> None:
        raise Refused("no")

    with pytest.raises(Refused):
        store.submit(work).result()


def test_the_wal_checkpointer_copies_the_log_back_while_writers_do_not(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3
    import time

    from tfs.db.engine import WalCheckpointer, make_engine, upgrade

    path = tmp_path / "ckpt.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    store = Store(make_engine(url, background_checkpoint=True))
    for n in range(300):  # well past SQLite's own threshold of 1,000 pages
        access.add_vendor(store, f"ckpt-{n:04d}-" + "x" * 40, "y" * 150, now())

    def in_database_file() -> int:
        """Vendors in the main file itself: `immutable` reads it and ignores the log."""
        probe = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            query = "SELECT count(*) FROM vendors WHERE vendor_id LIKE 'ckpt-%'"
            return int(probe.execute(query).fetchone()[0])
        finally:
            probe.close()

    with store.engine.connect() as conn:  # a writer's own connection: no checkpoint in commits
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() > 1000
    assert in_database_file() < 300  # the writers' commits left their pages in the log
    checkpointer = WalCheckpointer(url, interval_s=0.01)
    checkpointer.start()
    try:
        access.add_vendor(store, "ckpt-last", None, now())
        deadline = time.monotonic() + 5
        while in_database_file() < 301 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        checkpointer.stop()
    assert in_database_file() == 301


def test_no_grouped_work_returns_before_its_group_is_committed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Each thread, as soon as its write settles, reads its row from another connection."""
    import sqlite3
    import time

    from sqlalchemy import event

    from tfs.db.engine import make_engine, upgrade

    path = tmp_path / "groups.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    store = Store(make_engine(url))

    @event.listens_for(store.engine, "commit")
    def slow_commit(_conn: object) -> None:
        time.sleep(0.005)  # widen the moment between a group's works and its commit

    missing: list[str] = []
    start = threading.Barrier(24)

    def add(n: int) -> None:
        probe = sqlite3.connect(path)
        try:
            start.wait()
            for k in range(15):
                vendor_id = f"g-{n}-{k}"
                store.submit(lambda uow, v=vendor_id: Vendors(uow).add(v, None, now())).result()
                query = "SELECT 1 FROM vendors WHERE vendor_id = ?"
                if probe.execute(query, (vendor_id,)).fetchone() is None:
                    missing.append(vendor_id)
        finally:
            probe.close()

    threads = [threading.Thread(target=add, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not missing, f"{len(missing)} works returned before their commit: {missing[:5]}"


def test_a_cancelled_grouped_work_is_dropped_and_the_committer_carries_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tfs.db.engine import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'cancel.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    held = threading.Event()
    release = threading.Event()

    def blocking(uow: Transaction) -> None:
        held.set()
        release.wait(5)  # keeps the committer busy while more work queues up

    first = store.submit(blocking)
    assert held.wait(5)
    abandoned = store.submit(lambda uow: Vendors(uow).add("cancelled", None, now()))
    assert abandoned.cancel()  # its caller gave up while it was queued
    kept = store.submit(lambda uow: Vendors(uow).add("kept", None, now()))
    release.set()
    first.result(timeout=5)
    assert kept.result(timeout=5) is True
    with store.transaction(readonly=True) as uow:
        assert Vendors(uow).exists("kept") and not Vendors(uow).exists("cancelled")
