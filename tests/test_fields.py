"""The rules for text the service takes (identifiers, statuses, dates, tracking URLs), and that
the patterns the OpenAPI document gives for them say exactly the same."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest

from tfs import fields
from tfs.orders.statuses import ALIASES, Status, parse_status, spelling_pattern
from tfs.orders.updates import DATE_TIME_PATTERN, TRACKING_URL_PATTERN, parse_event_date


def test_refused_ranges_are_this_pythons_control_format_and_separator_characters() -> None:
    wanted = [
        c
        for c in range(0x10000)
        if unicodedata.category(chr(c)) in {"Cc", "Cf", "Zl", "Zp"} and not 0xD800 <= c <= 0xDFFF
    ]
    listed = [c for a, b in fields.REFUSED_RANGES for c in range(a, b + 1)]
    assert listed == wanted


@pytest.mark.parametrize(
    "value",
    [
        "a\x00",
        "a\x1f",
        "\x7f",
        "a\x85b",
        "\u00ad",
        "a\u200bb",
        "\u202e",
        "x\u2028",
        "\ufeff",
        "\ud800",
    ],
)
def test_control_format_and_separator_characters_are_refused(value: str) -> None:
    assert not fields.printable(value)


@pytest.mark.parametrize(
    "value", ["afd72396-b9c0-11ed", "Café 25 €", "a b", "\u00a0", "😀", "🏴\U000e0067\U000e007f"]
)
def test_visible_text_spaces_and_emoji_are_identifiers(value: str) -> None:
    assert fields.printable(value)


def test_the_patterns_say_what_printable_does() -> None:
    """Every code point: TEXT_PATTERN matches it exactly when printable() takes it, and
    PATTERN (an identifier: not blank) also refuses white space alone."""
    text, ident = re.compile(fields.TEXT_PATTERN), re.compile(fields.PATTERN)
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        c = chr(code)
        assert bool(text.fullmatch(c)) is fields.printable(c), hex(code)
        assert bool(ident.fullmatch(c)) is (fields.printable(c) and not c.isspace()), hex(code)
        assert bool(ident.fullmatch(f"{c}x")) is fields.printable(c), hex(code)


def test_whitespace_is_what_strip_takes() -> None:
    blank = re.compile(f"[{fields.WHITESPACE}]*")
    for code in range(sys.maxunicode + 1):
        assert bool(blank.fullmatch(chr(code))) is chr(code).isspace(), hex(code)


def test_the_status_pattern_matches_exactly_the_spellings_parse_status_knows() -> None:
    pattern = re.compile(spelling_pattern())
    words = [s.value for s in Status] + list(ALIASES)
    spellings = [w for word in words for w in (word, word.upper(), f" {word}\t", f"-{word}_")]
    spellings += ["In Transit", "in_transit", "ON-HOLD", "Cancel led"]
    misspellings = [
        "",
        " ",
        "Shipped.",
        "Shippedx",
        "xShipped",
        "Shipped\n",
        "Ship ped!",
        "\u212aaput",
    ]
    misspellings += ["bac\u212aorder", "Café", "Shipped\u00a0"]
    for value in spellings + misspellings:
        assert bool(pattern.fullmatch(value)) is (parse_status(value) is not None), repr(value)
    assert all(parse_status(v) is not None for v in spellings)


DATES = [
    "2023-10-03T21:05:10Z", "2023-10-03 21:05", "2023-10-03T21:05:10.123456789+01:00",
    "2023-10-03T21:05:10-0530", "2024-02-29T00:00Z", "2000-02-29T00:00", "1000-01-01T00:00+14:00",
    "9998-12-31T23:59:59-12:00", "2023-02-29T00:00Z", "1900-02-29T00:00", "2023-04-31T00:00",
    "2023-13-01T00:00", "2023-10-03", "2023-10-03T24:00", "2023-10-03T21:05:60", "0999-01-01T00:00",
    "9999-01-01T00:00", "2023-10-03T21:05+01", "2023-10-03T21:05:10.Z", " 2023-10-03T21:05",
    "2023-10-03t21:05z", "2023-10-03T21:05:10Z\n", "",
]  # fmt: skip


@pytest.mark.parametrize("value", DATES)
def test_the_date_time_pattern_matches_exactly_what_is_read(value: str) -> None:
    assert bool(re.fullmatch(DATE_TIME_PATTERN, value)) is (parse_event_date(value) is not None)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("https://tracking-url.com/order/123", True),
        ("HTTP://a", True),
        ("  ", True),  # blank: taken as none
        ("", True),
        ("ftp://a", False),
        ("https://", False),
        ("https:///path", False),
        ("https://a b", False),
        ("https://a\x1f", False),
        ("https://a\u3000", False),
    ],
)
def test_the_tracking_url_pattern(value: str, valid: bool) -> None:
    assert bool(re.fullmatch(TRACKING_URL_PATTERN, value)) is valid
