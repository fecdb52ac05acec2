"""Structured (JSON) logs, each line tagged with the request's correlation id.

Log calls pass identifiers only: never keys, signatures, secrets or request bodies.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache

import msgspec

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


_encode = msgspec.json.Encoder(enc_hook=str).encode


class JsonFormatter(logging.Formatter):
    """One JSON object per record. Every request writes one (the access log), so this is on
    the hot path: msgspec instead of json (a value it cannot write is written as its str), and
    each second's text made once."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": _iso_millis(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        cid = correlation_id.get()
        if cid:
            line["correlationId"] = cid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode(line).decode()


@lru_cache(maxsize=4)
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _iso_millis(created: float) -> str:
    """`created` as ISO 8601 in UTC to the millisecond, e.g. 2026-12-07T15:30:00.123+00:00:
    what `datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")` gives, which
    rounds to the microsecond (half to even) before it cuts to the millisecond."""
    second = int(created)
    micro = round((created - second) * 1e6)
    if micro == 1_000_000:
        second, micro = second + 1, 0
    return f"{_iso_second(second)}.{micro // 1000:03d}+00:00"


def configure(level: str = "INFO") -> None:
    # What no line of ours shows, not gathered for each record (the logging HOWTO's
    # "Optimization"): the caller's file and line (a walk up the stack), thread and process.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own access log would duplicate ours (and is not JSON).
    logging.getLogger("uvicorn.access").disabled = True
