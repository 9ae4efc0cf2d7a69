"""Per-key rate limits that hold across every replica of a service, with no database trip per request.

Admission is decided in memory with a sliding-window estimate over fixed one-minute windows aligned on
the wall clock: `previous * (share of the previous window still inside the last minute) + current`, where
each count is the whole cluster's. A replica knows its own counts exactly; it learns the other replicas'
from a shared table that a background loop (`RateLimitSync`) writes and reads every
FIRSTCALL_RATE_LIMIT_SYNC_MS (T). Each replica owns its rows `(key_id, window_start, replica_id, count)`
and writes absolute counts, so a retried write counts nothing twice and replicas never wait on each
other's row locks. The error is what the other replicas admitted and this one has not seen yet: a
request is seen by everyone within 2T (its replica's next write, then the reader's next read), so with N
replicas a key gets at most its limit plus what N - 1 replicas receive from it in 2T, and never more than
N times its limit. The database being down only makes each replica fall back to its own counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Insert, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared.db import Database
from shared.messaging.tables import rate_limit_counts

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
FAILURE_LOG_SECONDS = 60.0  # while the database stays unreachable, one warning a minute is enough
STOP_SYNC_SECONDS = 2.0


def sliding_estimate(*, previous: float, current: float, elapsed: float, window: float = WINDOW_SECONDS) -> float:
    """Requests in the last `window` seconds, assuming the previous window's were spread evenly."""
    return previous * max(0.0, window - elapsed) / window + current


def seconds_until_admitted(
    *, previous: float, current: float, elapsed: float, limit: int, window: float = WINDOW_SECONDS
) -> float:
    """How long until one more request fits under `limit`, if no other request arrives meanwhile."""
    budget = limit - 1
    if current <= budget:
        if sliding_estimate(previous=previous, current=current, elapsed=elapsed, window=window) <= budget:
            return 0.0
        return max(0.0, window - elapsed - (budget - current) * window / previous)
    # The current window alone is over budget: it has to become the previous one and decay.
    return (window - elapsed) + window * (1 - budget / current)


@dataclass(frozen=True)
class Decision:
    """One request's admission, and what the RateLimit headers tell the client."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # admitted: until the current window ends; refused: until one request fits
    window: int = WINDOW_SECONDS

    def headers(self) -> dict[str, str]:
        """IETF draft-ietf-httpapi-ratelimit-headers-10 fields (plus Retry-After when refused)."""
        headers = {
            "RateLimit-Policy": f'"per-key";q={self.limit};w={self.window}',
            "RateLimit": f'"per-key";r={self.remaining};t={self.reset_seconds}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_seconds)
        return headers


@dataclass
class _KeyCounts:
    """One key's counts in the current and previous window: this replica's, and the others' as last read."""

    window: int
    own_current: int = 0
    own_previous: int = 0
    others_current: int = 0
    others_previous: int = 0
    written_current: int = 0  # what this replica's row holds in the shared table
    written_previous: int = 0

    def roll(self, window: int) -> None:
        if window == self.window:
            return
        adjacent = window == self.window + WINDOW_SECONDS
        self.own_previous = self.own_current if adjacent else 0
        self.others_previous = self.others_current if adjacent else 0
        self.written_previous = self.written_current if adjacent else 0
        self.own_current = self.others_current = self.written_current = 0
        self.window = window

    @property
    def idle(self) -> bool:
        return not (self.own_current or self.own_previous or self.others_current or self.others_previous)


