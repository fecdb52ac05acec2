"""The nonces of reads (access/read_nonces.py): spent once, refused on a replay and once the
key is revoked, seen by every process at once, and forgotten when stale; on SQLite in a file
of their own, on PostgreSQL in the main database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import add_credential, private_key
from tfs.access import read_nonces
from tfs.access import usecases as access
from tfs.access.read_nonces import ReadNonces
from tfs.access.usecases import Nonce
from tfs.db.engine import make_engine, upgrade
from tfs.db.store import Store
from tfs.db.transaction import Transaction
from tfs.errors import NonceReused, RevokedConsumerKey

KEEP_S = 600


def fresh(consumer_key: str, value: str | None = None) -> Nonce:
    """A nonce signed now, with a new value unless given."""
    now = datetime.now(UTC)
    return Nonce(
        consumer_key,
        value or uuid.uuid4().hex,
        now + timedelta(seconds=KEEP_S),
        int(now.timestamp()),
    )


def spend(reads: ReadNonces, nonce: Nonce) -> int:
    """Spend the nonce and read something of the main database after it (1)."""

    def read(tx: Transaction) -> int:
        (one,) = tx.sql.rows("SELECT count(*) FROM credentials WHERE consumer_key = ?", (key,))[0]
        return int(one)

    key = nonce.consumer_key
    return asyncio.run(reads.spend_then(nonce, read))


@pytest.fixture
def consumer_key(store: Store) -> str:
    return add_credential(store, "customer", None, private_key(2), programs=(1,))


def test_a_nonce_is_spent_once_and_the_read_runs_after_it(store: Store, consumer_key: str) -> None:
    reads = ReadNonces(store, KEEP_S)
    assert reads.on_the_loop == (store.engine.dialect.name == "sqlite")
    nonce = fresh(consumer_key)
    assert spend(reads, nonce) == 1
    with pytest.raises(NonceReused):
        spend(reads, nonce)
    assert spend(reads, fresh(consumer_key)) == 1


def test_every_process_sees_a_spent_nonce_and_a_revoked_key_at_once(
    store: Store, consumer_key: str
) -> None:
    """Two ReadNonces on the same database stand for two processes (each its own
    connections; SQLite's locks and snapshots are the file's, whoever opens it)."""
    one, other = ReadNonces(store, KEEP_S), ReadNonces(store, KEEP_S)
    nonce = fresh(consumer_key)
    assert spend(one, nonce) == 1
    with pytest.raises(NonceReused):
        spend(other, nonce)
    assert spend(other, fresh(consumer_key)) == 1
    assert access.revoke_credential(store, consumer_key)
    for reads in (one, other):
        with pytest.raises(RevokedConsumerKey):
            spend(reads, fresh(consumer_key))


def test_stale_nonces_are_forgotten_in_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's file of reads' nonces (on PostgreSQL they are the main table's, purged with
    the others)."""
    url = f"sqlite:///{tmp_path / 'tfs.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    consumer_key = add_credential(store, "customer", None, private_key(2), programs=(1,))
    reads = ReadNonces(store, KEEP_S)
    assert reads.on_the_loop
    monkeypatch.setattr(read_nonces, "PURGE_STEP", 2)
    now = datetime.now(UTC)
    signed = int(now.timestamp()) - KEEP_S - 1  # stale: signed longer ago than nonces are kept
    stale = [Nonce(consumer_key, f"stale-{k}", now, signed) for k in range(5)]
    kept = fresh(consumer_key)
    for nonce in [*stale, kept]:
        spend(reads, nonce)
    assert reads.purge_expired(now) == 5
    assert reads.purge_expired(now) == 0
    with pytest.raises(NonceReused):  # the fresh one is kept
        spend(reads, kept)
    assert spend(reads, stale[0]) == 1  # a stale one is forgotten (its timestamp is refused)
    store.engine.dispose()
