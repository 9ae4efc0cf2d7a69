"""A look at the records a fetch brought, before they are delivered one by one.

Some work is cheaper for many events at once than for each alone: the notifier's sentence encoder reads
32 short reports in a third less CPU per report than one by one (docs/decisions/0036). A handler that can
do such work ahead is a PreparingHandler; an adapter calls `prepare` with the next records of a
partition, then delivers each record as always: its own handler call, its own transaction and inbox row,
its own offset commit. The preparation only computes (it writes nothing a crash could leave half done), so
whatever it prepared and is lost, a record redelivered after a crash is simply prepared again or handled
alone, and nothing is lost or done twice. A preparation that fails is logged and ignored: delivery goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from shared.bus.port import Handler, Record, Subscription
from shared.events.envelope import CloudEvent, MalformedEvent, from_kafka

log = logging.getLogger(__name__)

# Records prepared together. More would hold the first of them back for the whole batch's work (32 reports
# are about half a second of MPNet on one core) for a saving that no longer grows (decision 0036).
BATCH_RECORDS = 32

Prepare = Callable[[Sequence[CloudEvent]], Awaitable[None]]


class PreparingHandler:
    """A bus handler, and the work it can do ahead for several events at once."""

    def __init__(self, handler: Handler, prepare: Prepare) -> None:
        self.handler, self.prepare = handler, prepare

    async def __call__(self, event: CloudEvent) -> None:
        await self.handler(event)


def prepares(subscription: Subscription) -> bool:
    """Whether the subscription's handler does work ahead: an adapter whose handler does not delivers
    exactly as it did before batching existed, without slicing or decoding anything twice."""
    return isinstance(subscription.handler, PreparingHandler)


async def prepare(subscription: Subscription, records: Sequence[Record]) -> None:
    """Let the subscription's handler prepare for these records (at most BATCH_RECORDS), if it can.

    What an adapter calls before delivering each BATCH_RECORDS-th record of a partition's fetch, with it and
    the ones after it. Never raises, except for cancellation."""
    handler = subscription.handler
    if not isinstance(handler, PreparingHandler) or len(records) < 2:
        return  # one record is handled as it comes: nothing to share
    events: list[CloudEvent] = []
    for record in records[:BATCH_RECORDS]:
        try:
            events.append(from_kafka(record.value, record.headers))
        except MalformedEvent:
            continue  # delivery dead-letters it
    try:
        await handler.prepare(events)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.warning(
            "preparing %d events failed; each is handled alone",
            len(events),
            exc_info=True,
            extra={"group": subscription.group},
        )
