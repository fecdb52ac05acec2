"""Housekeeping: what can no longer matter is forgotten, and nothing else."""

from __future__ import annotations

from datetime import timedelta

from conftest import add_credential, now, private_key
from tfs.access import usecases as access
from tfs.access.repository import Nonces
from tfs.db.store import Store
from tfs.idempotency import usecases as idempotency
from tfs.idempotency.repository import IdempotencyKeys


def test_purge_forgets_stale_nonces_and_expired_idempotency_keys_only(store: Store) -> None:
    key = add_credential(store, "platform", None, private_key(0))  # nonces need a live key
    t = now()
    with store.transaction() as uow:
        assert Nonces(uow).record(key, "old", t - timedelta(seconds=1))
        assert Nonces(uow).record(key, "live", t + timedelta(minutes=5))
        IdempotencyKeys(uow).start(key, "old", "h", t - timedelta(days=2), t - timedelta(days=1))
        IdempotencyKeys(uow).start(key, "live", "h", t, t + timedelta(days=1))
    assert access.purge_expired_nonces(store, t) >= 1
    assert idempotency.purge_expired(store, t) >= 1
    with store.transaction() as uow:
        assert Nonces(uow).record(key, "old", t + timedelta(minutes=5))  # forgotten: new again
        assert not Nonces(uow).record(key, "live", t + timedelta(minutes=5))
        assert IdempotencyKeys(uow).get(key, "old") is None
        assert IdempotencyKeys(uow).get(key, "live") is not None
