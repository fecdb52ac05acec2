"""The in-process rate-limit counters: a fixed window per key, forgotten once it has passed."""

from __future__ import annotations

import time

from limits import parse
from limits.strategies import FixedWindowRateLimiter

from tfs.access.ratelimit import LocalStorage, RateLimiter
from tfs.errors import RateLimitExceeded


def test_counts_each_key_within_its_window_and_starts_again_after_it() -> None:
    storage = LocalStorage()
    assert [storage.incr("a", 1) for _ in range(3)] == [1, 2, 3]
    assert storage.incr("b", 1) == 1  # keys are counted apart
    assert storage.get("a") == 3
    assert time.time() < storage.get_expiry("a") <= time.time() + 1
    time.sleep(1.05)
    assert storage.get("a") == 0
    assert storage.incr("a", 1) == 1  # a new window


def test_expired_counters_are_swept_so_the_table_stays_bounded() -> None:
    storage = LocalStorage()
    storage.SWEEP_EVERY = 100
    storage._next_sweep = 100
    for n in range(99):
        storage.incr(f"gone-{n}", 0)  # expires at once
    storage.incr("live", 60)  # the 100th key: the sweep keeps only what has not expired
    assert set(storage._counters) == {"live"}


def test_the_limiter_refuses_past_the_rate_with_a_retry_after() -> None:
    limiter = RateLimiter(parse("3/minute"), LocalStorage())
    for _ in range(3):
        limiter.hit("k")
    try:
        limiter.hit("k")
    except RateLimitExceeded as exc:
        assert 1 <= int(exc.headers["Retry-After"]) <= 60
    else:
        raise AssertionError("the fourth request in a minute was let through")
    limiter.hit("other")  # another credential has its own count
    assert FixedWindowRateLimiter(limiter.storage).test(parse("3/minute"), "other")
