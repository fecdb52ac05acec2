"""A vendor's status-update body: its structure, its validation, and the faults it can have."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import msgspec

from tfs import limits
from tfs.errors import ORDER_MANAGEMENT, ErrorItem
from tfs.fields import WHITESPACE, printable

LIST = "VENDORS_UPDATE_ORDER_REQUEST_LIST"
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


# The parsed update is made of frozen msgspec Structs rather than frozen dataclasses: the same
# immutable, hashable values, made ten times faster (a 10-order batch makes about 70 of them).
class HistoryEvent(msgspec.Struct, frozen=True):
    order_item_number: str | None
    event_type: str | None
    event_date: datetime | None
    note: str | None
    fingerprint: str  # its identity among an item's history: the same event sent twice is one


class ReportedError(msgspec.Struct, frozen=True):
    field_name: str | None
    code: str | None
    message: str | None
    fingerprint: str  # its identity among an item's errors


def fingerprint(*parts: str | None) -> str:
    """What identifies a record by its content: stored with it, so the formula never changes
    (a changed one would let an event sent before and again after an upgrade in twice)."""
    text = "\x1f".join([p or "" for p in parts])  # a list: join makes one of a generator anyway
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class ItemUpdate(msgspec.Struct, frozen=True):
    mc_id: str
    id: str | None
    status: str | None
    tracking_number: str | None
    tracking_url: str | None
    errors: tuple[ReportedError, ...]
    histories: tuple[HistoryEvent, ...]


class OrderUpdate(msgspec.Struct, frozen=True):
    index: int
    mc_order_id: str
    order_id: str | None
    status: str | None
    items: tuple[ItemUpdate, ...]


def field_code(field: str) -> str:
    """`mcOrderId` → `MC_ORDER_ID`, as in Mastercard's reason codes."""
    return _CAMEL.sub("_", field).upper()


def field_label(field: str) -> str:
    """`mcOrderId` → `McOrderId`, as in Mastercard's descriptions."""
    return field[:1].upper() + field[1:]


class _Faults:
    """Collects every structural fault with its Mastercard-style path."""

    def __init__(self) -> None:
        self.items: list[ErrorItem] = []

    def missing(self, path: str, field: str) -> None:
        self.items.append(
            ErrorItem(
                ORDER_MANAGEMENT,
                f"MISSING_REQUIRED_FIELD_{path}.{field_code(field)}",
                f"{field_label(field)} is blank or null.",
            )
        )

    def invalid(self, path: str, field: str, why: str) -> None:
        self.items.append(
            ErrorItem(
                ORDER_MANAGEMENT,
                f"INVALID_FIELD_VALUE_{path}.{field_code(field)}",
                f"{field_label(field)} {why}",
            )
        )


def _text(
    obj: dict[str, Any],
    field: str,
    path: str,
    faults: _Faults,
    *,
    max_len: int,
    required: bool = False,
    identifier: bool = False,
) -> str | None:
    value = obj.get(field)
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if required:
            faults.missing(path, field)
        return None
    if not isinstance(value, str):
        faults.invalid(path, field, "must be a string.")
        return None
    if len(value) > max_len:
        faults.invalid(path, field, f"must be at most {max_len} characters.")
        return None
    if identifier and not printable(value):
        faults.invalid(path, field, "must not contain control characters.")
        return None
    if "\x00" in value:  # free text may hold newlines, never NUL (PostgreSQL cannot store it)
        faults.invalid(path, field, "must not contain NUL characters.")
        return None
    return value


def _array(obj: dict[str, Any], field: str, path: str, faults: _Faults, cap: int) -> list[Any]:
    value = obj.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        faults.invalid(path, field, "must be an array.")
        return []
    if len(value) > cap:
        faults.invalid(path, field, f"must have at most {cap} entries.")
        return []
    return value


def _objects(values: list[Any], path: str, field: str, faults: _Faults) -> list[dict[str, Any]]:
    out = []
    for j, value in enumerate(values):
        if isinstance(value, dict):
            out.append(value)
        else:
            faults.invalid(path, f"{field}[{j}]", "must be an object.")
    return out


