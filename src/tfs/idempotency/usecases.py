"""Idempotency around a use case: claim the key, answer a repeat from the stored answer,
keep the answer with the work's own commit, or let the key go when the work fails."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from tfs.access.usecases import Nonce, spend_nonce
from tfs.db.store import Store
from tfs.db.transaction import Transaction
from tfs.errors import IdempotencyKeyInProgress, IdempotencyKeyReused
from tfs.idempotency.repository import IdempotencyKeys

# A request left "running" this long is taken to have died; its key may be used again.
ABANDONED_AFTER = timedelta(minutes=2)

T = TypeVar("T")


@dataclass(frozen=True)
class Idempotency:
    """A request's Idempotency-Key, with the hash of what it asks (method, path and body)."""

    consumer_key: str
    key: str
    request_hash: str
    expires_at: datetime


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    replayed: bool = False


Keep = Callable[[Transaction, int, bytes], None]


async def once(
    store: Store,
    idem: Idempotency | None,
    nonce: Nonce | None,
    now: datetime,
    run: Callable[[Nonce | None, Keep | None], Awaitable[Answer]],
) -> Answer:
    """`run` the use case once for this key. Without a key, it simply runs with the nonce.

    With one, the key is claimed first (the nonce spent with the claim); a repeat of a finished
    request gets its stored answer (`replayed`), of a running one 409; `run` gets `keep`, to
    call in its own transaction with its answer, so the answer commits with the work or not
    at all. If `run` fails, the key is let go, so that a retry is worked out anew.
    """
    if idem is None:
        return await run(nonce, None)
    stored = await store.write(lambda tx: _claim(tx, idem, now, nonce))
    if stored is not None:
        return stored

    def keep(tx: Transaction, status: int, body: bytes) -> None:
        IdempotencyKeys(tx).finish(idem.consumer_key, idem.key, status, body)

    try:
        return await run(None, keep)
    except BaseException:
        await store.write(lambda tx: IdempotencyKeys(tx).abandon(idem.consumer_key, idem.key))
        raise


def _claim(tx: Transaction, idem: Idempotency, now: datetime, nonce: Nonce | None) -> Answer | None:
    """The stored answer to an earlier request with this key, or None after claiming the key."""
    spend_nonce(tx, nonce)
    keys = IdempotencyKeys(tx)
    record = keys.get(idem.consumer_key, idem.key)
    if record is not None and record.expires_at > now:
        if record.request_hash != idem.request_hash:
            raise IdempotencyKeyReused()
        if record.state == "done":
            assert record.response_status is not None and record.response_body is not None
            return Answer(record.response_status, record.response_body, replayed=True)
        started = record.expires_at - (idem.expires_at - now)
        if now - started < ABANDONED_AFTER:
            raise IdempotencyKeyInProgress()
        keys.abandon(idem.consumer_key, idem.key)
    elif record is not None:
        keys.abandon(idem.consumer_key, idem.key)
    if not keys.start(idem.consumer_key, idem.key, idem.request_hash, now, idem.expires_at):
        # Claimed by a concurrent request since it was read: answer as for a running one.
        claimed = keys.get(idem.consumer_key, idem.key)
        if claimed is not None and claimed.request_hash != idem.request_hash:
            raise IdempotencyKeyReused()
        raise IdempotencyKeyInProgress()
    return None


def purge_expired(store: Store, now: datetime) -> int:
    """Forget answers past their lifetime."""
    with store.transaction() as tx:
        return IdempotencyKeys(tx).purge_expired(now)
