"""The notifier encodes a fetch's reports in one batch, and still receives each once (decision 0036)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select

from services.notifier.consumers.tickets import prepare_opened
from services.notifier.detection.embedding import PREPARED_REPORTS, MeaningEncoder, report_text
from services.notifier.reports.models import Report
from tests.factories import ticket_opened
from tests.unit.notifier.conftest import NotifierFactory


class CountingEncoder:
    name = "counting/1"
    dimension = 4

    def __init__(self) -> None:
        self.alone: list[str] = []
        self.batches: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.alone.extend(texts)
        return np.full((len(texts), self.dimension), 0.5, np.float32)

    def encode_batch(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.batches.append(list(texts))
        return np.full((len(texts), self.dimension), 0.5, np.float32)


async def test_prepared_reports_take_their_vector_from_the_batch_once() -> None:
    counting = CountingEncoder()
    encoder = MeaningEncoder(counting)
    await encoder.prepare_reports([("Card declined", "at checkout"), ("Card declined", "at checkout"), ("Fees", "")])
    assert counting.batches == [[report_text("Card declined", "at checkout"), "Fees"]]
    await encoder.encode_report("Card declined", "at checkout")
    await encoder.encode_report("Fees", "")
    assert counting.alone == []
    await encoder.encode_report("Card declined", "at checkout")  # taken already: encoded alone, as before
    assert counting.alone == [report_text("Card declined", "at checkout")]


async def test_reports_prepared_but_never_received_are_bounded() -> None:
    encoder = MeaningEncoder(CountingEncoder())
    await encoder.prepare_reports([(f"report {n}", "") for n in range(PREPARED_REPORTS + 10)])
    assert len(encoder._prepared) == PREPARED_REPORTS


async def test_a_batch_interrupted_half_way_leaves_each_report_received_once(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(detection_encoder="wordllama")
    events = [ticket_opened(subject=f"Login fails on device {n}", description="since the update") for n in range(4)]
    encoder = MeaningEncoder.named("wordllama")
    assert encoder is not None
    await prepare_opened([event.to_cloudevent() for event in events], settings=notifier.settings)
    assert len(encoder._prepared) == 4
    # Two handled, then a crash: the consumer starts again and the whole fetch comes back, prepared again.
    await notifier.publish(*events[:2])
    await prepare_opened([event.to_cloudevent() for event in events], settings=notifier.settings)
    await notifier.publish(*events)
    async with notifier.runtime.database.session() as session:
        counted = await session.execute(select(Report.ticket_id, func.count()).group_by(Report.ticket_id))
        assert sorted(count for _, count in counted.all()) == [1, 1, 1, 1]
        assert {row[0] for row in (await session.execute(select(Report.ticket_id))).all()} == {
            event.ticket_id for event in events
        }
