"""The retry policy of webhook deliveries: exponential backoff with jitter, then dead-letter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tfs.notify.retries import MAX_DELAY_S, RetryPolicy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = RetryPolicy(base_s=5.0, window=timedelta(hours=24))


def delay(failures: int, jitter: float, since_first: timedelta = timedelta(0)) -> float:
    now = T0 + since_first
    at = POLICY.next_attempt(failures, T0, now, jitter)
    assert at is not None
    return (at - now).total_seconds()


def test_the_delay_doubles_after_each_failure() -> None:
    delays = [delay(n, jitter=0.999999) for n in (1, 2, 3, 4)]
    assert delays == [pytest.approx(d, rel=1e-4) for d in (5, 10, 20, 40)]


def test_jitter_picks_between_half_and_all_of_the_delay() -> None:
    assert delay(3, jitter=0.0) == 10.0
    assert 10.0 < delay(3, jitter=0.5) < 20.0


def test_the_delay_stops_growing_at_an_hour() -> None:
    assert delay(30, jitter=0.999999) <= MAX_DELAY_S
    assert delay(10_000, jitter=0.0) == MAX_DELAY_S / 2


def test_the_last_attempt_falls_on_the_end_of_the_window() -> None:
    late = timedelta(hours=23, minutes=59, seconds=50)
    at = POLICY.next_attempt(40, T0, T0 + late, jitter=0.999999)
    assert at == T0 + timedelta(hours=24)


def test_a_failure_at_or_after_the_end_of_the_window_is_dead_lettered() -> None:
    assert POLICY.next_attempt(40, T0, T0 + timedelta(hours=24), jitter=0.0) is None
    assert POLICY.next_attempt(1, T0, T0 + timedelta(hours=25), jitter=0.0) is None
