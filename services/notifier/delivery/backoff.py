"""When to try a failed delivery again: exponential backoff with jitter.

The delay is random between half the exponential cap and the cap: the jitter spreads the retries of many
deliveries that failed together (a receiver coming back up is not hit by all of them at once), and the
lower half-cap bound keeps a retry from following its failure immediately.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def retry_delay(attempt: int, *, initial: float, maximum: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `attempt`-th failure (1-based)."""
    cap = min(maximum, initial * 2 ** (attempt - 1))
    return (rng or random).uniform(cap / 2, cap)


def next_attempt(now: datetime, attempt: int, *, initial: float, maximum: float) -> datetime:
    return now + timedelta(seconds=retry_delay(attempt, initial=initial, maximum=maximum))
