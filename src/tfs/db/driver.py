"""The one way the service runs SQL: plain statement texts on the DBAPI connection.

SQLAlchemy Core is kept for the schema (`tfs.db.tables`) and the Alembic migrations only. Every
statement the service runs is a constant text here or in a repository, run on the DBAPI
connection under a SQLAlchemy Connection, in the same transaction as the unit of work around it:
Core's building, caching and binding of a statement, and its conversion of every row, cost tens
of microseconds each (docs/performance.md), and a constant text is what SQLite's statement cache
and PostgreSQL's prepared statements reuse. Values are bound the way SQLAlchemy's column types
store them, so that rows read the same through Core (migrations, tools).

SQL is written with `?` placeholders (SQLite's style) and turned into `%s` once for psycopg.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import msgspec
from sqlalchemy import Connection


@lru_cache(maxsize=256)
def _psycopg(sql: str) -> str:
    return sql.replace("?", "%s")


@lru_cache(maxsize=256)
def _pg_in(sql: str) -> str:
    """`IN (?)` takes one array on PostgreSQL: the text stays the same whatever its length."""
    return _psycopg(sql.replace("IN (?)", "= ANY(?)"))


@lru_cache(maxsize=256)
def _sqlite_in(sql: str) -> str:
    """`IN (?)` takes one JSON array on SQLite: the text stays the same whatever its length, so
    the connection's statement cache holds one prepared statement for it."""
    return sql.replace("IN (?)", "IN (SELECT value FROM json_each(?))")


_json_list = msgspec.json.Encoder().encode


@lru_cache(maxsize=256)
def _insert_pg(table: str, columns: tuple[str, ...]) -> str:
    # Names come from this code, never from a request (S608); values are bound.
    return _psycopg(_insert_rows(table, columns, ""))


@lru_cache(maxsize=256)
def _update_pg(table: str, key: str, columns: tuple[str, ...]) -> str:
    return _psycopg(_update_rows(table, key, columns))


@lru_cache(maxsize=256)
def _insert_rows(table: str, columns: tuple[str, ...], numbered: str) -> str:
    """SQLite's insert of one row, run by executemany. `numbered`: a column given the next
    number after its highest, row by row (one seek at the end of its unique index)."""
    names, values = ", ".join(columns), ", ".join("?" * len(columns))
    if numbered:
        names += f", {numbered}"
        values += f", (SELECT coalesce(max({numbered}), 0) + 1 FROM {table})"  # noqa: S608
    return f"INSERT INTO {table} ({names}) VALUES ({values})"  # noqa: S608


@lru_cache(maxsize=256)
def _update_rows(table: str, key: str, columns: tuple[str, ...]) -> str:
    sets = ", ".join(f"{c} = ?" for c in columns)
    return f"UPDATE {table} SET {sets} WHERE {key} = ?"  # noqa: S608


def _json_value(k: int, blob: bool) -> str:
    return f"CAST(j.value ->> {k} AS BLOB)" if blob else f"j.value ->> {k}"


@lru_cache(maxsize=256)
def _insert_sqlite(table: str, columns: tuple[str, ...], blobs: tuple[bool, ...]) -> str:
    """All the rows in one JSON array of arrays: one statement of constant text that can say
    which rows it inserted (`insert_new`: executemany gives no RETURNING rows back). (`WHERE
    true`: SQLite must see where the SELECT ends before an ON CONFLICT clause.)"""
    names = ", ".join(columns)
    values = ", ".join(_json_value(k, blob) for k, blob in enumerate(blobs))
    return (
        f"INSERT INTO {table} ({names}) SELECT {values}"  # noqa: S608
        " FROM json_each(?) AS j WHERE true"
    )


def _json_rows(rows: Sequence[Sequence[Any]]) -> tuple[str, tuple[bool, ...]]:
    """The rows as one JSON array, and which columns hold bytes (sent as their UTF-8 text and
    stored as BLOBs again: the only bytes written this way are JSON documents)."""
    blobs = tuple(isinstance(v, bytes) for v in rows[0])
    if any(blobs):
        rows = [[v.decode() if isinstance(v, bytes) else v for v in row] for row in rows]
    return _json_list(rows).decode(), blobs


