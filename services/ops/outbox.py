"""`firstcall outbox`: per service, the events committed but not yet on Kafka, and why they wait.

It reads each service's `outbox` table, one of the messaging tables every service keeps alike
(shared/messaging/tables.py), never a service's domain tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from services.ops.database import open_database
from shared.messaging.tables import outbox

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class OutboxStatus:
    service: str
    pending: int | None  # None when the database could not be read (see `problem`)
    oldest_pending_age_seconds: float | None = None
    failing: int = 0  # pending events whose publication failed at least once
    most_attempts: int = 0
    last_error: str | None = None  # of the oldest failing event
    published_last_hour: int = 0
    problem: str | None = None
    reachable: bool = True


async def outbox_status(*, service: str, database_url: str, now: datetime | None = None) -> OutboxStatus:
    """One service's outbox, in three small queries on the partial index of unpublished rows."""
    now = now or datetime.now(UTC)
    waiting = outbox.c.published_at.is_(None)
    try:
        async with open_database(database_url) as database, database.engine.connect() as conn:
            counts = (
                await conn.execute(
                    select(
                        func.count(),
                        func.min(outbox.c.created_at),
                        func.count().filter(outbox.c.attempts > 0),
                        func.coalesce(func.max(outbox.c.attempts), 0),
                    )
                    .select_from(outbox)
                    .where(waiting)
                )
            ).one()
            error = await conn.scalar(
                select(outbox.c.last_error)
                .where(waiting, outbox.c.last_error.is_not(None))
                .order_by(outbox.c.seq)
                .limit(1)
            )
            recent = await conn.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at >= now - HOUR)
            )
    except (OperationalError, OSError) as exc:
        return OutboxStatus(service, None, problem=_why(exc), reachable=False)
    except (ProgrammingError, DBAPIError) as exc:
        return OutboxStatus(service, None, problem=_why(exc))
    pending, oldest, failing, attempts = counts
    age = (now - _utc(oldest)).total_seconds() if oldest is not None else None
    return OutboxStatus(service, pending, age, failing, attempts, error, recent or 0)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _why(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
