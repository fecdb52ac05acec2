"""The one clock: every time the service records is taken here, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache


def now() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=8192)
def iso(value: datetime) -> str:
    """UTC, ISO-8601 with `Z`, as every answer and event shows a time; cached: an answer and
    its event format the same times."""
    value = value.astimezone(UTC)
    spec = "seconds" if value.microsecond == 0 else "milliseconds"
    return value.isoformat(timespec=spec).replace("+00:00", "Z")
