"""A ticket an agent marked as feedback after it was opened leaves problem detection.

It was opened as a fault, so it is a report: indexed, perhaps in a cluster, perhaps counted towards a
problem and its customer owed a notice. Feedback is not a fault, so its report stops counting: it is
unindexed (no later report finds it), its cluster is counted again without it, and its customer is told
nothing more about that problem. The report row stays, without vectors and cluster, as a pruned report does:
it records that the ticket was seen (a redelivered TicketOpened is not a report again).

A problem ops were already told about stays open with the lower counts (ProblemUpdatedV2, `change`
`split`, the ticket in `split_ticket_ids`, so that whoever keeps a problem's tickets lets it go): it was
announced, its other customers were told it is known and are owed its resolution, and a known issue may be
linked to it. Turning it back into a forming cluster would take it off ops's list and leave those customers
never told of the fix. A forming cluster left with one report is no cluster (a cluster is reports alike
each other): it is dissolved and its report is unclustered, as if the feedback had never been a report.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.delivery.models import Delivery
from services.notifier.detection import service as detection_service
from services.notifier.detection.index import lock_detection
from services.notifier.knowledge.models import KnownIssue
from services.notifier.problems import service as problem_service
from services.notifier.problems import state
from services.notifier.problems.models import Problem, ProblemExclusion
from services.notifier.reports.models import Report
from services.notifier.settings import NotifierSettings

UNSENT = ("pending", "dead")  # "sending" is the worker's until it records the outcome
PROBLEM_NOTICES = ("acknowledgement", "resolution")


async def withdraw_report(*, session: AsyncSession, ticket_id: uuid.UUID, settings: NotifierSettings) -> bool:
    """Take a ticket that turned out to be feedback out of problem detection; False if it was not in it."""
    if not await _in_detection(session, ticket_id):
        return False  # heard as feedback when opened (never a report), or withdrawn already
    # The detection lock, as every writer of clusters takes it: a report arriving meanwhile must not
    # find this one as a neighbour, nor bring it into a cluster, nor count it.
    await lock_detection(session)
    report = await session.get(Report, ticket_id, populate_existing=True)
    if report is None or (report.cluster_id is None and report.features is None):
        return False
    cluster_id = report.cluster_id
    await detection_service.unindex_reports(session=session, ticket_ids=[ticket_id])
    report.cluster_id, report.features, report.embedding = None, None, None
    await session.flush()
    problem = await session.get(Problem, cluster_id) if cluster_id is not None else None
    if problem is not None:
        await _cancel_unsent_notices(session, problem.id, report)
        await _recount(session, problem, ticket_id, settings)
    return True


async def _in_detection(session: AsyncSession, ticket_id: uuid.UUID) -> bool:
    """Whether the ticket's report is indexed or clustered (read without the lock: most feedback has none)."""
    row = (
        await session.execute(
            select(Report.cluster_id, Report.features.is_not(None).label("indexed")).where(
                Report.ticket_id == ticket_id
            )
        )
    ).first()
    return row is not None and (row.cluster_id is not None or bool(row.indexed))


async def _cancel_unsent_notices(session: AsyncSession, problem_id: uuid.UUID, report: Report) -> None:
    """Withdraw the problem's notices to this customer that have not gone yet, unless another report of
    theirs is still in the problem (then they are affected, and told). One sent cannot be undone.

    The withdrawn notice's dedupe key is set aside (suffixed with the ticket): if the customer later
    reports the problem for real, they are told then."""
    if await state.first_report_of(session, problem_id, report.customer_id) is not None:
        return
    await session.execute(
        update(Delivery)
        .where(
            Delivery.problem_id == problem_id,
            Delivery.customer_id == report.customer_id,
            Delivery.notification_kind.in_(PROBLEM_NOTICES),
            Delivery.status.in_(UNSENT),
        )
        .values(
            status="cancelled",
            last_error="the ticket was feedback: not part of this problem",
            dedupe_key=Delivery.dedupe_key + f":withdrawn:{report.ticket_id}",
        )
    )


async def _recount(session: AsyncSession, problem: Problem, ticket_id: uuid.UUID, settings: NotifierSettings) -> None:
    """The cluster's counts and picture without the report; a forming cluster left with one is dissolved."""
    await state.recount(session, problem)
    if problem.status == "forming" and problem.report_count <= 1 and await _dissolvable(session, problem.id):
        await _dissolve(session, problem)
        return
    await problem_service.evaluate(
        session=session,
        problem=problem,
        now=problem.last_seen,
        settings=settings,
        change="split",
        split=[ticket_id],
    )


async def _dissolvable(session: AsyncSession, problem_id: uuid.UUID) -> bool:
    """A forming cluster nothing outside detection points at (knowledge may name one before it is detected)."""
    named = await session.scalar(select(KnownIssue.known_issue_id).where(KnownIssue.problem_id == problem_id).limit(1))
    return named is None


async def _dissolve(session: AsyncSession, problem: Problem) -> None:
    """Unclustered again, its report can start a cluster with the next report like it. A forming cluster was
    never announced and no customer was told of it, so nothing outside the notifier knows its id."""
    await session.execute(update(Report).where(Report.cluster_id == problem.id).values(cluster_id=None))
    await session.execute(delete(ProblemExclusion).where(ProblemExclusion.problem_id == problem.id))
    await session.delete(problem)
    await session.flush()
