"""Use cases of access: onboarding vendors and credentials, and spending a request's nonce."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tfs.access.repository import Credential, Credentials, Nonces, Vendors
from tfs.db.store import Store
from tfs.db.transaction import Transaction
from tfs.errors import NonceReused, RevokedConsumerKey, TfsError, UnknownVendor


@dataclass(frozen=True)
class Nonce:
    """A verified request's nonce, to be spent in the transaction of the work it asks for."""

    consumer_key: str
    value: str
    expires_at: datetime
    signed_at: int  # its oauth_timestamp: a replay has the same (the signature covers it)


def spend_nonce(tx: Transaction, nonce: Nonce | None) -> None:
    """Spend the request's nonce in the transaction of its work; refused on a replay, and
    once its credential is revoked (on any process: the check is in this transaction)."""
    if nonce is not None and not Nonces(tx).record(
        nonce.consumer_key, nonce.value, nonce.expires_at
    ):
        raise refusal(tx, nonce.consumer_key)


def refusal(tx: Transaction, consumer_key: str) -> TfsError:
    """Why a nonce that could not be spent is refused: its key revoked, else a replay."""
    return RevokedConsumerKey() if Credentials(tx).revoked(consumer_key) else NonceReused()


def purge_expired_nonces(store: Store, now: datetime) -> int:
    """Forget nonces that can no longer be replayed (their timestamps are stale anyway)."""
    with store.transaction() as tx:
        return Nonces(tx).purge_expired(now)


def add_vendor(store: Store, vendor_id: str, name: str | None, now: datetime) -> bool:
    """False when the vendor was already there (onboarding twice is harmless)."""
    with store.transaction() as tx:
        return Vendors(tx).add(vendor_id, name, now)


def vendor_exists(store: Store, vendor_id: str) -> bool:
    with store.transaction(readonly=True) as tx:
        return Vendors(tx).exists(vendor_id)


def list_vendors(store: Store) -> list[tuple[str, str | None]]:
    with store.transaction(readonly=True) as tx:
        return Vendors(tx).all()


def add_credential(store: Store, credential: Credential) -> bool:
    """False when its consumer key is already registered."""
    with store.transaction() as tx:
        if credential.vendor_id is not None and not Vendors(tx).exists(credential.vendor_id):
            raise UnknownVendor(f"Vendor {credential.vendor_id} does not exist.")
        return Credentials(tx).add(credential)


def list_credentials(store: Store) -> list[Credential]:
    with store.transaction(readonly=True) as tx:
        return Credentials(tx).all()


def revoke_credential(store: Store, consumer_key: str) -> bool:
    with store.transaction() as tx:
        return Credentials(tx).revoke(consumer_key)


def find_credential(store: Store, consumer_key: str) -> Credential | None:
    """One read, outside a transaction (the credential cache's, on a miss)."""
    with store.reading() as tx:
        return Credentials(tx).get(consumer_key)
