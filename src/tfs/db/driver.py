"""Driver-level SQL for the few statements every status update (and batch placement) runs.

SQLAlchemy Core builds, caches and binds a statement in tens of microseconds of Python, and
converts every row it returns; for the hot path's dozen statements per request that was about
half the CPU of a request (docs/performance.md). The statements here are plain SQL text, run on
the same DBAPI connection and in the same transaction as the unit of work around them, with
values converted the way SQLAlchemy stores them, so that both read each other's rows.

SQL is written with `?` placeholders (SQLite's style) and turned into `%s` once for psycopg.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection


@lru_cache(maxsize=256)
def _psycopg(sql: str) -> str:
    return sql.replace("?", "%s")


@lru_cache(maxsize=1024)
def _sqlite_in(sql: str, n: int) -> str:
    return sql.replace("IN (?)", "IN (" + ",".join("?" * n) + ")")


# Bound values per statement, below SQLite's limit (32,766 since 3.32).
_SQLITE_MAX_VALUES = 30_000


def _values(width: int, n: int) -> str:
    row = "(" + ", ".join("?" * width) + ")"
    return ", ".join([row] * n)


@lru_cache(maxsize=512)
def _insert_sql(table: str, columns: tuple[str, ...], n: int) -> str:
    # Names come from this code, never from a request (S608); values are bound.
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608
    return head + (_values(len(columns), n) if n else "(" + ", ".join("?" * len(columns)) + ")")


@lru_cache(maxsize=512)
def _update_sql(table: str, key: str, columns: tuple[str, ...], n: int) -> str:
    """SQLite: one UPDATE ... FROM (VALUES ...) for n rows; n=0: one row, for executemany."""
    if not n:
        sets = ", ".join(f"{c} = ?" for c in columns)
        return f"UPDATE {table} SET {sets} WHERE {key} = ?"  # noqa: S608
    sets = ", ".join(f"{c} = v.column{k}" for k, c in enumerate(columns, start=1))
    return (
        f"UPDATE {table} SET {sets} FROM (VALUES {_values(len(columns) + 1, n)}) AS v"  # noqa: S608
        f" WHERE {table}.{key} = v.column{len(columns) + 1}"
    )


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

    def _sql(self, sql: str, n: int | None = None) -> str:
        """`IN (?)` takes a list: n placeholders on SQLite, one array on PostgreSQL."""
        if self.postgres:
            return _psycopg(sql.replace("IN (?)", "= ANY(?)") if n is not None else sql)
        return _sqlite_in(sql, n) if n is not None else sql

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._cursor
        cursor.execute(self._sql(sql), params)
        return cursor.fetchall()  # type: ignore[no-any-return]

    def rows_in(
        self, sql: str, values: Sequence[Any], after: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """`sql` has one `IN (?)`, its first placeholder, which takes `values`."""
        cursor = self._cursor
        if self.postgres:
            cursor.execute(self._sql(sql, 0), (list(values), *after))
        else:
            cursor.execute(self._sql(sql, len(values)), (*values, *after))
        return cursor.fetchall()  # type: ignore[no-any-return]

    def rows_lists(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """`sql` may hold several `IN (?)`, each taking a list among `params`. For statements
        off the hot path: the text is worked out on every call."""
        cursor = self._cursor
        if self.postgres:
            cursor.execute(_psycopg(sql.replace("IN (?)", "= ANY(?)")), params)
            return cursor.fetchall()  # type: ignore[no-any-return]
        parts = sql.split("?")
        if len(parts) != len(params) + 1:
            raise ValueError("one value per placeholder")
        text, flat = [parts[0]], []
        for value, part in zip(params, parts[1:], strict=True):
            if isinstance(value, list):
                text.append(",".join("?" * len(value)))
                flat.extend(value)
            else:
                text.append("?")
                flat.append(value)
            text.append(part)
        cursor.execute("".join(text), flat)
        return cursor.fetchall()  # type: ignore[no-any-return]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Rows affected."""
        cursor = self._cursor
        cursor.execute(self._sql(sql), params)
        return cursor.rowcount  # type: ignore[no-any-return]

    def insert(self, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows: on SQLite in multi-row statements, on PostgreSQL by psycopg's pipelined
        executemany. Python's sqlite3 lets go of the GIL for every row it steps through, and
        under load each time costs a wait to take it back; one statement steps once."""
        self._many(rows, len(columns), lambda n: _insert_sql(table, columns, n))

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
            sql = _psycopg(_insert_sql(table, columns, 0) + tail)
            cursor.executemany(sql, rows, returning=True)
            return [row[0] for _ in cursor.results() for row in cursor.fetchall()]
        inserted: list[Any] = []
        step = max(1, _SQLITE_MAX_VALUES // len(columns))
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            sql = _insert_sql(table, columns, len(chunk)) + tail
            cursor.execute(sql, [v for row in chunk for v in row])
            inserted.extend(row[0] for row in cursor.fetchall())
        return inserted

    def update(
        self, table: str, key: str, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Set `columns` of the row whose `key` is each row's last value (see insert)."""
        self._many(rows, len(columns) + 1, lambda n: _update_sql(table, key, columns, n))

    def _many(self, rows: Sequence[Sequence[Any]], width: int, sql: Callable[[int], str]) -> None:
        if not rows:
            return
        if self.postgres:
            self._cursor.executemany(_psycopg(sql(0)), rows)
            return
        step = max(1, _SQLITE_MAX_VALUES // width)
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            self._cursor.execute(sql(len(chunk)), [v for row in chunk for v in row])

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
    """Inserts and updates held back, to be written with a group's: one statement per table.

    Within a group commit, every statement the writer runs costs it a wait for the GIL on its
    way back from SQLite (the other threads are working out their requests meanwhile); writing
    the rows of all the group's works together makes those waits a handful per group.
    """

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self._ops: dict[tuple[str, str, str, tuple[str, ...]], list[Sequence[Any]]] = {}

    def insert(self, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._ops.setdefault(("insert", table, "", columns), []).extend(rows)

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
                self.driver.insert(table, columns, rows)
            else:
                self.driver.update(table, key, columns, rows)
