"""The status vocabulary of orders and items, its aliases, and the state machine, as data."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum


class Status(StrEnum):
    PENDING = "Pending"
    PROCESSING = "Processing"
    BACKORDERED = "Backordered"
    SHIPPED = "Shipped"
    DELIVERED = "Delivered"
    CANCELLED = "Cancelled"
    REJECTED = "Rejected"
    RETURNED = "Returned"


S = Status

# Every allowed move. Repeating the current status is always allowed (a quiet success) and is
# not listed. A status with no entry is final.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.PENDING: frozenset(
        {S.PROCESSING, S.BACKORDERED, S.SHIPPED, S.DELIVERED, S.CANCELLED, S.REJECTED}
    ),
    S.PROCESSING: frozenset({S.BACKORDERED, S.SHIPPED, S.DELIVERED, S.CANCELLED, S.REJECTED}),
    S.BACKORDERED: frozenset({S.PROCESSING, S.SHIPPED, S.DELIVERED, S.CANCELLED, S.REJECTED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.RETURNED}),
    S.DELIVERED: frozenset({S.RETURNED}),
}

FINAL: frozenset[Status] = frozenset(s for s in Status if s not in TRANSITIONS)

# Input spellings accepted besides the canonical names (compared after normalisation: case,
# spaces, hyphens and underscores are ignored). Documented in the README.
ALIASES: dict[str, Status] = {
    "new": S.PENDING,
    "open": S.PENDING,
    "created": S.PENDING,
    "received": S.PENDING,
    "inprogress": S.PROCESSING,
    "accepted": S.PROCESSING,
    "confirmed": S.PROCESSING,
    "fulfilling": S.PROCESSING,
    "onhold": S.BACKORDERED,
    "backorder": S.BACKORDERED,
    "delayed": S.BACKORDERED,
    "intransit": S.SHIPPED,
    "dispatched": S.SHIPPED,
    "sent": S.SHIPPED,
    "completed": S.DELIVERED,
    "complete": S.DELIVERED,
    "fulfilled": S.DELIVERED,
    "canceled": S.CANCELLED,
    "cancel": S.CANCELLED,
    "failed": S.REJECTED,
    "failure": S.REJECTED,
    "declined": S.REJECTED,
    "refused": S.REJECTED,
    "returned": S.RETURNED,
    "refunded": S.RETURNED,
}

_NOISE_CLASS = "[\\t _-]"  # also in spelling_pattern(), so written for both engines
_NOISE = re.compile(_NOISE_CLASS + "+")
_LOOKUP: dict[str, Status] = {s.value.lower(): s for s in Status} | ALIASES
# By stored value: what reading a row needs, without the Enum's call (a tenth of its cost).
BY_VALUE: dict[str, Status] = {s.value: s for s in Status}


def parse_status(raw: str) -> Status | None:
    """The status a vendor meant, or None when the word is not one we know."""
    status = BY_VALUE.get(raw)  # the canonical spelling, as most vendors send it
    if status is not None:
        return status
    if not raw.isascii():  # so that case folds only A-Z, as the documented pattern does
        return None
    return _LOOKUP.get(_NOISE.sub("", raw).lower())


def spelling_pattern() -> str:
    """A regular expression (Python's and JSON Schema's) matching exactly the spellings that
    parse_status knows: a known word, in any case, with tabs, spaces, hyphens and underscores
    anywhere."""
    noise = _NOISE_CLASS + "*"
    words = (
        noise.join(f"[{c.upper()}{c}]" for c in word)
        for word in sorted(_LOOKUP, key=len, reverse=True)
    )
    return f"^{noise}(?:{'|'.join(words)}){noise}$"


def can_move(current: Status, target: Status) -> bool:
    return target == current or target in TRANSITIONS.get(current, frozenset())


def is_final(status: Status) -> bool:
    return status in FINAL


def derived_order_status(item_statuses: Iterable[Status]) -> Status | None:
    """The order status its items imply: all alike → that status; otherwise None (unchanged).

    Mixed items leave the order where the vendor or the last uniform state put it; the items
    themselves carry the truth.
    """
    distinct = set(item_statuses)
    if len(distinct) == 1:
        return distinct.pop()
    return None
