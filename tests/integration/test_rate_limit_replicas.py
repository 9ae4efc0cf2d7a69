"""Per-key rate limits across replicas on real PostgreSQL: two replicas together admit about the limit.

A replica learns what another admitted within two sync intervals (T), the other's next write then its
own next read. So two replicas may together admit the limit plus whatever one of them admits in about 2T,
and never 2x. The first test holds the per-round overshoot exactly on a controlled clock; the live test
holds the promise that does not depend on the machine's speed (a loaded 2-core CI machine delays the
sync loop, and with it the overshoot, but never lets two replicas admit what two isolated ones would).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from shared.db import Database
from shared.errors import ProblemError
from shared.migrations import upgrade_to_head
from shared.web.auth import Authenticator, Principal, Scope
from shared.web.rate_limit import RateLimiter, RateLimitSync
from tests.integration.router.replicas import Replica, router_replicas

pytestmark = pytest.mark.integration
WINDOW = 1_800_000_000


@pytest.fixture
async def database(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    await upgrade_to_head(database, Path(importlib.import_module("services.router.bootstrap").MIGRATIONS))
    yield database
    await database.dispose()


def replica(database: Database, clock: list[float]) -> tuple[Authenticator, RateLimitSync]:
    limiter = RateLimiter(clock=lambda: clock[0])
    authenticator = Authenticator(database=database, secret="s", admin_key=None, limiter=limiter)
    return authenticator, RateLimitSync(limiter=limiter, database=database, interval=1.0)


def admitted(authenticator: Authenticator, principal: Principal, requests: int) -> int:
    count = 0
    for _ in range(requests):
        with contextlib.suppress(ProblemError):  # only 429 can come out of meter
            authenticator.meter(principal)
            count += 1
    return count


async def test_two_replicas_syncing_in_rounds_admit_the_limit_plus_at_most_one_rounds_share(
    database: Database,
) -> None:
    clock = [WINDOW + 1.0]
    replicas = [replica(database, clock) for _ in range(2)]
    principal = Principal("k1", "test", frozenset({Scope.OPS}), None, rate_limit_per_minute=95)
    per_round, total = 10, 0
    for _ in range(12):  # 240 requests offered in 12 rounds of the same minute: 2.5x the limit
        total += sum(admitted(authenticator, principal, per_round) for authenticator, _ in replicas)
        for _, sync in replicas:
            await sync.run_once()
        clock[0] += 0.5
    # Without sharing each replica would admit 95 (190); with it the overshoot is the other's last round.
    assert 95 <= total <= 95 + per_round


@pytest.fixture
async def routers(tmp_path: Path, pg_url: str) -> AsyncIterator[list[Replica]]:
    async with router_replicas(tmp_path, pg_url, rate_limit_sync_ms=50) as started:
        yield started


async def test_two_router_replicas_together_admit_about_a_keys_limit(
    routers: list[Replica],
) -> None:
    # A count, not a duration: a loaded machine sends fewer requests per second, and the test needs more
    # than two replicas limiting alone would admit (2 x limit). The limiter's window slides over a minute,
    # so however long the sending takes on a slow machine, nearly all of it counts.
    limit, per_caller = 120, 45
    issued = await routers[0][1].post(
        "/v1/api-keys", json={"name": "ivr", "scopes": ["ops"], "rate_limit_per_minute": limit}
    )
    headers = {"Authorization": f"Bearer {issued.json()['key']}"}

    async def hammer(client: httpx.AsyncClient) -> tuple[int, int]:
        ok = 0
        for _ in range(per_caller):
            response = await client.get("/v1/agents", headers=headers)
            ok += response.status_code != 429
        return per_caller, ok

    # Four callers per replica, as a contact center's IVR ports would be.
    results = await asyncio.gather(*(hammer(client) for _, client in routers for _ in range(4)))
    per_replica = [tuple(map(sum, zip(*results[i * 4 : i * 4 + 4], strict=True))) for i in range(2)]
    admitted_total = sum(ok for _, ok in per_replica)
    print(f"offered {[s for s, _ in per_replica]}, admitted {[a for _, a in per_replica]}, limit {limit}")
    assert sum(sent for sent, _ in per_replica) > 2 * limit  # two replicas limiting alone would admit 2x
    # The live bound is the design's promise, not a function of this machine's speed: at least the limit,
    # and less than two replicas limiting alone (each admitting the whole limit) would let through. How
    # close to the limit the total stays depends on how promptly the sync runs on a loaded machine; the
    # exact overshoot per sync round is held by the test above, on a clock the test controls.
    assert limit <= admitted_total < 2 * limit
