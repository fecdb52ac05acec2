"""The answers kept for Idempotency-Keys: the SQL of idempotency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tfs.db.transaction import Transaction


@dataclass(frozen=True)
class IdempotencyRecord:
    request_hash: str
    state: str  # "running" | "done"
    response_status: int | None
    response_body: bytes | None
    expires_at: datetime


class IdempotencyKeys:
    def __init__(self, tx: Transaction) -> None:
        self.sql = tx.sql

    def get(self, consumer_key: str, key: str) -> IdempotencyRecord | None:
        rows = self.sql.rows(
            "SELECT request_hash, state, response_status, response_body, expires_at"
            " FROM idempotency_keys WHERE consumer_key = ? AND key = ?",
            (consumer_key, key),
        )
        if not rows:
            return None
        request_hash, state, status, body, expires_at = rows[0]
        return IdempotencyRecord(
            request_hash,
            state,
            status,
            bytes(body) if body is not None else None,
            self.sql.read_time(expires_at),
        )

    def start(
        self, consumer_key: str, key: str, request_hash: str, now: datetime, expires_at: datetime
    ) -> bool:
        """False when a concurrent request claimed the key first (PostgreSQL does not serialise)."""
        sql = self.sql
        sql.execute(
            "DELETE FROM idempotency_keys WHERE consumer_key = ? AND key = ? AND expires_at < ?",
            (consumer_key, key, sql.time(now)),
        )
        inserted = sql.execute(
            "INSERT INTO idempotency_keys (consumer_key, key, request_hash, state, created_at,"
            " expires_at) VALUES (?, ?, ?, 'running', ?, ?) ON CONFLICT DO NOTHING",
            (consumer_key, key, request_hash, sql.time(now), sql.time(expires_at)),
        )
        return inserted == 1

    def finish(self, consumer_key: str, key: str, status: int, body: bytes) -> None:
        self.sql.execute(
            "UPDATE idempotency_keys SET state = 'done', response_status = ?, response_body = ?"
            " WHERE consumer_key = ? AND key = ?",
            (status, body, consumer_key, key),
        )

    def purge_expired(self, now: datetime) -> int:
        return self.sql.execute(
            "DELETE FROM idempotency_keys WHERE expires_at < ?", (self.sql.time(now),)
        )

    def abandon(self, consumer_key: str, key: str) -> None:
        self.sql.execute(
            "DELETE FROM idempotency_keys WHERE consumer_key = ? AND key = ? AND state = 'running'",
            (consumer_key, key),
        )
