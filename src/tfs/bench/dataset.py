"""A fresh database for each measured configuration: vendors, their keys, the orders placed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.pool import Pool
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tfs.access import usecases as access
from tfs.access.credentials import fingerprint, new_consumer_key
from tfs.access.repository import Credential
from tfs.db.engine import is_sqlite, make_engine, upgrade
from tfs.db.store import Store
from tfs.orders.placement import PlacedItem, Placement
from tfs.orders.repository import Orders

from .plan import ITEMS_PER_ORDER, Workload

GIFT_CARDS = [("74568", "$25 Olive Garden Gift Card"), ("74569", "$50 Olive Garden Gift Card")]
LOAD_CHUNK = 25_000  # orders per transaction


@dataclass(frozen=True)
class VendorKey:
    vendor_id: str
    consumer_key: str
    private_pem: bytes


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@contextmanager
def fresh_database(server_url: str | None, directory: Path, keep: bool) -> Iterator[str]:
    """A new, migrated database: an SQLite file in `directory`, or a new database on the given
    PostgreSQL server (dropped afterwards, like the tests' own)."""
    name = f"tfs_bench_{uuid.uuid4().hex[:10]}"
    if server_url is None:
        path = directory / f"{name}.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        try:
            yield url
        finally:
            if not keep:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    base = make_url(server_url)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def check_server_url(url: str) -> str | None:
    """Why this --database-url cannot be used, or None."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        return f"not a database URL: {exc}"
    if is_sqlite(url) or parsed.get_backend_name() != "postgresql":
        return "--database-url must be a PostgreSQL server (SQLite runs use a fresh file)"
    return None


def load(
    url: str, workload: Workload, keys: list[rsa.RSAPrivateKey], pool: Pool | None
) -> list[VendorKey]:
    """Vendors with one credential each, then every order, in large transactions."""
    now = datetime.now(UTC)
    store = Store(make_engine(url, timeout_s=3600))  # bulk loads hold connections long
    try:
        vendor_keys = []
        for v in range(workload.vendors):
            vendor_id = workload.vendor_id(v)
            access.add_vendor(store, vendor_id, f"Benchmark vendor {v + 1}", now)
            public = (
                keys[v]
                .public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
            pem = public.decode()
            consumer_key = new_consumer_key()
            access.add_credential(
                store,
                Credential(
                    consumer_key, "vendor", vendor_id, pem, fingerprint(pem), False, False, now
                ),
            )
            vendor_keys.append(VendorKey(vendor_id, consumer_key, private_pem(keys[v])))
    finally:
        store.engine.dispose()
    # In mcOrderId order, so that every index grows at its end: random UUIDs inserted in a
    # random order would rewrite most index pages in every chunk. Worker processes build the
    # orders (the costlier part) and store them side by side; SQLite serialises the writes.
    ordered = sorted(range(workload.orders), key=workload.mc_order_id)
    jobs = [
        (url, workload, ordered[k : k + LOAD_CHUNK], now)
        for k in range(0, workload.orders, LOAD_CHUNK)
    ]
    for _ in pool.imap_unordered(_load_chunk, jobs) if pool else map(_load_chunk, jobs):
        pass
    if not is_sqlite(url):
        # What autovacuum would have done by the time a real database held these orders.
        # SQLite is left as the service leaves it: without statistics (nothing runs ANALYZE).
        analyze = create_engine(url, isolation_level="AUTOCOMMIT")
        with analyze.connect() as conn:
            conn.execute(text("ANALYZE"))
        analyze.dispose()
    return vendor_keys


def _load_chunk(job: tuple[str, Workload, list[int], datetime]) -> int:
    url, workload, indexes, now = job
    placed = []
    for j in indexes:
        p = placement(workload, j)
        placed.append((p.new_order(), p.fingerprint()))
    store = Store(make_engine(url, timeout_s=3600))  # bulk loads hold connections long
    try:
        with store.transaction() as uow:
            Orders(uow).insert_many(placed, now)
    finally:
        store.engine.dispose()
    return len(placed)


def placement(workload: Workload, j: int) -> Placement:
    """Order j as the platform places it: two gift cards, vendor ids still unknown."""
    mc_order_id = workload.mc_order_id(j)
    items = tuple(
        PlacedItem(workload.item_mc_id(mc_order_id, n), None, reward_id, description, 1)
        for n, (reward_id, description) in zip(range(ITEMS_PER_ORDER), GIFT_CARDS, strict=False)
    )
    vendor_id = workload.vendor_id(workload.vendor_of(j))
    return Placement(mc_order_id, vendor_id, None, "49631", items)
