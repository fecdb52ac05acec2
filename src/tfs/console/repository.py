"""Operators and their console sessions: the SQL of the console (run in a transaction, never
committing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tfs.db.driver import Driver
from tfs.db.transaction import Transaction


@dataclass(frozen=True)
class Operator:
    name: str
    password_hash: str
    must_change: bool
    failed_count: int
    locked_until: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class Session:
    token_hash: str
    operator: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


_OPERATOR_COLUMNS = "name, password_hash, must_change, failed_count, locked_until, created_at"
_ADD_OPERATOR = (
    f"INSERT INTO operators ({_OPERATOR_COLUMNS}) VALUES (?, ?, ?, 0, NULL, ?)"  # noqa: S608
    " ON CONFLICT DO NOTHING"
)
_GET_OPERATOR = f"SELECT {_OPERATOR_COLUMNS} FROM operators WHERE name = ?"  # noqa: S608
_ALL_OPERATORS = f"SELECT {_OPERATOR_COLUMNS} FROM operators ORDER BY name"  # noqa: S608
_NEW_HASH = (
    "UPDATE operators SET password_hash = ?, must_change = ?, failed_count = 0,"
    " locked_until = NULL WHERE name = ?"
)
_FAILED = (
    "UPDATE operators SET failed_count = failed_count + 1 WHERE name = ? RETURNING failed_count"
)
_LOCK = "UPDATE operators SET failed_count = 0, locked_until = ? WHERE name = ?"
_SUCCEEDED = "UPDATE operators SET failed_count = 0, locked_until = NULL WHERE name = ?"
_REMOVE_OPERATOR = "DELETE FROM operators WHERE name = ?"

_SESSION_COLUMNS = "token_hash, operator, csrf_token, created_at, last_seen_at, expires_at"
_ADD_SESSION = f"INSERT INTO operator_sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"  # noqa: S608
_GET_SESSION = f"SELECT {_SESSION_COLUMNS} FROM operator_sessions WHERE token_hash = ?"  # noqa: S608
_TOUCH_SESSION = "UPDATE operator_sessions SET last_seen_at = ? WHERE token_hash = ?"
_END_SESSION = "DELETE FROM operator_sessions WHERE token_hash = ?"
_END_SESSIONS_OF = "DELETE FROM operator_sessions WHERE operator = ?"
_END_OTHER_SESSIONS = "DELETE FROM operator_sessions WHERE operator = ? AND token_hash <> ?"
_PURGE_SESSIONS = "DELETE FROM operator_sessions WHERE expires_at < ? OR last_seen_at < ?"


def _operator(r: Sequence[Any]) -> Operator:
    return Operator(
        r[0],
        r[1],
        bool(r[2]),
        int(r[3]),
        None if r[4] is None else Driver.read_time(r[4]),
        Driver.read_time(r[5]),
    )


def _session(r: Sequence[Any]) -> Session:
    return Session(
        r[0], r[1], r[2], Driver.read_time(r[3]), Driver.read_time(r[4]), Driver.read_time(r[5])
    )


class Operators:
    def __init__(self, tx: Transaction) -> None:
        self.sql = tx.sql

    def add(self, name: str, password_hash: str, must_change: bool, now: datetime) -> bool:
        """False when the name is taken."""
        added = self.sql.execute(
            _ADD_OPERATOR, (name, password_hash, must_change, self.sql.time(now))
        )
        return added == 1

    def get(self, name: str) -> Operator | None:
        rows = self.sql.rows(_GET_OPERATOR, (name,))
        return _operator(rows[0]) if rows else None

    def all(self) -> list[Operator]:
        return [_operator(r) for r in self.sql.rows(_ALL_OPERATORS)]

    def set_password(self, name: str, password_hash: str, must_change: bool) -> bool:
        """A new password clears the failures and the lock."""
        return self.sql.execute(_NEW_HASH, (password_hash, must_change, name)) == 1

    def failed(self, name: str) -> int:
        """Count one more failed sign-in (in the statement itself, so that concurrent failures
        all count); the failures in a row so far."""
        rows = self.sql.rows(_FAILED, (name,))
        return int(rows[0][0]) if rows else 0

    def lock(self, name: str, until: datetime) -> None:
        """Lock the name; its count starts again from zero once the lock lapses."""
        self.sql.execute(_LOCK, (self.sql.time(until), name))

    def succeeded(self, name: str) -> None:
        self.sql.execute(_SUCCEEDED, (name,))

    def remove(self, name: str) -> bool:
        return self.sql.execute(_REMOVE_OPERATOR, (name,)) == 1


class Sessions:
    def __init__(self, tx: Transaction) -> None:
        self.sql = tx.sql

    def add(self, s: Session) -> None:
        t = self.sql.time
        self.sql.execute(
            _ADD_SESSION,
            (
                s.token_hash,
                s.operator,
                s.csrf_token,
                t(s.created_at),
                t(s.last_seen_at),
                t(s.expires_at),
            ),
        )

    def get(self, token_hash: str) -> Session | None:
        rows = self.sql.rows(_GET_SESSION, (token_hash,))
        return _session(rows[0]) if rows else None

    def touch(self, token_hash: str, now: datetime) -> None:
        self.sql.execute(_TOUCH_SESSION, (self.sql.time(now), token_hash))

    def end(self, token_hash: str) -> None:
        self.sql.execute(_END_SESSION, (token_hash,))

    def end_all_of(self, operator: str) -> int:
        return self.sql.execute(_END_SESSIONS_OF, (operator,))

    def end_others_of(self, operator: str, kept: str) -> int:
        return self.sql.execute(_END_OTHER_SESSIONS, (operator, kept))

    def purge(self, expired_before: datetime, idle_before: datetime) -> int:
        t = self.sql.time
        return self.sql.execute(_PURGE_SESSIONS, (t(expired_before), t(idle_before)))
