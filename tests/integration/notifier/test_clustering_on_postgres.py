"""Clustering reads each nearby cluster's latest members in one asyncpg statement on PostgreSQL and in a
statement per cluster on SQLite, and a problem's summary from its latest members' columns (decision 0044):
the same reports, received in the same order, form the same clusters with the same problems on both."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services.notifier.bootstrap import MIGRATIONS
from services.notifier.problems.models import Problem
from services.notifier.reports import service as report_service
from services.notifier.reports.models import Report
from services.notifier.settings import NotifierSettings
from shared.db import Database
from shared.events.catalogue import TicketOpened
from shared.migrations import upgrade_to_head
from tests.notifier_factories import fast_settings, numbered_reports

pytestmark = pytest.mark.integration


async def receive(database: Database, reports: list[TicketOpened], settings: NotifierSettings) -> list[Any]:
    """Every report received as the intake receives it; then each cluster (its tickets) with its problem."""
    await upgrade_to_head(database, Path(MIGRATIONS))
    for event in reports:
        async with database.session() as session:
            await report_service.receive_report(session=session, event=event, settings=settings)
            await session.commit()
    async with database.session() as session:
        members: dict[uuid.UUID, list[uuid.UUID]] = {}
        for ticket_id, cluster_id in await session.execute(
            select(Report.ticket_id, Report.cluster_id).where(Report.cluster_id.is_not(None))
        ):
            assert cluster_id is not None
            members.setdefault(cluster_id, []).append(ticket_id)
        problems = {problem.id: problem for problem in await session.scalars(select(Problem))}
        clusters = sorted(
            (
                sorted(str(ticket) for ticket in tickets),
                problems[cluster].status,
                problems[cluster].report_count,
                problems[cluster].customer_count,
                problems[cluster].summary_text,
                str(problems[cluster].representative_ticket_id),
                round(problems[cluster].growth_per_hour, 6),
            )
            for cluster, tickets in members.items()
        )
    await database.dispose()
    return clusters


async def test_postgresql_and_sqlite_form_the_same_clusters(tmp_path: Path, pg_url: str) -> None:
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    reports = [
        event.model_copy(update={"opened_at": start + timedelta(minutes=m)})
        for m, event in enumerate(numbered_reports(48))
    ]
    settings = fast_settings(tmp_path, detection_encoder="wordllama", problem_min_customers=3)

    on_postgres = await receive(Database(pg_url), reports, settings)
    on_sqlite = await receive(Database(f"sqlite+aiosqlite:///{tmp_path / 'notifier.db'}"), reports, settings)

    assert on_postgres == on_sqlite
    assert len(on_postgres) >= 2  # more than one cluster: the statement reads several at once
    assert max(len(cluster[0]) for cluster in on_postgres) > 5
    assert any(cluster[1] == "open" for cluster in on_postgres)
