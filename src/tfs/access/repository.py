"""Vendors, their credentials and the nonces spent with them: the SQL of access."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tfs.db.transaction import Transaction


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
    # The programs whose catalogs a customer credential may read (empty for other roles).
    programs: frozenset[int] = frozenset()


class Vendors:
    def __init__(self, tx: Transaction) -> None:
        self.sql = tx.sql

    def add(self, vendor_id: str, name: str | None, now: datetime) -> bool:
        """False when the vendor already exists."""
        return (
            self.sql.execute(
                "INSERT INTO vendors (vendor_id, name, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (vendor_id, name, self.sql.time(now)),
            )
            == 1
        )

    def exists(self, vendor_id: str) -> bool:
        return bool(self.sql.rows("SELECT 1 FROM vendors WHERE vendor_id = ?", (vendor_id,)))

    def known(self, vendor_ids: Iterable[str]) -> set[str]:
        """Those of these vendors that exist: one query for a whole batch."""
        ids = list(set(vendor_ids))
        if not ids:
            return set()
        rows = self.sql.rows_in("SELECT vendor_id FROM vendors WHERE vendor_id IN (?)", ids)
        return {r[0] for r in rows}

    def all(self) -> list[tuple[str, str | None]]:
        rows = self.sql.rows("SELECT vendor_id, name FROM vendors ORDER BY vendor_id")
        return [(r[0], r[1]) for r in rows]


_CREDENTIAL_COLUMNS = (
    "consumer_key, role, vendor_id, public_key_pem, fingerprint, revoked, is_demo, created_at"
)


class Credentials:
    def __init__(self, tx: Transaction) -> None:
        self.sql = tx.sql

    def add(self, c: Credential) -> bool:
        """False when the consumer key is already registered."""
        added = self.sql.execute(
            f"INSERT INTO credentials ({_CREDENTIAL_COLUMNS})"  # noqa: S608
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                c.consumer_key,
                c.role,
                c.vendor_id,
                c.public_key_pem,
                c.fingerprint,
                c.revoked,
                c.is_demo,
                self.sql.time(c.created_at),
            ),
        )
        if added == 1 and c.programs:
            self.sql.insert(
                "credential_programs",
                ("consumer_key", "program_id"),
                [(c.consumer_key, p) for p in sorted(c.programs)],
            )
        return added == 1

    def get(self, consumer_key: str) -> Credential | None:
        rows = self.sql.rows(
            f"SELECT {_CREDENTIAL_COLUMNS} FROM credentials WHERE consumer_key = ?",  # noqa: S608
            (consumer_key,),
        )
        return self._credential(rows[0], self._programs(consumer_key)) if rows else None

    def all(self) -> list[Credential]:
        rows = self.sql.rows(
            f"SELECT {_CREDENTIAL_COLUMNS} FROM credentials ORDER BY created_at"  # noqa: S608
        )
        programs = self._programs()
        return [self._credential(r, programs) for r in rows]

    def _programs(self, consumer_key: str | None = None) -> dict[str, frozenset[int]]:
        """Customer credentials' programs, by consumer key (one key's, or every key's)."""
        if consumer_key is None:
            rows = self.sql.rows("SELECT consumer_key, program_id FROM credential_programs")
        else:
            rows = self.sql.rows(
                "SELECT consumer_key, program_id FROM credential_programs WHERE consumer_key = ?",
                (consumer_key,),
            )
        out: dict[str, set[int]] = {}
        for key, program_id in rows:
            out.setdefault(key, set()).add(int(program_id))
        return {k: frozenset(v) for k, v in out.items()}

    def _credential(self, row: Any, programs: dict[str, frozenset[int]]) -> Credential:
        key, role, vendor_id, pem, fingerprint, revoked, is_demo, created_at = row
        return Credential(
            key,
            role,
            vendor_id,
            pem,
            fingerprint,
            bool(revoked),
            bool(is_demo),
            self.sql.read_time(created_at),
            programs.get(key, frozenset()),
        )

    def revoked(self, consumer_key: str) -> bool:
        """True when the key is revoked or gone."""
        rows = self.sql.rows(
            "SELECT revoked FROM credentials WHERE consumer_key = ?", (consumer_key,)
        )
        return not rows or bool(rows[0][0])

    def revoke(self, consumer_key: str) -> bool:
        return (
            self.sql.execute(
                "UPDATE credentials SET revoked = ? WHERE consumer_key = ?", (True, consumer_key)
            )
            == 1
        )


