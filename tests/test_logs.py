"""The JSON log line: one object per record, its time to the millisecond, the request's id."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from tfs.logs import JsonFormatter, correlation_id


def record(msg: str = "request", **fields: object) -> logging.LogRecord:
    rec = logging.LogRecord("tfs.http", logging.INFO, __file__, 1, msg, None, None)
    if fields:
        rec.fields = fields
    return rec


def test_a_line_is_one_json_object_with_time_level_logger_message_and_fields() -> None:
    rec = record(method="POST", path="/x", status=200, ms=1.25)
    line = json.loads(JsonFormatter().format(rec))
    expected_time = datetime.fromtimestamp(rec.created, UTC).isoformat(timespec="milliseconds")
    assert line == {
        "time": expected_time,
        "level": "info",
        "logger": "tfs.http",
        "message": "request",
        "method": "POST",
        "path": "/x",
        "status": 200,
        "ms": 1.25,
    }


def test_the_time_keeps_the_milliseconds_of_each_record_within_one_second() -> None:
    formatter = JsonFormatter()
    for created, shown in [
        (1796655912.0, "2026-12-07T15:05:12.000+00:00"),
        (1796655912.0456, "2026-12-07T15:05:12.045+00:00"),
        (1796655912.999, "2026-12-07T15:05:12.999+00:00"),
        (1796655913.5, "2026-12-07T15:05:13.500+00:00"),
        # Rounded to the microsecond first, as datetime does: across a millisecond, a second.
        (1796655912.0459996, "2026-12-07T15:05:12.046+00:00"),
        (1796655912.9999996, "2026-12-07T15:05:13.000+00:00"),
    ]:
        rec = record()
        rec.created = created
        assert json.loads(formatter.format(rec))["time"] == shown
        assert shown == datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


def test_the_correlation_id_and_an_exception_are_in_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        rec = logging.LogRecord("tfs", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    token = correlation_id.set("cid-1")
    try:
        line = json.loads(JsonFormatter().format(rec))
    finally:
        correlation_id.reset(token)
    assert line["correlationId"] == "cid-1"
    assert line["level"] == "error"
    assert "ValueError: boom" in line["exception"]


def test_values_json_cannot_hold_are_written_as_text() -> None:
    line = json.loads(JsonFormatter().format(record(when=datetime(2026, 1, 2, tzinfo=UTC))))
    assert line["when"].startswith("2026-01-02")
    # A key that is not text: written as text, not dropped, and the line not lost.
    line = json.loads(JsonFormatter().format(record(counts={(1, 2): 3})))
    assert line["counts"] == {"(1, 2)": 3}