@lru_cache(maxsize=256)  # a transaction writes the same few times on many rows
def _sqlite_time(value: datetime) -> str:
    """A time as SQLite stores it here: ISO 8601 text in UTC without the zone, microseconds
    always written, so that lexical order is time order (the text SQLAlchemy's DateTime reads
    and writes on SQLite too, for the statements of the relay)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def as_utc(value: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; everything stored is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class Driver:
    """The DBAPI connection under a SQLAlchemy Connection, for statements written as text."""

    __slots__ = ("_cursor", "postgres")

    def __init__(self, conn: Connection) -> None:
        self.postgres = conn.dialect.name == "postgresql"
        self._cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def _sql(self, sql: str) -> str:
        return _psycopg(sql) if self.postgres else sql

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._cursor
        cursor.execute(self._sql(sql), params)
        return cursor.fetchall()  # type: ignore[no-any-return]

    def rows_in(
        self, sql: str, values: Sequence[Any], after: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """`sql` has one `IN (?)`, its first placeholder, which takes `values`."""
        return self.rows_lists(sql, (list(values), *after))

    def rows_lists(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """`sql` may hold several `IN (?)`, each taking a list among `params`."""
        cursor = self._cursor
        if self.postgres:
            cursor.execute(_pg_in(sql), params)
        else:
            bound = [_json_list(v).decode() if isinstance(v, list) else v for v in params]
            cursor.execute(_sqlite_in(sql), bound)
        return cursor.fetchall()  # type: ignore[no-any-return]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Rows affected."""
        cursor = self._cursor
        cursor.execute(self._sql(sql), params)
        return cursor.rowcount  # type: ignore[no-any-return]

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement run for each row (for statements `insert` cannot write, such as a
        value passed through a function: the keyword index)."""
        if rows:
            self._cursor.executemany(self._sql(sql), rows)

    def insert(
        self,
        table: str,
        columns: tuple[str, ...],
        rows: Sequence[Sequence[Any]],
        *,
        numbered: str = "",
    ) -> None:
        """Insert rows by executemany of one statement of constant text (prepared once, in
        SQLite's statement cache and as psycopg's pipelined executemany). On SQLite that costs
        a third less than all the rows as one JSON array through `json_each`, which SQLite
        parses and takes apart value by value (docs/performance.md, ninth round).

        `numbered` names a column that SQLite fills with the next numbers after its highest, in
        the rows' order: with one writer at a time, that is commit order. PostgreSQL leaves it
        NULL (concurrent transactions commit in any order: the relay numbers what is visible).
        """
        if not rows:
            return
        if self.postgres:
            self._cursor.executemany(_insert_pg(table, columns), rows)
            return
        self._cursor.executemany(_insert_rows(table, columns, numbered), rows)

    def insert_new(
        self, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
    ) -> list[Any]:
        """Insert the rows whose key (the first column) is not there yet; the keys inserted.

        ON CONFLICT DO NOTHING: a row a concurrent transaction inserted first is skipped, not an
        error that would abort the transaction (PostgreSQL waits for that one to end first).
        """
        if not rows:
            return []
        tail = f" ON CONFLICT DO NOTHING RETURNING {columns[0]}"
        cursor = self._cursor
        if self.postgres:
            # One constant statement, pipelined: its results come back one set per row.
            cursor.executemany(_insert_pg(table, columns) + tail, rows, returning=True)
            return [row[0] for _ in cursor.results() for row in cursor.fetchall()]
        data, blobs = _json_rows(rows)
        cursor.execute(_insert_sqlite(table, columns, blobs) + tail, (data,))
        return [row[0] for row in cursor.fetchall()]

    def update(
        self, table: str, key: str, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Set `columns` of the row whose `key` is each row's last value (as `insert` does)."""
        if not rows:
            return
        if self.postgres:
            self._cursor.executemany(_update_pg(table, key, columns), rows)
            return
        self._cursor.executemany(_update_rows(table, key, columns), rows)

    def time(self, value: datetime) -> Any:
        """A datetime as a bound value of a timezone-aware column."""
        return value if self.postgres else _sqlite_time(value)

    def maybe_time(self, value: datetime | None) -> Any:
        return None if value is None else self.time(value)

    @staticmethod
    def read_time(value: Any) -> datetime:
        """A stored time, back as an aware UTC datetime (SQLite hands back text)."""
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        assert isinstance(value, datetime)
        return as_utc(value)


class PendingWrites:
    """Inserts and updates held back, to be written with a group's: one executemany per table
    and kind of row for all the group's works, where each work would run its own."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        # (kind, table, the update's key or the insert's numbered column, columns) -> rows
        self._ops: dict[tuple[str, str, str, tuple[str, ...]], list[Sequence[Any]]] = {}

    def insert(
        self,
        table: str,
        columns: tuple[str, ...],
        rows: Sequence[Sequence[Any]],
        *,
        numbered: str = "",
    ) -> None:
        """As Driver.insert."""
        if rows:
            self._ops.setdefault(("insert", table, numbered, columns), []).extend(rows)

    def update(
        self, table: str, key: str, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
    ) -> None:
        """As Driver.update; no two updates of one row may be pending together."""
        if rows:
            self._ops.setdefault(("update", table, key, columns), []).extend(rows)

    def take(self, other: PendingWrites) -> None:
        for op, rows in other._ops.items():
            self._ops.setdefault(op, []).extend(rows)
        other._ops.clear()

    def flush(self) -> None:
        ops, self._ops = self._ops, {}
        for (kind, table, key, columns), rows in ops.items():
            if kind == "insert":
                self.driver.insert(table, columns, rows, numbered=key)
            else:
                self.driver.update(table, key, columns, rows)
