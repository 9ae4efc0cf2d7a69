"""Duplicate detection at scale: a window of up to 1,000,000 reports in PostgreSQL.

The window (bench/notifier_window.py: synthetic Zipf texts and their term postings; embeddings mixed from
encoded real reports) is bulk-loaded; then the index maintenance runs as the live loop would (learning the centroids for the new
size and filling the model with the window: its time is reported), and new reports go through the real
intake one at a time (Zipf words, and the meaning of a real report the window has not seen): the inbox
row, encode and note the customer (before the lock, as `receive_report` does), then the service's `detect`
(lock, store, index in both indexes, candidates from both, exact re-scoring), clustering, commit; and
`find_similar` (what
GET /v1/tickets/{id}/similar runs) is timed on them. The window grows 10k -> 100k -> 1M in one database,
so the latency at each size is comparable.

Bounded work: each report reads at most index_query_terms x index_postings_per_term term postings (16 x
200) and index_probe_buckets x index_postings_per_bucket embedding postings (8 x 64), and re-scores at
most twice detection_candidates (50 from each index), whatever the window holds. Bounded memory: both
indexes are in PostgreSQL; the process holds one report's vectors and the centroids (1.5 MB at most).

    python -m bench.notifier_scale [--quick] [--keep]   # needs PostgreSQL (make up; source var/stack.env)
    python -m bench.notifier_scale --again NAME [--rounds N]

PostgreSQL's shared_buffers are printed with the table: deploy/postgres.sh gives it a quarter of the
machine's memory, as PostgreSQL's documentation advises, where its compiled-in default is 128 MB.

Each size is measured once its load has been written out (bench.notifier_window.write_out: a CHECKPOINT
and a sync; before 2026-11-24 the 1M row was measured while PostgreSQL's checkpoint and the kernel's
writeback still wrote the 8 GB of the load, for minutes on a slow disk), but with PostgreSQL's buffers as the
load left them: COPY and VACUUM go through a small ring of buffers, so only the warm-up's reports have
brought the window's pages in, where a live window's were written through them.
`--keep` keeps the database (its name is printed) and `--again NAME` measures N more rounds (3) of new
reports on it without loading anything: the latency of a window that has settled. Each round adds its
400 reports to the window. With the whole window in PostgreSQL's buffers (more than a quarter of this
machine's memory holds), prewarmed:

    deploy/postgres.sh stop; FIRSTCALL_PG_SHARED_BUFFERS=10GB deploy/postgres.sh start
    deploy/postgres.sh psql --superuser -d NAME -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm"
    deploy/postgres.sh psql --superuser -d NAME -c "SELECT pg_prewarm(r) FROM unnest(ARRAY['reports',
        'reports_pkey', 'report_terms', 'report_terms_pkey', 'report_buckets', 'report_buckets_pkey']) AS r"
    python -m bench.notifier_scale --again NAME
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import func, select, text

from bench.notifier_window import (
    PROBES,
    Corpus,
    MeaningPool,
    bulk_load,
    create_database,
    database_url,
    drop_database,
    rarity,
    real_texts,
    vacuum,
    write_out,
)
from bench.report import table
from services.notifier.bootstrap import MIGRATIONS
from services.notifier.customers import service as customer_service
from services.notifier.detection import service as detection_service
from services.notifier.detection.maintenance import IndexMaintenance
from services.notifier.detection.models import DetectionModel
from services.notifier.detection.text import spelling_vector, term_counts
from services.notifier.metrics import NotifierMetrics
from services.notifier.problems import service as problem_service
from services.notifier.reports import service as report_service
from services.notifier.reports.models import Report
from services.notifier.settings import NotifierSettings
from shared import blas, heap
from shared.db import Database
from shared.events.catalogue import TicketOpened
from shared.messaging.inbox import claim
from shared.metrics import ServiceMetrics
from shared.migrations import upgrade_to_head

DATABASE_TEMPLATE = os.environ.get(
    "FIRSTCALL_DATABASE_URL", "postgresql+asyncpg://firstcall:firstcall@127.0.0.1:55432/firstcall_{service}"
)
SAMPLES = 200
BENCH_GROUP = "notifier-bench"  # the inbox's consumer group of the bench's intake


def settings() -> NotifierSettings:
    return NotifierSettings(environment="test", log_level="WARNING")


async def measure(
    database: Database, corpus: Corpus, meanings: list[tuple[str, str]], config: NotifierSettings
) -> dict[str, list[float]]:
    """Per new report (ms): encoding (before the lock); detection (under the lock: store, both indexes,
    candidates, exact re-scoring); the whole intake (encoding, detection, then clustering, problem events
    and commit); find_similar.

    A new report has the window's kind of words (`corpus`) and the meaning of a real report the window
    has not seen (`meanings`, encoded live). The intake runs the steps of `reports.service.receive_report`,
    in its order and transaction, with a clock when encoding ends and after detection (`detect`, the
    service's own function: everything under the lock before clustering)."""
    times: dict[str, list[float]] = {"encode": [], "detection": [], "intake": [], "similar": [], "joined": []}
    detection = detection_service.DetectionConfig.from_settings(config)
    for real_subject, real_description in meanings[:SAMPLES]:
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
            # As the event dispatcher does before its handler (shared/messaging/inbox.py): the inbox row
            # begins the transaction, so BEGIN is not sent under the lock.
            await claim(session, BENCH_GROUP, event.to_cloudevent())
            reading_started = time.perf_counter()
            # Read before the lock as `understand` does: the window's kind of words, a real report's meaning.
            encoder = detection.encoder
            meaning = None if encoder is None else await encoder.encode_report(real_subject, real_description)
            reading = detection_service.Reading(
                term_counts(subject, description), spelling_vector(subject, description), meaning
            )
            encoded = time.perf_counter()
            await customer_service.note_customer(
                session=session, customer_id=event.customer_id, name=event.customer_name
            )
            with heap.collector_paused():  # as receive_report does
                locking = time.perf_counter()
                found = await report_service.detect(session=session, event=event, reading=reading, config=detection)
                detected = time.perf_counter()
                report = found.report
                problem = await problem_service.place_report(
                    session=session, report=report, matches=found.matches, settings=config
                )
            await session.commit()
        finished = time.perf_counter()
        times["encode"].append((encoded - reading_started) * 1000)
        times["detection"].append((detected - locking) * 1000)
        times["intake"].append((finished - started) * 1000)
        times["joined"].append(float(problem is not None))
        started = time.perf_counter()
        async with database.session() as session:
            await detection_service.find_similar(session=session, report=report, k=10, config=detection)
        times["similar"].append((time.perf_counter() - started) * 1000)
    return times


async def maintain(database: Database, config: NotifierSettings) -> tuple[float, int]:
    """Let the index maintenance catch up with the loaded window; its seconds and the buckets it learned."""
    maintenance = IndexMaintenance(database=database, settings=config, metrics=NotifierMetrics(ServiceMetrics("b")))
    started = time.perf_counter()
    await maintenance.settle()
    seconds = time.perf_counter() - started
    async with database.session() as session:
        buckets = await session.scalar(select(DetectionModel.buckets).where(DetectionModel.status == "active"))
    return seconds, int(buckets or 0)


def as_served() -> None:
    """Set this process up as a served notifier sets itself up (shared/web/app.py): one BLAS thread
    (shared/blas.py), freed memory kept for reuse (shared/heap.py)."""
    blas.use_one_thread()
    heap.reuse_freed_memory()


def row(
    size: int, times: dict[str, list[float]], *, index_mb: float, buckets: int, load: float, upkeep: float
) -> list[str]:
    def p(name: str, q: float) -> str:
        return f"{float(np.percentile(times[name], q)):.1f}"

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        f"{size:,}",
        f"{statistics.median(times['encode']):.1f} / {p('encode', 99)}",
        f"{statistics.median(times['detection']):.1f} / {p('detection', 95)} / {p('detection', 99)}",
        f"{statistics.median(times['intake']):.1f} / {p('intake', 99)}",
        f"{statistics.median(times['similar']):.1f} / {p('similar', 99)}",
        f"{statistics.mean(times['joined']):.0%}",
        f"{buckets:,}",
        f"{index_mb:,.0f}",
        f"{rss_mb:,.0f}",
        f"{load:,.0f} + {upkeep:,.0f}",
    ]