@dataclass
class RateLimiter:
    """Admits requests per key in memory; `sync` shares the counts with the other replicas."""

    clock: Callable[[], float] = time.time  # the wall clock: replicas must agree on where windows start
    replica_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    _keys: dict[str, _KeyCounts] = field(default_factory=dict)
    _dirty: set[str] = field(default_factory=set)

    def _counts(self, key_id: str, now: float) -> _KeyCounts:
        window = window_start(now)
        counts = self._keys.get(key_id)
        if counts is None:
            counts = self._keys[key_id] = _KeyCounts(window)
        counts.roll(window)
        return counts

    def admit(self, key_id: str, limit: int) -> Decision:
        """Count one request for `key_id` if the cluster-wide estimate leaves room for it."""
        now = self.clock()
        counts = self._counts(key_id, now)
        elapsed = now - counts.window
        previous = counts.own_previous + counts.others_previous
        current = counts.own_current + counts.others_current
        estimate = sliding_estimate(previous=previous, current=current, elapsed=elapsed)
        if estimate + 1 > limit:
            wait = seconds_until_admitted(previous=previous, current=current, elapsed=elapsed, limit=limit)
            return Decision(False, limit, 0, max(1, math.ceil(wait)))
        counts.own_current += 1
        self._dirty.add(key_id)
        remaining = max(0, math.floor(limit - estimate - 1))
        return Decision(True, limit, remaining, max(1, math.ceil(WINDOW_SECONDS - elapsed)))

    async def sync(self, database: Database) -> None:
        """Write this replica's changed counts and read everyone's, in one short transaction."""
        now = self.clock()
        current = window_start(now)
        rows: list[tuple[str, int, int]] = []
        for key_id in sorted(self._dirty):  # one lock order for every writer
            counts = self._counts(key_id, now)
            if counts.own_previous != counts.written_previous:
                rows.append((key_id, current - WINDOW_SECONDS, counts.own_previous))
            rows.append((key_id, current, counts.own_current))
        table = rate_limit_counts.c
        async with database.session() as session:
            if rows:
                await session.execute(_upsert(database, self.replica_id, rows))
            totals = await session.execute(
                select(table.key_id, table.window_start, func.sum(table.count))
                .where(table.window_start >= current - WINDOW_SECONDS)
                .group_by(table.key_id, table.window_start)
            )
            await session.commit()
        self._learn(rows, [(str(k), int(w), int(n)) for k, w, n in totals])

    def _learn(self, written: list[tuple[str, int, int]], totals: list[tuple[str, int, int]]) -> None:
        now = self.clock()  # windows may have rolled while the transaction ran
        current = window_start(now)
        for key_id, window, count in written:
            counts = self._counts(key_id, now)
            if window == current:
                counts.written_current = count
            elif window == current - WINDOW_SECONDS:
                counts.written_previous = count
            if (counts.own_current, counts.own_previous) == (counts.written_current, counts.written_previous):
                self._dirty.discard(key_id)  # else requests counted during the transaction: next time
        cluster = {(key_id, window): total for key_id, window, total in totals}
        for key_id in {key_id for key_id, _, _ in totals} | set(self._keys):
            counts = self._counts(key_id, now)
            counts.others_current = max(0, cluster.get((key_id, current), 0) - counts.written_current)
            previous = cluster.get((key_id, current - WINDOW_SECONDS), 0)
            counts.others_previous = max(0, previous - counts.written_previous)
        for key_id in [key_id for key_id, counts in self._keys.items() if counts.idle]:
            del self._keys[key_id]
            self._dirty.discard(key_id)

    async def prune(self, database: Database) -> None:
        """Delete windows too old to matter to any replica."""
        oldest = window_start(self.clock()) - WINDOW_SECONDS
        async with database.session() as session:
            await session.execute(delete(rate_limit_counts).where(rate_limit_counts.c.window_start < oldest))
            await session.commit()


def window_start(now: float) -> int:
    return int(now // WINDOW_SECONDS) * WINDOW_SECONDS


def _upsert(database: Database, replica_id: str, rows: list[tuple[str, int, int]]) -> Insert:
    """One statement for all rows; absolute counts make a repeated write harmless."""
    values = [{"key_id": k, "window_start": w, "replica_id": replica_id, "count": n} for k, w, n in rows]
    statement = (sqlite_insert if database.is_sqlite else pg_insert)(rate_limit_counts).values(values)
    return statement.on_conflict_do_update(
        index_elements=["key_id", "window_start", "replica_id"], set_={"count": statement.excluded.count}
    )


class RateLimitSync:
    """The runtime component sharing one replica's counts every `interval` seconds.

    Off on SQLite (the embedded mode is one process: its own count is the whole count) and when the
    interval is 0. A failing sync never fails a request: admission goes on with what the replica knows.
    """

    def __init__(self, *, limiter: RateLimiter, database: Database, interval: float) -> None:
        self.limiter, self.database, self.interval = limiter, database, interval
        self.enabled = interval > 0 and not database.is_sqlite
        self._task: asyncio.Task[None] | None = None
        self._failing_since: float | None = None
        self._last_warning = 0.0
        self._pruned_window = 0

    async def start(self) -> None:
        if self.enabled:
            self._task = asyncio.create_task(self._run(), name="rate-limit-sync")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        # Hand the last counts over to the replicas that stay, but never hold up a stop on a dead database.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_SYNC_SECONDS):
                await self.run_once()

    async def _run(self) -> None:
        while True:  # a sync first: a replica that just started learns what the others already admitted
            await self.run_once()
            await asyncio.sleep(self.interval)

    async def run_once(self) -> None:
        """One sync (and, once per window, a prune); failures are logged, at most once a minute."""
        try:
            await self.limiter.sync(self.database)
            window = window_start(self.limiter.clock())
            if window != self._pruned_window:
                await self.limiter.prune(self.database)
                self._pruned_window = window
        except Exception as error:
            self._failed(error)
        else:
            if self._failing_since is not None:
                log.info("rate limit sync recovered after %.0fs", time.monotonic() - self._failing_since)
                self._failing_since = None

    def _failed(self, error: Exception) -> None:
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        elif now - self._last_warning < FAILURE_LOG_SECONDS:
            return
        self._last_warning = now
        log.warning("rate limit sync failed, each replica limits on its own counts meanwhile: %r", error)
