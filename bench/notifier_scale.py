"""Duplicate detection at scale: a window of up to 1,000,000 reports in PostgreSQL.

The window is bulk-loaded with synthetic reports (words drawn from a Zipf distribution over a 30,000-word
vocabulary, as natural text is; opened over the last 7 days), indexed exactly as the consumer indexes them.
Then new reports go through the real intake (`receive_report`: lock, index, candidates, re-score, cluster,
commit) one at a time, and `find_similar` (what GET /v1/tickets/{id}/similar runs) is timed on them. The
window grows 10k -> 100k -> 1M in one database, so the latency at each size is comparable.

Bounded work: each report reads at most index_query_terms x index_postings_per_term postings (16 x 200)
and re-scores detection_candidates (50), whatever the window holds. Bounded memory: the index is
in PostgreSQL; the process holds one report's vectors at a time (its RSS is reported at each size).

    python -m bench.notifier_scale [--quick]      # needs PostgreSQL (make up; source var/stack.env)
"""

from __future__ import annotations

import asyncio
import math
import os
import resource
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.report import table
from services.notifier.bootstrap import MIGRATIONS
from services.notifier.detection import service as detection_service
from services.notifier.detection.index import lock_detection
from services.notifier.detection.models import DOCUMENT_COUNT_TERM
from services.notifier.detection.similarity import ReportVector
from services.notifier.detection.text import spelling_vector, term_counts, weigh
from services.notifier.problems import service as problem_service
from services.notifier.reports import service as report_service
from services.notifier.settings import NotifierSettings
from shared.db import Database
from shared.events.catalogue import TicketOpened
from shared.migrations import upgrade_to_head

DATABASE_TEMPLATE = os.environ.get(
    "FIRSTCALL_DATABASE_URL", "postgresql+asyncpg://firstcall:firstcall@127.0.0.1:55432/firstcall_{service}"
)
VOCABULARY = 30_000
CHUNK = 20_000
SAMPLES = 200
WINDOW = timedelta(days=7)


class Corpus:
    """Synthetic reports whose word frequencies follow Zipf's law, reproducibly."""

    def __init__(self, seed: int = 42) -> None:
        # One vocabulary for every corpus (new reports speak the window's language); `seed` varies the texts.
        vocabulary_rng = np.random.default_rng(42)
        self.rng = np.random.default_rng(seed)
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
        words = {
            "".join(vocabulary_rng.choice(letters, size=int(vocabulary_rng.integers(4, 10))))
            for _ in range(VOCABULARY * 2)
        }
        self.words = np.array(sorted(words)[:VOCABULARY])
        ranks = np.arange(1, len(self.words) + 1)
        self.p = (1 / ranks**1.07) / np.sum(1 / ranks**1.07)

    def report(self) -> tuple[str, str]:
        subject = " ".join(self.rng.choice(self.words, size=6, p=self.p))
        description = " ".join(self.rng.choice(self.words, size=int(self.rng.integers(10, 40)), p=self.p))
        return subject, description


def settings() -> NotifierSettings:
    return NotifierSettings(environment="test", log_level="WARNING")


async def create_database(name: str) -> str:
    url = make_url(DATABASE_TEMPLATE.replace("{service}", "x"))
    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database="postgres"
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def drop_database(name: str) -> None:
    url = make_url(DATABASE_TEMPLATE.replace("{service}", "x"))
    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database="postgres"
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def bulk_load(url: str, corpus: Corpus, count: int, idf: dict[int, float], now: datetime) -> None:
    """Append `count` indexed reports with COPY, as the consumer would have indexed them one by one."""
    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, password=parsed.password, database=parsed.database
    )
    try:
        for start in range(0, count, CHUNK):
            reports: list[tuple[object, ...]] = []
            postings: list[tuple[int, datetime, uuid.UUID, float]] = []
            seen: Counter[int] = Counter()
            for _ in range(min(CHUNK, count - start)):
                subject, description = corpus.report()
                counts = term_counts(subject, description)
                vector = ReportVector(weigh(counts, idf), spelling_vector(subject, description))
                ticket_id = uuid.uuid4()
                opened = now - WINDOW * float(corpus.rng.random())
                reports.append(
                    (
                        ticket_id,
                        uuid.uuid4(),
                        "web",
                        f"{subject}\n{description}",
                        opened,
                        now,
                        subject,
                        vector.to_bytes(),
                    )
                )
                postings.extend(
                    (int(t), opened, ticket_id, float(w))
                    for t, w in zip(vector.words.terms.tolist(), vector.words.weights.tolist(), strict=True)
                )
                seen.update(vector.words.terms.tolist())
            await connection.copy_records_to_table(
                "reports",
                records=reports,
                columns=[
                    "ticket_id",
                    "customer_id",
                    "channel",
                    "text",
                    "opened_at",
                    "received_at",
                    "subject",
                    "features",
                ],
            )
            await connection.copy_records_to_table(
                "report_terms", records=postings, columns=["term", "opened_at", "ticket_id", "weight"]
            )
            seen[DOCUMENT_COUNT_TERM] = len(reports)
            await connection.executemany(
                "INSERT INTO term_stats (term, reports) VALUES ($1, $2) "
                "ON CONFLICT (term) DO UPDATE SET reports = term_stats.reports + EXCLUDED.reports",
                list(seen.items()),
            )
        await connection.execute("VACUUM ANALYZE")  # what autovacuum does for a live window
    finally:
        await connection.close()


