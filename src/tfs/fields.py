"""The one rule for the text of identifiers, shared by every parser, route, command and the
OpenAPI document."""

from __future__ import annotations

import re

# Refused in identifiers: control characters (C0, DEL, C1), the format characters of the Basic
# Multilingual Plane (zero width, bidi overrides, soft hyphen, BOM) and the line and paragraph
# separators: characters that are invisible, or that reorder or break what a log line, a console
# page or a terminal shows. These are the code points up to U+FFFF of Unicode categories Cc, Cf,
# Zl and Zp, written out (working them out at import would cost every command 0.3 s;
# tests/test_fields.py checks the list against this Python's Unicode database). Above U+FFFF
# (emoji tag sequences, hieroglyph controls) nothing is refused: Python's re, Rust's regex and
# ECMA-262 share no way to name those characters in a pattern, and the document must say the
# rule exactly.
REFUSED_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x001F), (0x007F, 0x009F), (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C),
    (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E),
    (0x200B, 0x200F), (0x2028, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
)  # fmt: skip

# \uXXXX means the same to Python's re, to Rust's regex and to ECMA-262 (the syntax JSON Schema
# names), and JSON carries it as plain ASCII.
_CLASS = "".join(f"\\u{a:04X}" if a == b else f"\\u{a:04X}-\\u{b:04X}" for a, b in REFUSED_RANGES)
# Surrogates too, though no UTF-8 text holds one (a JSON escape can): the pattern cannot name
# them, since Rust's regex refuses a class with surrogates in it.
_REFUSED = re.compile(f"[{_CLASS}\\uD800-\\uDFFF]")

# What str.isspace() and str.strip() take for white space, spelled out: `\s` differs between
# Python (which counts U+001C to U+001F) and other engines. Blank text is taken as missing.
WHITESPACE = (
    "\\u0009-\\u000D\\u001C-\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029"
    "\\u202F\\u205F\\u3000"
)

# The rule as JSON Schema patterns, for the document: text with none of the refused characters;
# and an identifier, which is that and not blank (a blank one is taken as missing).
TEXT_PATTERN = f"^[^{_CLASS}]*$"
PATTERN = f"^[^{_CLASS}]*[^{_CLASS}{WHITESPACE}][^{_CLASS}]*$"
# Free text (notes, statuses, error messages): anything but NUL, which PostgreSQL cannot store.
FREE_TEXT_PATTERN = "^[^\\u0000]*$"


def printable(value: str) -> bool:
    """Identifiers (order, item and vendor ids, cursors, consumer keys, nonces, Idempotency-Key,
    X-Correlation-ID) hold none of the refused characters. One rule everywhere, so that what one
    door lets in (placing an order) another (updating it) does not refuse; PostgreSQL text cannot
    hold NUL either."""
    return _REFUSED.search(value) is None
