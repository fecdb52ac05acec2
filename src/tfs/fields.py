"""The one rule for the text of identifiers, shared by every parser, route and command."""

from __future__ import annotations


def printable(value: str) -> bool:
    """Identifiers (order, item and vendor ids, cursors, consumer keys, nonces, Idempotency-Key,
    X-Correlation-ID) are printable text: no C0 or C1 control character, no DEL, no Unicode
    format or line separator. One rule everywhere, so that what one door lets in (placing an
    order) another (updating it) does not refuse; PostgreSQL text cannot hold NUL either."""
    return value.isprintable()
