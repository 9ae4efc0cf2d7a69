"""Problem events in: the member tickets hear that they are one problem, how big, and when it is resolved."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.outbound import problems
from services.helpdesk.settings import HelpdeskSettings
from shared.events.catalogue import ProblemDetected, ProblemEscalated, ProblemResolved, ProblemUpdated, ProblemUpdatedV2


async def on_problem_detected(event: ProblemDetected, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await problems.problem_detected(session=session, event=event, now=datetime.now(UTC))


async def on_problem_updated_v1(event: ProblemUpdated, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await problems.problem_updated_v1(session=session, event=event, now=datetime.now(UTC))


async def on_problem_updated(event: ProblemUpdatedV2, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await problems.problem_updated(session=session, event=event, now=datetime.now(UTC))


async def on_problem_escalated(event: ProblemEscalated, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await problems.problem_escalated(session=session, event=event, now=datetime.now(UTC))


async def on_problem_resolved(event: ProblemResolved, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await problems.problem_resolved(session=session, event=event, now=datetime.now(UTC))
