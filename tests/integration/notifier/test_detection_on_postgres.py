"""Detection reads its candidates from PostgreSQL through asyncpg itself (shared.db.driver_fetch) and from
SQLite through SQLAlchemy, and writes a new report to PostgreSQL in one statement where SQLite gets the
ORM's: the same reports, indexed in the same order, find the same neighbours with the same scores on both,
at intake (under the detection lock) and in the duplicate view (no lock, no transaction), and leave the
same rows behind (reports, both indexes, the term statistics)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from services.notifier.bootstrap import MIGRATIONS
from services.notifier.detection import service as detection_service
from services.notifier.detection.models import DetectionModel, ReportBucket, ReportTerm, TermStat
from services.notifier.detection.service import DetectionConfig, Match
from services.notifier.reports import service as report_service
from services.notifier.reports.models import Report
from shared.db import Database
from shared.events.catalogue import TicketOpened
from shared.migrations import upgrade_to_head
from tests.notifier_factories import fast_settings, numbered_reports

pytestmark = pytest.mark.integration
Found = tuple[uuid.UUID, uuid.UUID, uuid.UUID | None, str, datetime, float]


async def detect(
    database: Database, reports: list[TicketOpened], config: DetectionConfig
) -> tuple[list[list[Found]], dict[str, list[tuple[Any, ...]]]]:
    """Each report's neighbours as it arrives, then each one's duplicate view once all have arrived."""
    await upgrade_to_head(database, Path(MIGRATIONS))
    found: list[list[Match]] = []
    for event in reports:
        reading = await detection_service.understand(
            config=config, subject=event.subject, description=event.description
        )
        async with database.session() as session:
            detected = await report_service.detect(session=session, event=event, reading=reading, config=config)
            assert detected.new
            found.append(detected.matches)
            await session.commit()
    for event in reports:
        async with database.session(begin_on_write=True) as session:
            stored = await report_service.get_report(session=session, ticket_id=event.ticket_id)
            found.append(await detection_service.find_similar(session=session, report=stored, k=5, config=config))
    rows = await stored_rows(database)
    await database.dispose()
    return [
        [(m.ticket_id, m.customer_id, m.cluster_id, m.subject, m.opened_at, m.score) for m in matches]
        for matches in found
    ], rows


async def stored_rows(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """What intake left in the tables detection writes, every column, in a fixed order."""
    tables: dict[str, Any] = {
        # received_at is when each run received it
        "reports": select(*(c for c in Report.__table__.columns if c.key != "received_at")).order_by(Report.ticket_id),
        "report_terms": select(ReportTerm.term, ReportTerm.opened_at, ReportTerm.ticket_id, ReportTerm.weight).order_by(
            ReportTerm.term, ReportTerm.ticket_id
        ),
        "term_stats": select(TermStat.term, TermStat.reports).order_by(TermStat.term),
        "report_buckets": select(
            ReportBucket.model_id,
            ReportBucket.bucket,
            ReportBucket.opened_at,
            ReportBucket.ticket_id,
            ReportBucket.vector,
        ).order_by(ReportBucket.model_id, ReportBucket.ticket_id),
        "detection_models": select(DetectionModel.id, DetectionModel.status, DetectionModel.buckets),
    }
    async with database.session() as session:
        return {
            name: [tuple(row) for row in (await session.execute(statement)).all()] for name, statement in tables.items()
        }


@pytest.mark.parametrize(
    ("count", "budgets"),
    [
        (24, {}),
        # The smallest budgets, and reports arriving out of time order: the lookups' nearest postings are cut
        # from both sides of a report, ties (as far before as after) included.
        (40, {"index_postings_per_term": 10, "index_postings_per_bucket": 10, "index_probe_buckets": 1}),
    ],
)
async def test_postgresql_and_sqlite_find_the_same_neighbours(
    tmp_path: Path, pg_url: str, count: int, budgets: dict[str, int]
) -> None:
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    minutes = list(range(count))
    if budgets:
        minutes = minutes[::3] + minutes[1::3][::-1] + minutes[2::3]
    reports = [
        event.model_copy(update={"opened_at": start + timedelta(minutes=m)})
        for m, event in zip(minutes, numbered_reports(count), strict=True)
    ]
    config = DetectionConfig.from_settings(fast_settings(tmp_path, detection_encoder="wordllama", **budgets))

    on_postgres, rows_on_postgres = await detect(Database(pg_url), reports, config)
    on_sqlite, rows_on_sqlite = await detect(
        Database(f"sqlite+aiosqlite:///{tmp_path / 'notifier.db'}"), reports, config
    )

    assert on_postgres == on_sqlite
    assert rows_on_postgres == rows_on_sqlite
    assert len(rows_on_postgres["reports"]) == len(reports)
    assert all(row[-3] is not None and row[-2] is not None for row in rows_on_postgres["reports"])  # both vectors
    assert len(rows_on_postgres["report_buckets"]) == len(reports)
    assert rows_on_postgres["term_stats"][0] == (0, len(reports))  # the document count
    assert sum(len(matches) for matches in on_postgres[: len(reports)]) > len(reports)  # neighbours were found
    assert all(matches for matches in on_postgres[len(reports) :])  # every report has a duplicate view
    assert isinstance(on_postgres[-1][0][0], uuid.UUID)
    assert on_postgres[-1][0][4].tzinfo is not None


async def test_the_index_tables_are_vacuumed_as_they_grow(pg_url: str) -> None:
    # Index-only scans read the heap for postings not yet marked all-visible, the newest ones: autovacuum
    # must pass every few hundred reports, not once the table has grown by a fifth (the migration's note).
    database = Database(pg_url)
    await upgrade_to_head(database, Path(MIGRATIONS))
    async with database.session() as session:
        found = await session.execute(
            text("SELECT relname, reloptions FROM pg_class WHERE relname IN ('report_terms', 'report_buckets')")
        )
        options = {name: set(settings or []) for name, settings in found.all()}
    await database.dispose()
    assert options == {
        "report_terms": {"autovacuum_vacuum_insert_threshold=10000", "autovacuum_vacuum_insert_scale_factor=0"},
        "report_buckets": {"autovacuum_vacuum_insert_threshold=1000", "autovacuum_vacuum_insert_scale_factor=0"},
    }
