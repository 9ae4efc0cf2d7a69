"""Per-key rate limits: the sliding-window estimate, admission on an injected clock, sharing counts."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from shared.db import Database
from shared.web.rate_limit import (
    RateLimiter,
    RateLimitSync,
    seconds_until_admitted,
    sliding_estimate,
)

WINDOW = 1_800_000_000  # a window start: a multiple of 60 in unix seconds


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("previous", "current", "elapsed", "expected"),
    [
        (0, 0, 0, 0),
        (0, 7, 30, 7),
        (60, 0, 0, 60),  # at the start of a window the whole previous minute still counts
        (60, 0, 15, 45),
        (60, 10, 30, 40),
        (60, 10, 60, 10),  # at the end only the current window counts
        (60, 10, 90, 10),  # never a negative share
    ],
)
def test_the_estimate_weights_the_previous_window_by_its_overlap(
    previous: int, current: int, elapsed: float, expected: float
) -> None:
    assert sliding_estimate(previous=previous, current=current, elapsed=elapsed) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("previous", "current", "elapsed", "limit", "expected"),
    [
        (0, 0, 10, 5, 0),  # room now
        (0, 5, 10, 5, 50 + 60 * (1 - 4 / 5)),  # current full: it must roll over and decay to 4
        (10, 0, 0, 5, 60 - 4 * 60 / 10),  # the previous minute decays until 4 of 10 are left
        (10, 2, 30, 5, 30 - 2 * 60 / 10),
        (0, 1, 0, 1, 60 + 60),  # a limit of 1: the request has to leave the sliding minute entirely
    ],
)
def test_retry_after_is_when_the_estimate_leaves_room_for_one_more(
    previous: int, current: int, elapsed: float, limit: int, expected: float
) -> None:
    wait = seconds_until_admitted(previous=previous, current=current, elapsed=elapsed, limit=limit)
    assert wait == pytest.approx(expected)
    estimate_then = _estimate_after(previous, current, elapsed, wait)
    assert estimate_then <= limit - 1 + 1e-9


def _estimate_after(previous: int, current: int, elapsed: float, wait: float) -> float:
    if elapsed + wait < 60:
        return sliding_estimate(previous=previous, current=current, elapsed=elapsed + wait)
    return sliding_estimate(previous=current, current=0, elapsed=elapsed + wait - 60)


@pytest.mark.parametrize(
    ("limit", "steps", "expected"),
    [
        # (seconds into the first window, requests): admitted of each step
        (3, [(0, 4)], [3]),
        (3, [(0, 3), (59, 1)], [3, 0]),
        (3, [(0, 3), (60, 1)], [3, 0]),  # a new window, but the previous minute still weighs 3
        (3, [(0, 3), (80, 3)], [3, 1]),  # 20 s later a third of it has left: room for one
        (3, [(0, 3), (120, 3)], [3, 3]),  # two windows later nothing is remembered
        (60, [(0, 30), (30, 40), (45, 40)], [30, 30, 0]),
    ],
)
def test_admission_follows_the_sliding_window(limit: int, steps: list[tuple[int, int]], expected: list[int]) -> None:
    clock = FakeClock(WINDOW)
    limiter = RateLimiter(clock=clock)
    admitted = []
    for offset, requests in steps:
        clock.now = WINDOW + offset
        admitted.append(sum(limiter.admit("k", limit).allowed for _ in range(requests)))
    assert admitted == expected


def test_a_refusal_says_when_to_retry_and_what_is_left() -> None:
    clock = FakeClock(WINDOW + 10)
    limiter = RateLimiter(clock=clock)
    first = limiter.admit("k", 2)
    assert (first.allowed, first.remaining, first.reset_seconds) == (True, 1, 50)
    assert first.headers() == {"RateLimit-Policy": '"per-key";q=2;w=60', "RateLimit": '"per-key";r=1;t=50'}
    limiter.admit("k", 2)
    refused = limiter.admit("k", 2)
    assert not refused.allowed
    assert refused.headers()["Retry-After"] == str(50 + 30)  # the window ends, then half of it must decay
    assert refused.headers()["RateLimit"] == f'"per-key";r=0;t={50 + 30}'


def test_keys_are_limited_separately() -> None:
    limiter = RateLimiter(clock=FakeClock(WINDOW))
    assert [limiter.admit(key, 1).allowed for key in ("a", "b", "a")] == [True, True, False]


async def test_two_replicas_sharing_a_database_see_each_others_counts(messaging_db: Database) -> None:
    clock = FakeClock(WINDOW + 5)
    first, second = RateLimiter(clock=clock), RateLimiter(clock=clock)
    assert sum(first.admit("k", 10).allowed for _ in range(6)) == 6
    await first.sync(messaging_db)
    await second.sync(messaging_db)
    assert sum(second.admit("k", 10).allowed for _ in range(6)) == 4
    await second.sync(messaging_db)
    await first.sync(messaging_db)
    assert not first.admit("k", 10).allowed
    # A repeated sync writes absolute counts: nothing is counted twice.
    await first.sync(messaging_db)
    await second.sync(messaging_db)
    clock.now = WINDOW + 60 + 30  # the next window, half way: half of the previous 10 still counts
    await first.sync(messaging_db)
    assert sum(first.admit("k", 10).allowed for _ in range(10)) == 5


async def test_old_windows_are_pruned(messaging_db: Database) -> None:
    clock = FakeClock(WINDOW)
    limiter = RateLimiter(clock=clock)
    limiter.admit("k", 10)
    await limiter.sync(messaging_db)
    clock.now += 120
    await limiter.prune(messaging_db)
    await limiter.sync(messaging_db)
    assert limiter.admit("k", 1).allowed  # neither the pruned row nor the memory of it is left


async def test_a_failing_sync_never_fails_requests_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    without_table = Database(f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    limiter = RateLimiter(clock=FakeClock(WINDOW))
    sync = RateLimitSync(limiter=limiter, database=without_table, interval=1.0)
    limiter.admit("k", 2)
    with caplog.at_level(logging.WARNING, logger="shared.web.rate_limit"):
        for _ in range(3):
            await sync.run_once()
    assert len([r for r in caplog.records if "rate limit sync failed" in r.message]) == 1
    assert [limiter.admit("k", 2).allowed for _ in range(2)] == [True, False]  # the local count still holds
    await without_table.dispose()


async def test_the_sync_loop_stays_off_on_sqlite_and_when_disabled(messaging_db: Database) -> None:
    for interval in (1.0, 0.0):
        sync = RateLimitSync(limiter=RateLimiter(), database=messaging_db, interval=interval)
        await sync.start()
        assert not sync.enabled
        await sync.stop()


async def test_the_sync_loop_runs_on_an_unreachable_database_without_failing_requests_and_stops() -> None:
    unreachable = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    limiter = RateLimiter()
    sync = RateLimitSync(limiter=limiter, database=unreachable, interval=0.01)
    await sync.start()
    assert sync.enabled
    await asyncio.sleep(0.1)
    assert limiter.admit("k", 1).allowed
    await asyncio.wait_for(sync.stop(), timeout=5)
    await unreachable.dispose()