# The nonce is spent only while its credential is not revoked (`WHERE` before `ON CONFLICT`:
# SQLite needs it to parse an upsert from a SELECT).
_SPEND_NONCE = (
    "INSERT INTO nonces (consumer_key, nonce, expires_at) SELECT ?, ?, ?"
    " WHERE EXISTS (SELECT 1 FROM credentials WHERE consumer_key = ? AND NOT revoked)"
    " ON CONFLICT DO NOTHING"
)


class Nonces:
    def __init__(self, tx: Transaction) -> None:
        self.sql = tx.sql

    def record(self, consumer_key: str, nonce: str, expires_at: datetime) -> bool:
        """True the first time a nonce is seen for this key while the key is not revoked;
        False on a replay, or once the key is revoked: credentials are read from a cache, so
        revocation is checked here, in the transaction of the work (see access/authenticate.py).

        A conflict is not an error here, so no savepoint is needed around the insert.
        """
        sql = self.sql
        spent = sql.execute(_SPEND_NONCE, (consumer_key, nonce, sql.time(expires_at), consumer_key))
        return spent == 1

    def purge_expired(self, now: datetime) -> int:
        return self.sql.execute("DELETE FROM nonces WHERE expires_at < ?", (self.sql.time(now),))


# The reads' nonces, in a file of their own beside an SQLite database (access/read_nonces.py).
# Keyed by the signed timestamp first (RFC 5849 §3.3: a nonce is unique per timestamp and
# credential): timestamps arrive about in order, so a spend writes at the right edge of one
# B-tree, in the page the last one wrote, and the purge deletes at its left edge. Keyed by the
# random nonce first, each spend dirtied a random page of the table and of an index of expiry.
READ_NONCES_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS read_nonces (signed_at INTEGER NOT NULL,"
    " consumer_key TEXT NOT NULL, nonce TEXT NOT NULL,"
    " PRIMARY KEY (signed_at, consumer_key, nonce)) WITHOUT ROWID",
)
# `read_nonces` is that file's; `credentials` is found in the main database attached to its
# connections (SQLite looks for an unqualified name in `main` first, then in attached ones).
_SPEND_READ_NONCE = (
    "INSERT INTO read_nonces (signed_at, consumer_key, nonce) SELECT ?, ?, ?"
    " WHERE EXISTS (SELECT 1 FROM credentials WHERE consumer_key = ? AND NOT revoked)"
    " ON CONFLICT DO NOTHING"
)
_PURGE_READ_NONCES = (
    "DELETE FROM read_nonces WHERE (signed_at, consumer_key, nonce) IN"
    " (SELECT signed_at, consumer_key, nonce FROM read_nonces WHERE signed_at < ? LIMIT ?)"
)


class ReadNonceRows:
    """The reads' nonces on SQLite (see READ_NONCES_SCHEMA)."""

    def __init__(self, tx: Transaction) -> None:
        self.sql = tx.sql

    def record(self, consumer_key: str, nonce: str, signed_at: int) -> bool:
        """As Nonces.record: True the first time, while the key is not revoked."""
        return (
            self.sql.execute(_SPEND_READ_NONCE, (signed_at, consumer_key, nonce, consumer_key)) == 1
        )

    def purge_signed_before(self, signed_before: int, step: int) -> int:
        """Forget the nonces signed before this (epoch seconds), `step` rows per statement."""
        purged = 0
        while (done := self.sql.execute(_PURGE_READ_NONCES, (signed_before, step))) > 0:
            purged += done
        return purged
