"""Problems as ops read them: the stored problem, its counts, what is known, and its member tickets."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.knowledge import service as knowledge_service
from services.notifier.problems import state
from services.notifier.problems.models import Problem
from services.notifier.problems.schemas import KnownIssueBrief, MemberRead, ProblemDetail, ProblemRead


async def summaries(*, session: AsyncSession, problems: Sequence[Problem]) -> list[ProblemRead]:
    """Each problem with its counts and known issue."""
    return [await _read(session, problem) for problem in problems]


async def detail(*, session: AsyncSession, problem: Problem) -> ProblemDetail:
    """One problem with every member ticket."""
    members = await state.members_of(session, problem.id)
    read = await _read(session, problem)
    return ProblemDetail(
        **read.model_dump(),
        intents=list(problem.intents),
        products=list(problem.products),
        members=[MemberRead.model_validate(member) for member in members],
    )


async def _read(session: AsyncSession, problem: Problem) -> ProblemRead:
    issue = await knowledge_service.known_issue_for(session=session, problem_id=problem.id)
    known = (
        KnownIssueBrief(
            known_issue_id=issue.known_issue_id,
            title=issue.title,
            status=issue.status,
            workaround=issue.workaround,
            fix=issue.fix,
            fix_version=issue.fix_version,
        )
        if issue
        else None
    )
    return ProblemRead(
        id=problem.id,
        status=problem.status,
        severity=problem.severity,
        summary_text=problem.summary_text,
        customer_count=problem.customer_count,
        report_count=problem.report_count,
        first_seen=problem.first_seen,
        last_seen=problem.last_seen,
        growth_per_hour=problem.growth_per_hour,
        detected_at=problem.detected_at,
        escalated_at=problem.escalated_at,
        resolved_at=problem.resolved_at,
        resolution=problem.resolution,
        fix_version=problem.fix_version,
        article_id=problem.article_id,
        merged_into=problem.merged_into,
        known_issue=known,
    )
