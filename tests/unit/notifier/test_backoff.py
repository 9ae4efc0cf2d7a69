"""Retry delays grow exponentially up to a cap, with jitter that never collapses to zero."""

from __future__ import annotations

import random

from services.notifier.delivery.backoff import retry_delay


def test_the_delay_doubles_per_attempt_within_its_jitter_band() -> None:
    rng = random.Random(1)
    for attempt, cap in ((1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0)):
        delays = [retry_delay(attempt, initial=2.0, maximum=600, rng=rng) for _ in range(200)]
        assert min(delays) >= cap / 2
        assert max(delays) <= cap


def test_the_delay_never_exceeds_the_maximum() -> None:
    assert retry_delay(30, initial=2.0, maximum=600, rng=random.Random(2)) <= 600


def test_retries_of_failures_at_the_same_moment_are_spread_apart() -> None:
    rng = random.Random(3)
    delays = {round(retry_delay(5, initial=2.0, maximum=600, rng=rng), 3) for _ in range(50)}
    assert len(delays) > 40
