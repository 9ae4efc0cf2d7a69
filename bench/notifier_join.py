"""A report joining a problem, as the problem grows: 100 to 100,000 members (PostgreSQL).

notifier_scale measures the intake over a large window, but the clusters its new reports form stay small;
what a join costs as the *problem* grows is measured here. A problem is started by the real intake (a few
reports of one outage, so its newest members carry vectors), and a cluster of `size` older reports from
as many customers is merged into it by ops' merge (which acknowledges each of them, as the notifier would
have). Then new reports of the outage, each from a new customer, go through the real intake one at a
time (encoding, detection, clustering, problem events, acknowledgement, commit) and are timed; the table
also gives the ProblemUpdated each join published.

    python -m bench.notifier_join [--quick]      # needs PostgreSQL (make up; source var/stack.env)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import func, insert, select

from bench.notifier_window import create_database, drop_database
from bench.report import table
from services.notifier.bootstrap import MIGRATIONS
from services.notifier.detection.maintenance import IndexMaintenance
from services.notifier.metrics import NotifierMetrics
from services.notifier.problems import operations
from services.notifier.problems.models import Problem
from services.notifier.reports import service as report_service
from services.notifier.reports.models import Report
from services.notifier.settings import NotifierSettings
from shared.db import Database
from shared.events.catalogue import TicketOpened
from shared.messaging.tables import outbox
from shared.metrics import ServiceMetrics
from shared.migrations import upgrade_to_head

DATABASE_TEMPLATE = os.environ.get(
    "FIRSTCALL_DATABASE_URL", "postgresql+asyncpg://firstcall:firstcall@127.0.0.1:55432/firstcall_{service}"
)
SUBJECTS = (
    "Checkout fails with payment error",
    "Payment error at checkout",
    "Can't pay - checkout error",
    "checkout payment not going through",
    "Error when paying in checkout",
)
DESCRIPTIONS = (
    "When I try to pay at checkout I get a payment error and nothing happens.",
    "The checkout page shows an error when I pay with my card.",
    "Every time I try paying, checkout throws an error. Card is fine.",
    "Payment fails at the checkout step with an error message.",
    "I get an error message on checkout, my payment never completes.",
)
SEED_REPORTS = 5
JOINS = 60  # timed joins per size, after a warm-up of 10
WARM_UP = 10


def outage_report(i: int, opened_at: datetime) -> TicketOpened:
    """Another customer reporting the outage, in one of five wordings."""
    return TicketOpened(
        ticket_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        customer_name=f"Customer {i}",
        channel="email",
        subject=SUBJECTS[i % len(SUBJECTS)],
        description=DESCRIPTIONS[(i // len(SUBJECTS)) % len(DESCRIPTIONS)],
        priority="normal",
        opened_at=opened_at,
    )


async def grown_problem(database: Database, config: NotifierSettings, size: int) -> uuid.UUID:
    """An open problem of `size` + a few members, every customer acknowledged."""
    now = datetime.now(UTC)
    seeds = [outage_report(i, now - timedelta(minutes=30 - i)) for i in range(SEED_REPORTS)]
    for event in seeds:
        async with database.session() as session:
            await report_service.receive_report(session=session, event=event, settings=config)
            await session.commit()
    async with database.session() as session:
        problem_id = await session.scalar(select(Report.cluster_id).where(Report.ticket_id == seeds[0].ticket_id))
        assert problem_id is not None, "the seed reports did not form a problem"
        other = Problem(
            id=uuid.uuid4(),
            status="forming",
            severity="minor",
            summary_text="",
            first_seen=now - timedelta(days=2),
            last_seen=now - timedelta(hours=1),
            growth_per_hour=0.0,
            created_at=now,
            updated_at=now,
        )
        session.add(other)
        await session.flush()
        # Older than the seeds, so the newest members (which similarity reads) keep their vectors.
        rows = [
            {
                "ticket_id": uuid.uuid4(),
                "customer_id": uuid.uuid4(),
                "channel": "email",
                "text": "Checkout fails\nPayment error at checkout.",
                "subject": "Checkout fails",
                "opened_at": now - timedelta(days=2) + timedelta(seconds=i),
                "received_at": now,
                "cluster_id": other.id,
            }
            for i in range(size)
        ]
        for start in range(0, size, 5_000):
            await session.execute(insert(Report), rows[start : start + 5_000])
        await session.commit()
    async with database.session() as session:
        await operations.merge_problems(session=session, problem_id=problem_id, other_id=other.id, settings=config)
        await session.commit()
    return problem_id


async def join(
    database: Database, config: NotifierSettings, problem_id: uuid.UUID, count: int, first: int
) -> tuple[list[float], int, list[int]]:
    """Time `count` new customers' reports through the intake: ms each, how many joined, event sizes."""
    times, joined, sizes = [], 0, []
    for i in range(first, first + count):
        event = outage_report(i, datetime.now(UTC))
        started = time.perf_counter()
        async with database.session() as session:
            await report_service.receive_report(session=session, event=event, settings=config)
            await session.commit()
        times.append((time.perf_counter() - started) * 1000)
        async with database.session() as session:
            joined += await session.scalar(select(Report.cluster_id).where(Report.ticket_id == event.ticket_id)) == (
                problem_id
            )
            sizes.append(
                await session.scalar(
                    select(func.length(outbox.c.envelope))
                    .where(outbox.c.event_type == "firstcall.problem.updated")
                    .order_by(outbox.c.seq.desc())
                    .limit(1)
                )
                or 0
            )
    return times, joined, sizes


async def run_async(quick: bool) -> str:
    sizes = [100, 1_000, 10_000] if quick else [100, 1_000, 10_000, 100_000]
    config = NotifierSettings(environment="test", log_level="WARNING")
    rows = []
    for size in sizes:
        name = f"fc_bench_join_{uuid.uuid4().hex[:8]}"
        url = await create_database(DATABASE_TEMPLATE, name)
        database = Database(url)
        try:
            await upgrade_to_head(database, Path(MIGRATIONS))
            maintenance = IndexMaintenance(
                database=database, settings=config, metrics=NotifierMetrics(ServiceMetrics("b"))
            )
            problem_id = await grown_problem(database, config, size)
            await maintenance.settle()  # the embedding buckets, learned from the seeds' vectors
            await join(database, config, problem_id, WARM_UP, first=SEED_REPORTS)
            times, joined, event_bytes = await join(database, config, problem_id, JOINS, first=SEED_REPORTS + WARM_UP)
            rows.append(
                [
                    f"{size + SEED_REPORTS:,}",
                    f"{statistics.median(times):.1f} / {float(np.percentile(times, 99)):.1f}",
                    f"{joined} / {JOINS}",
                    f"{statistics.median(event_bytes) / 1024:,.1f}",
                ]
            )
        finally:
            await database.dispose()
            await drop_database(DATABASE_TEMPLATE, name)
    headers = ["problem members", "intake p50 / p99 ms", "joined the problem", "ProblemUpdated KB"]
    return "\n".join(
        [
            "## notifier_join: a report joining a problem of 100 to 100,000 members (PostgreSQL)",
            "",
            f"{JOINS} new customers' reports at each size, one at a time, after a warm-up of {WARM_UP}; "
            f"encoder {config.detection_encoder}.",
            "",
            table(headers, rows),
            "",
            "- intake = the whole of receive_report (encoding, detection, clustering, problem events, "
            "acknowledgement) and the commit; ProblemUpdated KB = the envelope each join put in the outbox.",
            "",
        ]
    )


def run(quick: bool) -> str:
    """The Markdown section of this benchmark."""
    return asyncio.run(run_async(quick))


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
