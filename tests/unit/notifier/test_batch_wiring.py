"""The notifier's consumer encodes the reports waiting in a partition in one batch (decision 0036), and still
receives each report once: a redelivered event, and an encoder whose batches fail, included."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import func, select

from services.notifier.detection.embedding import MeaningEncoder, report_text
from services.notifier.reports.models import Report
from shared.events.catalogue import TicketOpened
from shared.events.envelope import CloudEvent, encode
from shared.events.topics import TICKETS
from tests.factories import ticket_opened
from tests.unit.notifier.conftest import Notifier, NotifierFactory


class Watched:
    """The loaded encoder, with a note of what it is asked to encode alone and in batches."""

    def __init__(self, inner: MeaningEncoder, *, failing_batches: bool = False) -> None:
        self.inner = inner.encoder
        self.name, self.dimension = self.inner.name, self.inner.dimension
        self.failing_batches = failing_batches
        self.alone: list[str] = []
        self.batches: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.alone.extend(texts)
        return self.inner.encode(texts)

    def encode_batch(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.batches.append(list(texts))
        if self.failing_batches:
            raise RuntimeError("the packed graph is broken")
        return self.inner.encode_batch(texts)


def tickets_on_one_partition(count: int) -> list[TicketOpened]:
    """Tickets whose events share a partition, so that they wait in it together."""
    found: list[TicketOpened] = []
    while len(found) < count:
        ticket = ticket_opened(subject=f"Checkout fails with error {len(found) + 500}", description="since today")
        key = encode(ticket.to_cloudevent()).key
        if key is not None and zlib.crc32(key) % TICKETS.partitions == 0:
            found.append(ticket)
    return found


async def watched_notifier(
    make_notifier: NotifierFactory, monkeypatch: pytest.MonkeyPatch, *, failing_batches: bool = False
) -> tuple[Notifier, Watched]:
    notifier = await make_notifier(detection_encoder="wordllama")
    meaning = MeaningEncoder.named("wordllama")
    assert meaning is not None
    watched = Watched(meaning, failing_batches=failing_batches)
    monkeypatch.setattr(meaning, "encoder", watched)  # the process's one encoder; put back after the test
    return notifier, watched


async def publish_together(notifier: Notifier, envelopes: list[CloudEvent]) -> None:
    """Append every record before the consumer looks, as a fetch would bring them, and wait until handled."""
    await notifier.bus.publish(notifier.settings.topic(TICKETS.name), envelopes)
    await notifier.bus.wait_idle(timeout=120)


async def reports_per_ticket(notifier: Notifier) -> dict[object, int]:
    async with notifier.runtime.database.session() as session:
        rows = await session.execute(select(Report.ticket_id, func.count().label("reports")).group_by(Report.ticket_id))
        return {row.ticket_id: row.reports for row in rows.all()}


async def test_reports_waiting_together_are_encoded_in_one_batch_and_a_redelivered_one_received_once(
    make_notifier: NotifierFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    notifier, watched = await watched_notifier(make_notifier, monkeypatch)
    tickets = tickets_on_one_partition(5)
    envelopes = [ticket.to_cloudevent() for ticket in tickets]
    await publish_together(notifier, [*envelopes, envelopes[1]])  # the outbox relay sent one event twice
    assert watched.batches == [[report_text(t.subject, t.description) for t in tickets]]
    assert watched.alone == []  # every report took its vector from the batch
    assert await reports_per_ticket(notifier) == {t.ticket_id: 1 for t in tickets}


async def test_reports_whose_batch_failed_are_each_encoded_alone_and_received_once(
    make_notifier: NotifierFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    notifier, watched = await watched_notifier(make_notifier, monkeypatch, failing_batches=True)
    tickets = tickets_on_one_partition(4)
    await publish_together(notifier, [ticket.to_cloudevent() for ticket in tickets])
    assert len(watched.batches) == 1
    assert watched.alone == [report_text(t.subject, t.description) for t in tickets]
    assert await reports_per_ticket(notifier) == {t.ticket_id: 1 for t in tickets}
