"""The notifier's consumer with its reports' sentence encoding done in micro-batches: CPU per ticket.

Issue 23 aim 1: MPNet is most of the pipeline's CPU per ticket. The consumer may encode the reports a fetch
brought in one batch (shared/bus/batching.py, decision 0036) and then handle each in its own transaction
as before. This bench hands TicketOpened events to the notifier's real event dispatcher (inbox, detection,
clustering; SQLite, in-process) as the consumer would: `prepare_opened` on each batch of B records, then
each record alone. B = 1 is today's path (no preparation). Measured as CPU time of this process per ticket
(the encoder's thread included), the batch sizes taking turns round by round so that a change in the
machine's load hits them alike. Two kinds of text: BANKING77 questions (short: 10-30 tokens) and Hadoop bug
reports (long: the 64-token cut). `python -m bench.notifier_batch [--quick]`.
"""

from __future__ import annotations

import asyncio
import csv
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime

from bench.banking77 import DEFAULT_DATA, load_split
from bench.notifier_quality import GITBUGS, notifier
from bench.report import table
from services.notifier.consumers.tickets import prepare_opened
from services.notifier.detection.embedding import MeaningEncoder, report_text
from services.notifier.settings import NotifierSettings
from shared import blas
from shared.bus.batching import BATCH_RECORDS
from shared.events.catalogue import TicketOpened
from shared.events.envelope import CloudEvent

BATCHES = (1, 8, BATCH_RECORDS)


def texts(kind: str) -> list[tuple[str, str]]:
    """(subject, description) pairs: BANKING77's test questions, or Hadoop reports' summary and description."""
    if kind == "short":
        found = [(text, "") for text, _ in load_split(DEFAULT_DATA / "test.csv")]
    else:
        with (GITBUGS / "hadoop_bugs.csv").open(encoding="utf-8") as file:
            found = [(row["Summary"] or "", row["Description"] or "") for row in csv.DictReader(file)]
    random.Random(23).shuffle(found)
    return found


def opened(subject: str, description: str, rng: random.Random) -> CloudEvent:
    return TicketOpened(
        ticket_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        customer_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        channel="web",
        subject=(" ".join(subject.split()) or "(no subject)")[:300],
        description=description[:20_000],
        priority="normal",
        opened_at=datetime.now(UTC),
    ).to_cloudevent()


async def measure(quick: bool) -> str:
    per_round = 32 if quick else 96  # tickets per batch size and round, a multiple of every batch size
    rounds = 2 if quick else 4
    rows: list[list[str]] = []
    async with notifier(detection_encoder="mpnet") as (_, _, runtime):
        dispatcher = runtime.consumers[0].dispatcher
        settings = runtime.settings
        assert isinstance(settings, NotifierSettings)
        meaning = MeaningEncoder.named("mpnet")
        assert meaning is not None
        encoder = meaning.encoder
        rng = random.Random(1)
        for kind in ("short", "long"):
            pool = iter(texts(kind))
            cpu: dict[int, list[float]] = {batch: [] for batch in BATCHES}
            encoding: dict[int, list[float]] = {batch: [] for batch in BATCHES}
            warm = [opened(*next(pool), rng) for _ in range(8)]
            await prepare_opened(warm, settings=settings)  # MPNet's first runs, and SQLite's first pages
            for event in warm:
                await dispatcher(event)
            for round_ in range(rounds):
                order = BATCHES if round_ % 2 == 0 else tuple(reversed(BATCHES))
                for batch in order:
                    events = [opened(*next(pool), rng) for _ in range(per_round)]
                    started = time.process_time()
                    for start in range(0, per_round, batch):
                        records = events[start : start + batch]
                        if batch > 1:
                            await prepare_opened(records, settings=settings)
                        for event in records:
                            await dispatcher(event)
                    cpu[batch].append((time.process_time() - started) / per_round * 1000)
                    # The encoder alone, on other texts of the kind: what batching changes. In a thread, as
                    # the consumer runs it: the event loop's background work (relay, deliveries) goes on.
                    chunks = [[report_text(*next(pool)) for _ in range(batch)] for _ in range(per_round // batch)]
                    started = time.process_time()
                    for chunk in chunks:
                        await asyncio.to_thread(encoder.encode if batch == 1 else encoder.encode_batch, chunk)
                    encoding[batch].append((time.process_time() - started) / per_round * 1000)
            alone, encoded_alone = statistics.median(cpu[1]), statistics.median(encoding[1])
            for batch in BATCHES:
                median, encoded = statistics.median(cpu[batch]), statistics.median(encoding[batch])
                rows.append(
                    [
                        kind,
                        str(batch),
                        f"{median:.1f}",
                        " / ".join(f"{value:.1f}" for value in cpu[batch]),
                        f"{median / alone:.2f}",
                        f"{encoded:.1f}",
                        f"{encoded / encoded_alone:.2f}",
                    ]
                )
    header = [
        "texts",
        "batch",
        "consumer CPU ms/ticket (median)",
        "each round",
        "vs batch 1",
        "encoder alone ms/text",
        "vs batch 1",
    ]
    notes = (
        f"\n{rounds} rounds of {per_round} tickets per batch size and kind of text; MPNet int8, one thread "
        "(shared/blas.py); the notifier on SQLite in this process. CPU is this process's (time.process_time): "
        "encoding, detection, clustering and the inbox, not SQLite's disk or another process.\n"
    )
    return table(header, rows) + notes


def run(quick: bool) -> str:
    blas.use_one_thread()
    return asyncio.run(measure(quick))


if __name__ == "__main__":
    print(run("--quick" in sys.argv[1:]))