async def run_async(quick: bool, keep: bool = False) -> str:
    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    name = f"fc_bench_notifier_{uuid.uuid4().hex[:8]}"
    url = await create_database(DATABASE_TEMPLATE, name)
    database = Database(url)
    rows = []
    config = settings()
    as_served()
    written = ""
    try:
        await upgrade_to_head(database, Path(MIGRATIONS))
        corpus = Corpus()
        detection = detection_service.DetectionConfig.from_settings(config)
        pool_texts, probes = real_texts(PROBES * len(sizes))
        pool, idf = MeaningPool(detection.encoder, pool_texts), rarity(corpus)
        loaded = 0
        for step, size in enumerate(sizes):
            held_out = probes[PROBES * step : PROBES * (step + 1)]
            started = time.perf_counter()
            await bulk_load(url, corpus, pool, count=size - loaded, idf=idf, now=datetime.now(UTC))
            load_seconds, loaded = time.perf_counter() - started, size
            upkeep_seconds, buckets = await maintain(database, config)
            await vacuum(url)
            written = await write_out(url)
            heap.settle()  # as a served notifier does once its long-lived state is built (shared/heap.py)
            times = await measure_warm(database, held_out, config, seed=size)
            rows.append(
                row(
                    size,
                    times,
                    index_mb=await index_megabytes(database),
                    buckets=buckets,
                    load=load_seconds,
                    upkeep=upkeep_seconds,
                )
            )
        buffers = await shared_buffers(database)
    finally:
        await database.dispose()
        if keep:
            print(f"kept the window: python -m bench.notifier_scale --again {name}", file=sys.stderr)
        else:
            await drop_database(DATABASE_TEMPLATE, name)
    return summary(rows, config, buffers, written)


