"""`outbox`, `db current|history` and `tickets show` on real PostgreSQL databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from shared.db import Database
from shared.messaging.tables import messaging_metadata, outbox
from tests.integration.ops.conftest import Firstcall
from tests.unit.ops.records import opened
from tests.unit.ops.test_exit_codes import closed_port

pytestmark = pytest.mark.integration


@pytest.fixture
async def database(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    async with database.engine.begin() as conn:
        await conn.run_sync(messaging_metadata.create_all)
    yield database
    await database.dispose()


def row(
    envelope: bytes, *, age: timedelta, published: bool = False, attempts: int = 0, error: str | None = None
) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "event_id": str(uuid.uuid4()),
        "topic": "firstcall.tickets",
        "event_type": "firstcall.ticket.opened",
        "subject": str(uuid.uuid4()),
        "envelope": envelope,
        "created_at": now - age,
        "published_at": now if published else None,
        "attempts": attempts,
        "last_error": error,
    }


async def test_outbox_counts_what_waits_how_long_and_what_failed(database: Database, firstcall: Firstcall) -> None:
    envelope = opened().to_json()
    async with database.engine.begin() as conn:
        await conn.execute(
            insert(outbox),
            [
                row(envelope, age=timedelta(minutes=10), attempts=3, error="BusUnavailable: no broker"),
                row(envelope, age=timedelta(minutes=2)),
                row(envelope, age=timedelta(minutes=30), published=True),
            ],
        )

    ran = await firstcall("outbox", "--service", "router", "--json")

    assert ran.code == 0
    [status] = ran.json()
    assert (status["service"], status["pending"], status["failing"], status["most_attempts"]) == ("router", 2, 1, 3)
    assert status["last_error"] == "BusUnavailable: no broker"
    assert status["oldest_pending_age_seconds"] >= 600
    assert status["published_last_hour"] == 1
    table = await firstcall("outbox", "--service", "router")
    header, line = table.out.splitlines()
    assert header.split()[:3] == ["service", "pending", "oldest"]
    assert line.split()[:2] == ["router", "2"]
    assert line.endswith("BusUnavailable: no broker")


async def test_db_current_says_what_an_upgrade_would_apply_and_history_marks_what_is_applied(
    firstcall: Firstcall,
) -> None:
    before = await firstcall("db", "current", "knowledge", "--json")
    assert before.code == 0
    state = before.json()
    assert state["current"] == []
    assert state["at_head"] is False
    assert len(state["pending"]) > 0

    assert (await firstcall("db", "upgrade", "knowledge")).code == 0

    after = (await firstcall("db", "current", "knowledge", "--json")).json()
    assert after["at_head"] is True
    assert after["current"] == after["heads"]
    assert "at head" in (await firstcall("db", "current", "knowledge")).out
    history = (await firstcall("db", "history", "knowledge", "--json")).json()
    assert all(revision["applied"] for revision in history)
    assert [r["revision"] for r in history if r["current"]] == after["current"]


async def test_a_ticket_is_followed_through_the_outboxes_when_the_services_do_not_answer(
    database: Database, firstcall: Firstcall, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    nowhere = f"postgresql+asyncpg://u:p@127.0.0.1:{closed_port()}/x"
    monkeypatch.setenv("FIRSTCALL_ROUTER_DATABASE_URL", pg_url)
    for service in ("knowledge", "notifier"):
        monkeypatch.setenv(f"FIRSTCALL_{service.upper()}_DATABASE_URL", nowhere)
    for service in ("router", "knowledge", "notifier"):
        monkeypatch.setenv(f"FIRSTCALL_{service.upper()}_PORT", str(closed_port()))
    ticket = opened("call-77")
    caused = ticket.model_copy(update={"id": str(uuid.uuid4()), "subject": str(uuid.uuid4()), "type": "firstcall.x"})
    unrelated = opened("call-78")
    async with database.engine.begin() as conn:
        await conn.execute(
            insert(outbox),
            [
                {
                    **row(e.to_json(), age=timedelta(seconds=s)),
                    "event_id": e.id,
                    "subject": e.subject,
                    "event_type": e.type,
                }
                for e, s in ((ticket, 3), (caused, 2), (unrelated, 1))
            ],
        )

    ran = await firstcall("tickets", "show", ticket.subject, "--json")

    assert ran.code == 0
    trail = ran.json()
    assert [e["event_id"] for e in trail["events"]] == [ticket.id, caused.id]
    assert set(trail["unavailable"]) == {"ticket", "suggestions", "report", "knowledge outbox", "notifier outbox"}