def _date_time_pattern() -> str:
    """ISO 8601 date and time as this service reads them, as one regular expression (Python's
    and JSON Schema's), so that the document says exactly what is accepted: a real calendar
    date in years 1000 to 9998 (so that no offset moves it out of Python's years), `T` or a
    space, hh:mm, optional :ss and a fraction of 1 to 9 digits (kept to the microsecond), and an
    offset `Z`, ±hh:mm or ±hhmm, or none (UTC)."""
    year = "(?:1[0-9]{3}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
    leap = "(?:[1-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[13579][26]|[2468][048])00)"
    day = (
        "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
        "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
        "|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    )
    date = f"(?:{year}-{day}|{leap}-02-29)"
    hhmm = "(?:[01][0-9]|2[0-3]):?[0-5][0-9]"
    time = "(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.][0-9]{1,9})?)?"
    return f"^{date}[T ]{time}(?:Z|[+-]{hhmm})?$"


DATE_TIME_PATTERN = _date_time_pattern()
_DATE_TIME = re.compile(DATE_TIME_PATTERN)


def parse_event_date(raw: str) -> datetime | None:
    """ISO-8601 with a time (DATE_TIME_PATTERN); a date-time without offset is taken as UTC."""
    if _DATE_TIME.fullmatch(raw) is None:
        return None
    head, dot, rest = raw.partition(".")
    if dot:  # Python reads at most 6 digits of a fraction
        digits = len(rest) - len(rest.lstrip("0123456789"))
        raw = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    value = datetime.fromisoformat(raw)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _history(obj: dict[str, Any], path: str, faults: _Faults) -> HistoryEvent:
    raw_date = _text(obj, "eventDate", path, faults, max_len=limits.MAX_EVENT_DATE_LENGTH)
    event_date = None
    if raw_date is not None:
        event_date = parse_event_date(raw_date)
        if event_date is None:
            faults.invalid(path, "eventDate", "must be an ISO-8601 date-time.")
    number = _text(
        obj, "orderItemNumber", path, faults, max_len=limits.MAX_ID_LENGTH, identifier=True
    )
    event_type = _text(obj, "eventType", path, faults, max_len=limits.MAX_EVENT_TYPE_LENGTH)
    note = _text(obj, "note", path, faults, max_len=limits.MAX_NOTE_LENGTH)
    # Worked out here, where the body is checked (on the event loop, or a worker thread for a
    # large one), rather than in the writer's turn, which every request waits for.
    date = event_date.isoformat() if event_date else None
    fp = fingerprint("vendor", number, event_type, date, note, None)
    return HistoryEvent(number, event_type, event_date, note, fp)


def _reported_error(obj: dict[str, Any], path: str, faults: _Faults) -> ReportedError:
    field_name = _text(obj, "fieldName", path, faults, max_len=limits.MAX_ERROR_FIELD_LENGTH)
    code = _text(obj, "code", path, faults, max_len=limits.MAX_ERROR_CODE_LENGTH)
    message = _text(obj, "message", path, faults, max_len=limits.MAX_ERROR_MESSAGE_LENGTH)
    return ReportedError(field_name, code, message, fingerprint("error", field_name, code, message))


# Blank (taken as none, as for every text field) or an http(s) URL with a host.
TRACKING_URL_PATTERN = (
    f"^(?:[{WHITESPACE}]*"
    f"|[Hh][Tt][Tt][Pp][Ss]?://[^{WHITESPACE}/?#\\u0000]+[^{WHITESPACE}\\u0000]*)$"
)
_TRACKING_URL = re.compile(TRACKING_URL_PATTERN)


def _tracking_url(obj: dict[str, Any], path: str, faults: _Faults) -> str | None:
    url = _text(obj, "trackingUrl", path, faults, max_len=limits.MAX_URL_LENGTH)
    if url is None:
        return None
    if _TRACKING_URL.fullmatch(url) is None:
        faults.invalid(path, "trackingUrl", "must be an http or https URL.")
        return None
    return url


def _item(obj: dict[str, Any], path: str, faults: _Faults) -> ItemUpdate:
    mc_id = _text(
        obj, "mcId", path, faults, max_len=limits.MAX_ID_LENGTH, required=True, identifier=True
    )
    errors = _objects(
        _array(obj, "errors", path, faults, limits.MAX_ERRORS_PER_ITEM), path, "errors", faults
    )
    histories = _objects(
        _array(obj, "histories", path, faults, limits.MAX_HISTORIES_PER_ITEM),
        path,
        "histories",
        faults,
    )
    return ItemUpdate(
        mc_id=mc_id or "",
        id=_text(obj, "id", path, faults, max_len=limits.MAX_ID_LENGTH, identifier=True),
        status=_text(obj, "status", path, faults, max_len=limits.MAX_STATUS_LENGTH),
        tracking_number=_text(
            obj,
            "trackingNumber",
            path,
            faults,
            max_len=limits.MAX_TRACKING_NUMBER_LENGTH,
            identifier=True,
        ),
        tracking_url=_tracking_url(obj, path, faults),
        errors=tuple(
            _reported_error(e, f"{path}.ERRORS[{k}]", faults) for k, e in enumerate(errors)
        ),
        histories=tuple(
            _history(h, f"{path}.HISTORIES[{k}]", faults) for k, h in enumerate(histories)
        ),
    )


def _order(index: int, obj: dict[str, Any], faults: _Faults) -> OrderUpdate:
    path = f"{LIST}[{index}]"
    mc_order_id = _text(
        obj,
        "mcOrderId",
        path,
        faults,
        max_len=limits.MAX_ID_LENGTH,
        required=True,
        identifier=True,
    )
    items = _objects(
        _array(obj, "orderItems", path, faults, limits.MAX_ITEMS_PER_ORDER),
        path,
        "orderItems",
        faults,
    )
    return OrderUpdate(
        index=index,
        mc_order_id=mc_order_id or "",
        order_id=_text(obj, "orderId", path, faults, max_len=limits.MAX_ID_LENGTH, identifier=True),
        status=_text(obj, "status", path, faults, max_len=limits.MAX_STATUS_LENGTH),
        items=tuple(
            _item(item, f"{path}.ORDER_ITEMS[{j}]", faults) for j, item in enumerate(items)
        ),
    )


def parse_updates(body: Any) -> tuple[list[OrderUpdate], list[ErrorItem]]:
    """The orders of an already JSON-decoded body (a list of objects), and every fault found.

    The caller has checked that `body` is a list of dicts (else INVALID_REQUEST_BODY).
    """
    faults = _Faults()
    orders = [_order(i, obj, faults) for i, obj in enumerate(body)]
    return orders, _capped(faults.items)


def _capped(items: list[ErrorItem]) -> list[ErrorItem]:
    if len(items) <= limits.MAX_REPORTED_FAULTS:
        return items
    kept = items[: limits.MAX_REPORTED_FAULTS - 1]
    rest = len(items) - len(kept)
    kept.append(
        ErrorItem(ORDER_MANAGEMENT, "TOO_MANY_ERRORS", f"{rest} more faults were not listed.")
    )
    return kept