def rarity(corpus: Corpus, sample: int = 20_000) -> dict[int, float]:
    """Inverse document frequencies estimated on a sample (the corpus is stationary)."""
    df: Counter[int] = Counter()
    for _ in range(sample):
        df.update(term_counts(*corpus.report()).keys())
    return {t: math.log((sample + 1) / (n + 1)) + 1.0 for t, n in df.items()}


async def measure(
    database: Database, corpus: Corpus, config: NotifierSettings
) -> tuple[list[float], list[float], list[float], int]:
    """Per new report (ms): detection (index + candidates + re-scoring), the whole intake (detection, then
    clustering, problem events and commit), and find_similar afterwards; and how many joined a cluster.

    The intake runs the steps of `reports.service.receive_report`, in its order and transaction, with a
    clock between detection and the rest."""
    detection_times, intake_times, similar_times, clustered = [], [], [], 0
    detection = detection_service.DetectionConfig.from_settings(config)
    for _ in range(SAMPLES):
        subject, description = corpus.report()
        event = TicketOpened(
            ticket_id=uuid.uuid4(),
            customer_id=uuid.uuid4(),
            channel="web",
            subject=subject,
            description=description,
            priority="normal",
            opened_at=datetime.now(UTC),
        )
        started = time.perf_counter()
        async with database.session() as session:
            await lock_detection(session)
            report = await report_service.record_report(session=session, event=event)
            vector = await detection_service.index_report(session=session, report=report, description=description)
            matches = await detection_service.neighbours(
                session=session, report=report, vector=vector, config=detection
            )
            detected = time.perf_counter()
            problem = await problem_service.place_report(
                session=session, report=report, matches=matches, settings=config
            )
            await session.commit()
        finished = time.perf_counter()
        detection_times.append((detected - started) * 1000)
        intake_times.append((finished - started) * 1000)
        clustered += problem is not None
        started = time.perf_counter()
        async with database.session() as session:
            await detection_service.find_similar(session=session, report=report, k=10, config=detection)
        similar_times.append((time.perf_counter() - started) * 1000)
    return detection_times, intake_times, similar_times, clustered


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


async def run_async(quick: bool) -> str:
    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    name = f"fc_bench_notifier_{uuid.uuid4().hex[:8]}"
    url = await create_database(name)
    database = Database(url)
    rows = []
    try:
        await upgrade_to_head(database, Path(MIGRATIONS))
        corpus, config = Corpus(), settings()
        idf = rarity(corpus)
        loaded = 0
        for size in sizes:
            started = time.perf_counter()
            await bulk_load(url, corpus, size - loaded, idf, datetime.now(UTC))
            load_seconds = time.perf_counter() - started
            loaded = size
            await measure(database, Corpus(seed=size), config)  # warm the caches
            detection, intake, similar, clustered = await measure(database, Corpus(seed=size + 1), config)
            async with database.session() as session:
                index_bytes = await session.scalar(text("SELECT pg_total_relation_size('report_terms')"))
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            rows.append(
                [
                    f"{size:,}",
                    f"{statistics.median(detection):.1f}",
                    f"{percentile(detection, 95):.1f}",
                    f"{percentile(detection, 99):.1f}",
                    f"{statistics.median(intake):.1f}",
                    f"{percentile(intake, 95):.1f}",
                    f"{percentile(intake, 99):.1f}",
                    f"{statistics.median(similar):.1f}",
                    f"{percentile(similar, 99):.1f}",
                    f"{clustered / SAMPLES:.0%}",
                    f"{(index_bytes or 0) / 2**20:,.0f}",
                    f"{rss_mb:,.0f}",
                    f"{load_seconds:,.0f}",
                ]
            )
    finally:
        await database.dispose()
        await drop_database(name)
    return "\n".join(
        [
            "## notifier_scale: finding duplicates in a window of up to 1M reports (PostgreSQL)",
            "",
            f"{SAMPLES} new reports at each window size, one at a time, after a warm-up of as many.",
            "",
            table(
                [
                    "window",
                    "detection p50 ms",
                    "detection p95 ms",
                    "detection p99 ms",
                    "intake p50 ms",
                    "intake p95 ms",
                    "intake p99 ms",
                    "similar p50 ms",
                    "similar p99 ms",
                    "joined a cluster",
                    "index MB",
                    "process max RSS MB",
                    "load s",
                ],
                rows,
            ),
            "",
            "- detection = advisory lock, store and index the report, candidates from the index, exact "
            "re-scoring; intake = detection + clustering (problem events, acknowledgements) + commit; "
            "similar = GET /v1/tickets/{id}/similar's work.",
            f"- The work per report is bounded ({config.index_query_terms} terms x {config.index_postings_per_term} "
            f"postings, {config.detection_candidates} re-scored), so latency stays flat as the window grows; the "
            "index lives in PostgreSQL, so the process's memory does not grow with it.",
            "",
        ]
    )


def run(quick: bool) -> str:
    """The Markdown section of this benchmark."""
    return asyncio.run(run_async(quick))


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
