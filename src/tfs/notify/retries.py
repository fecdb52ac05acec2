"""When a failed webhook delivery is tried again, and when it is given up: a pure policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Beyond this the delay stops doubling: a receiver back after a long outage hears within the hour.
MAX_DELAY_S = 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float
    window: timedelta

    def next_attempt(
        self, failures: int, first_attempt_at: datetime, now: datetime, jitter: float
    ) -> datetime | None:
        """The time of the next attempt after `failures` failed ones, or None: dead-letter it.

        Exponential backoff with "equal jitter" (`jitter` in [0, 1) picks between half and all
        of the delay), so that receivers coming back are not hit by every relay at once. The
        last attempt falls on the end of the window, which counts from the first attempt.
        """
        deadline = first_attempt_at + self.window
        if now >= deadline:
            return None
        delay = min(self.base_s * 2.0 ** min(failures - 1, 40), MAX_DELAY_S)
        delay *= 0.5 + jitter / 2
        return min(now + timedelta(seconds=delay), deadline)
