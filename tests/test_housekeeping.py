"""Housekeeping: what can no longer matter is forgotten, and nothing else."""

from __future__ import annotations

from datetime import timedelta

from conftest import add_credential, now, private_key
from tfs.db.store import Store
from tfs.orders import usecases


def test_purge_forgets_stale_nonces_and_expired_idempotency_keys_only(store: Store) -> None:
    key = add_credential(store, "platform", None, private_key(0))  # nonces need a live key
    t = now()
    with store.transaction() as uow:
        assert uow.nonces.record(key, "old", t - timedelta(seconds=1))
        assert uow.nonces.record(key, "live", t + timedelta(minutes=5))
        uow.idempotency.start(key, "old", "h", t - timedelta(days=2), t - timedelta(days=1))
        uow.idempotency.start(key, "live", "h", t, t + timedelta(days=1))
    assert usecases.purge_expired(store, t) >= 2
    with store.transaction() as uow:
        assert uow.nonces.record(key, "old", t + timedelta(minutes=5))  # forgotten: new again
        assert not uow.nonces.record(key, "live", t + timedelta(minutes=5))
        assert uow.idempotency.get(key, "old") is None
        assert uow.idempotency.get(key, "live") is not None