async def again_async(name: str, rounds: int) -> str:
    """`rounds` more measurements on a window kept by `--keep`, nothing loaded: each a warm-up and a
    measurement of SAMPLES new reports, as at each size of a full run. Their meanings are those of the
    first size's new reports (every real text was used once; the window holds each of them once), so
    most of them join a cluster: the intake does more than in a full run, detection the same."""
    database = Database(database_url(DATABASE_TEMPLATE, name))
    config = settings()
    as_served()
    rows = []
    try:
        async with database.session() as session:
            size = int(
                await session.scalar(select(func.count()).select_from(Report).where(Report.features.is_not(None))) or 0
            )
            buckets = await session.scalar(select(DetectionModel.buckets).where(DetectionModel.status == "active"))
        _, probes = real_texts(PROBES)
        heap.settle()
        for round_ in range(rounds):
            times = await measure_warm(database, probes, config, seed=10 * round_ + 7)
            index_mb = await index_megabytes(database)
            rows.append(row(size, times, index_mb=index_mb, buckets=int(buckets or 0), load=0, upkeep=0))
            size += 2 * SAMPLES
        buffers = await shared_buffers(database)
    finally:
        await database.dispose()
    return summary(rows, config, buffers)


async def measure_warm(
    database: Database, meanings: list[tuple[str, str]], config: NotifierSettings, *, seed: int
) -> dict[str, list[float]]:
    """`measure` on the second SAMPLES of `meanings` after a warm-up on the first (the caches)."""
    await measure(database, Corpus(seed=seed), meanings[:SAMPLES], config)
    return await measure(database, Corpus(seed=seed + 1), meanings[SAMPLES:], config)


async def index_megabytes(database: Database) -> float:
    async with database.session() as session:
        found = await session.scalar(
            text("SELECT pg_total_relation_size('report_terms') + pg_total_relation_size('report_buckets')")
        )
    return float(found or 0) / 2**20


async def shared_buffers(database: Database) -> str:
    """PostgreSQL's buffers, which decide how much of a large window is read without a system call."""
    async with database.session() as session:
        return str(await session.scalar(text("SHOW shared_buffers")))


def summary(rows: list[list[str]], config: NotifierSettings, buffers: str, written: str = "") -> str:
    """The Markdown section; `written`: how each size's load was written out before it was measured."""
    settled = f" Each size's load written out before it was measured ({written})." if written else ""
    headers = [
        "window",
        "encode p50 / p99 ms",
        "detection p50 / p95 / p99 ms",
        "intake p50 / p99 ms",
        "similar p50 / p99 ms",
        "joined a cluster",
        "buckets",
        "indexes MB",
        "process max RSS MB",
        "load + upkeep s",
    ]
    return "\n".join(
        [
            "## notifier_scale: finding duplicates in a window of up to 1M reports (PostgreSQL)",
            "",
            f"{SAMPLES} new reports at each window size, one at a time, after a warm-up of as many; "
            f"encoder {config.detection_encoder}; PostgreSQL's shared_buffers {buffers}.{settled}",
            "",
            table(headers, rows),
            "",
            "- encode = reading the report before the lock (the sentence embedding, the text analysis); detection = from the advisory lock (one call with the "
            "reads that follow it): store and index the report (terms and bucket), "
            "candidates from both indexes, exact re-scoring; intake = encode + "
            "detection + clustering (average linkage, problem events, acknowledgements) + commit, the whole "
            "per-report latency; similar = GET /v1/tickets/{id}/similar's work.",
            f"- The work per report is bounded ({config.index_query_terms} terms x {config.index_postings_per_term} "
            f"postings, {config.index_probe_buckets} buckets x {config.index_postings_per_bucket} postings, at most "
            f"2 x {config.detection_candidates} re-scored), so latency stays flat as the window grows; the indexes "
            "live in PostgreSQL, so the process's memory does not grow with them.",
            "- load = COPY of the synthetic window; upkeep = the index maintenance learning the buckets for the new "
            "size and filling the new model with the whole window (in the live service this runs in the background, "
            "while the previous model serves).",
            "",
        ]
    )


def run(quick: bool) -> str:
    """The Markdown section of this benchmark."""
    return asyncio.run(run_async(quick))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="duplicate detection at scale (PostgreSQL)")
    parser.add_argument("--quick", action="store_true", help="10k and 100k only")
    parser.add_argument("--keep", action="store_true", help="keep the database for --again")
    parser.add_argument("--again", metavar="NAME", help="measure again on a database kept by --keep")
    parser.add_argument("--rounds", type=int, default=3, help="with --again: how many measurements")
    arguments = parser.parse_args()
    if arguments.again:
        print(asyncio.run(again_async(arguments.again, arguments.rounds)))
    else:
        print(asyncio.run(run_async(arguments.quick, keep=arguments.keep)))
