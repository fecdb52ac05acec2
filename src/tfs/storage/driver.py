"""Driver-level SQL for the few statements every status update runs.

SQLAlchemy Core builds, caches and binds a statement in tens of microseconds of Python, and
converts every row it returns; for the hot path's dozen statements per request that was about
half the CPU of a request (docs/performance.md). The statements here are plain SQL text, run on
the same DBAPI connection and in the same transaction as the unit of work around them, with
values converted the way SQLAlchemy stores them, so that both read each other's rows.

SQL is written with `?` placeholders (SQLite's style) and turned into `%s` once for psycopg.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


def _sqlite_time(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text (UTC, naive): lexical order is time order."""
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 (SQLAlchemy's own format)
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


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
        self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """`sql` has one `IN (?)`, last of its placeholders, which takes `values`."""
        cursor = self._cursor
        if self.postgres:
            cursor.execute(self._sql(sql, 0), (*params, list(values)))
        else:
            cursor.execute(self._sql(sql, len(values)), (*params, *values))
        return cursor.fetchall()  # type: ignore[no-any-return]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Rows affected."""
        cursor = self._cursor
        cursor.execute(self._sql(sql), params)
        return cursor.rowcount  # type: ignore[no-any-return]

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._cursor.executemany(self._sql(sql), rows)

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
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
