"""shared/bus/batching.py: a handler prepares for a fetch's records, then each is delivered alone."""

from __future__ import annotations

from collections.abc import Sequence

from shared.bus.batching import BATCH_RECORDS, PreparingHandler, prepare
from shared.bus.port import Record, Subscription
from shared.events.envelope import CloudEvent, encode
from tests.factories import ticket_opened


def records(count: int) -> list[Record]:
    found = []
    for offset in range(count):
        encoded = encode(ticket_opened(subject=f"report {offset}").to_cloudevent())
        found.append(Record("tickets", 0, offset, encoded.key, encoded.value, list(encoded.headers), 0))
    return found


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.prepared: list[list[str]] = []
        self.handled: list[str] = []
        self.fail = fail

    async def handle(self, event: CloudEvent) -> None:
        self.handled.append(event.id)

    async def prepare(self, events: Sequence[CloudEvent]) -> None:
        self.prepared.append([event.id for event in events])
        if self.fail:
            raise RuntimeError("the encoder is broken")


def subscription(handler: object) -> Subscription:
    return Subscription(group="notifier", topics=["tickets"], handler=handler, dead_letter_topic="dlt")  # type: ignore[arg-type]


async def test_a_preparing_handler_sees_the_batch_decoded_and_is_still_called_per_event() -> None:
    recorder = Recorder()
    handler = PreparingHandler(recorder.handle, recorder.prepare)
    batch = records(3)
    malformed = Record("tickets", 0, 3, None, b"not an event", [], 0)
    await prepare(subscription(handler), [*batch, malformed])
    assert len(recorder.prepared) == 1
    assert len(recorder.prepared[0]) == 3  # the malformed record is left to delivery's dead-lettering
    assert recorder.handled == []  # preparing handles nothing: delivery does, one record at a time
    event = ticket_opened().to_cloudevent()
    await handler(event)
    assert recorder.handled == [event.id]


async def test_a_batch_is_bounded_and_a_single_record_or_plain_handler_is_not_prepared() -> None:
    recorder = Recorder()
    handler = PreparingHandler(recorder.handle, recorder.prepare)
    await prepare(subscription(handler), records(BATCH_RECORDS + 5))
    await prepare(subscription(handler), records(1))
    await prepare(subscription(recorder.handle), records(4))
    assert [len(ids) for ids in recorder.prepared] == [BATCH_RECORDS]


async def test_a_failed_preparation_stops_nothing() -> None:
    recorder = Recorder(fail=True)
    await prepare(subscription(PreparingHandler(recorder.handle, recorder.prepare)), records(2))
    assert len(recorder.prepared) == 1
