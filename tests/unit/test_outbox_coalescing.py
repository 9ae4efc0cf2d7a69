"""The relay's adaptive coalescing: a stream of commits is gathered into fewer, longer-paused cycles (up to a
bound), and a commit after a quiet spell is published after the short pause again (decision 0046).

No clock is asserted on: the pause is recorded instead of slept, and the commits "arriving during" a pause or a
publish are made by the test at exactly those points, so the counts do not depend on the machine's load.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from shared.bus.memory import InMemoryBus
from shared.db import Database
from shared.events.envelope import from_kafka
from shared.events.topics import TICKETS
from shared.messaging.outbox import OutboxRelay, add_events
from shared.metrics import ServiceMetrics
from tests.conftest import wait_until
from tests.factories import ticket_opened

# Pauses far above any scheduling stall, so "the relay sat idle longer than the pause" is never true by accident
# during the stream; they are recorded, never slept.
BASE, BOUND = 1.0, 4.0
STREAM_CYCLES = 6


@pytest.fixture
async def bus() -> AsyncIterator[InMemoryBus]:
    bus = InMemoryBus([TICKETS])
    yield bus
    await bus.stop()


async def test_a_stream_of_commits_lengthens_the_pause_to_its_bound_and_a_lone_commit_gets_the_short_one(
    messaging_db: Database, bus: InMemoryBus
) -> None:
    # Polls every 50 ms when nothing wakes it: the quiet spell after the stream is one such poll.
    relay = OutboxRelay(
        database=messaging_db,
        bus=bus,
        metrics=ServiceMetrics("test"),
        poll_interval=0.05,
        coalesce=BASE,
        coalesce_max=BOUND,
    )
    ticket = uuid.uuid4()  # one key, one partition: the bus's order is the publish order
    staged: list[str] = []
    pauses: list[float] = []  # one per cycle a commit woke
    streaming = True
    polls_after_stream = 0

    async def commit() -> None:
        async with messaging_db.session() as session:
            staged.extend(e.id for e in await add_events(session, ticket_opened(ticket_id=ticket)))
            await session.commit()

    async def gather(pause: float) -> None:
        pauses.append(pause)
        if streaming:
            await commit()  # two commits land while the relay pauses
            await commit()

    publish = relay.publish_batch

    async def publish_then_commit() -> int:
        nonlocal polls_after_stream
        published = await publish()
        if streaming and len(pauses) < STREAM_CYCLES:
            await commit()  # and one while it publishes: it wakes the relay for the next cycle
        elif not streaming:
            polls_after_stream += 1
        return published

    async def stream_done() -> bool:
        return len(pauses) >= STREAM_CYCLES and await relay.pending() == 0

    async def polled_since() -> bool:
        return polls_after_stream > 0

    async def lone_published() -> bool:
        return len(pauses) > STREAM_CYCLES and await relay.pending() == 0

    relay._gather = gather  # type: ignore[method-assign]
    relay.publish_batch = publish_then_commit  # type: ignore[method-assign]
    await relay.start()
    try:
        await commit()
        await wait_until(stream_done, timeout=60)
        stream_commits, stream_pauses = len(staged), list(pauses)
        streaming = False
        await wait_until(polled_since, timeout=60)  # a quiet spell: the relay polled, no commit woke it
        await commit()
        await wait_until(lone_published, timeout=60)
    finally:
        await relay.stop()

    assert stream_commits == 1 + 3 * STREAM_CYCLES - 1
    assert len(stream_pauses) == STREAM_CYCLES < stream_commits, "each cycle carried several commits"
    assert stream_pauses == [BASE, 2 * BASE, 4 * BASE, BOUND, BOUND, BOUND], "doubled per busy cycle, then bounded"
    assert pauses[len(stream_pauses) :] == [BASE], "after a quiet spell, a lone commit waits the short pause"
    published = [from_kafka(r.value, r.headers).id for r in bus.records(TICKETS.name)]
    assert published == staged, "every event once, in commit order"


async def test_without_a_bound_above_the_pause_coalescing_is_fixed_as_before(messaging_db: Database) -> None:
    relay = OutboxRelay(
        database=messaging_db, bus=InMemoryBus([TICKETS]), metrics=ServiceMetrics("test"), coalesce=0.01
    )
    assert relay.coalesce_max == 0.05
    fixed = OutboxRelay(
        database=messaging_db,
        bus=InMemoryBus([TICKETS]),
        metrics=ServiceMetrics("test"),
        coalesce=0.02,
        coalesce_max=0.0,
    )
    assert fixed.coalesce_max == fixed.coalesce == 0.02, "a bound below the pause is the pause: nothing grows"
