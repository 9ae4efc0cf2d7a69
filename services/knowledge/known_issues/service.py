"""Known issues: drafted from the notifier's problems, moved along as workarounds and fixes appear.

Every change bumps the revision and publishes KnownIssueUpdated in the same transaction, so the
notifier can tell affected customers and ignore a stale revision that arrives late.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.known_issues import drafting
from services.knowledge.known_issues.models import KnownIssue
from services.knowledge.known_issues.schemas import KnownIssueCreate, KnownIssueUpdate
from services.knowledge.search.changes import record_change
from shared.errors import Conflict, NotFound, ProblemError, invalid
from shared.events.catalogue import KnownIssueRef, KnownIssueUpdated, ProblemResolved
from shared.events.problems import ProblemState
from shared.messaging.outbox import add_events
from shared.web.pagination import decode_time_cursor, encode_cursor

EDITABLE = ("title", "symptoms", "affected_products", "status", "workaround", "fix", "fix_version")


async def create_known_issue(*, session: AsyncSession, request: KnownIssueCreate) -> KnownIssue:
    """Record a known issue (revision 1) and announce it."""
    fields = request.model_dump(include=set(EDITABLE))
    _check_status(fields)
    if request.problem_id is not None and await _by_problem(session, request.problem_id) is not None:
        raise Conflict("known-issue-exists", f"Problem {request.problem_id} already has a known issue.")
    now = datetime.now(UTC)
    issue = KnownIssue(id=uuid.uuid4(), problem_id=request.problem_id, revision=1, created_at=now, updated_at=now)
    for name, value in fields.items():
        setattr(issue, name, value)
    session.add(issue)
    await _announce(session, issue)
    return issue


async def update_known_issue(*, session: AsyncSession, issue_id: uuid.UUID, request: KnownIssueUpdate) -> KnownIssue:
    """Apply an edit made on the latest revision (optimistic concurrency: otherwise 409)."""
    issue = await session.scalar(select(KnownIssue).where(KnownIssue.id == issue_id).with_for_update())
    if issue is None:
        raise NotFound("Known issue", issue_id)
    if request.revision != issue.revision:
        raise Conflict(
            "stale-revision",
            f"Revision {request.revision} is not the latest ({issue.revision}): read it again and reapply.",
            current_revision=issue.revision,
        )
    changes = request.model_dump(include=set(EDITABLE), exclude_unset=True)
    if {"title", "symptoms"} & changes.keys():
        # A person wrote them: the next problem event must not redraft over their words.
        issue.drafted = False
    await _change(session, issue, changes)
    return issue


async def get_known_issue(*, session: AsyncSession, issue_id: uuid.UUID) -> KnownIssue:
    """A known issue, or a 404 problem."""
    issue = await session.get(KnownIssue, issue_id)
    if issue is None:
        raise NotFound("Known issue", issue_id)
    return issue


async def list_known_issues(
    *, session: AsyncSession, status: str | None, cursor: str | None, limit: int
) -> tuple[list[KnownIssue], str | None]:
    """Known issues, most recently changed first (keyset pages)."""
    query = select(KnownIssue).order_by(KnownIssue.updated_at.desc(), KnownIssue.id.desc()).limit(limit + 1)
    if status is not None:
        query = query.where(KnownIssue.status == status)
    if cursor is not None:
        before, before_id = decode_time_cursor(cursor)
        query = query.where(
            (KnownIssue.updated_at < before) | ((KnownIssue.updated_at == before) & (KnownIssue.id < before_id))
        )
    issues = list((await session.scalars(query)).all())
    page = issues[:limit]
    more = len(issues) > limit
    return page, encode_cursor(page[-1].updated_at.isoformat(), str(page[-1].id)) if more else None


async def draft_from_problem(*, session: AsyncSession, problem: ProblemState) -> KnownIssue:
    """A problem many customers report becomes a known issue (investigating), or refreshes its draft.

    The draft quotes no customer (drafting.py). While nobody has written its title or symptoms (`drafted`),
    each problem event redrafts them: a draft from before drafts stopped quoting customers is rewritten on
    its problem's next event. Words ops wrote are never overwritten; nor is anything once a fix is out.
    """
    issue = await _by_problem(session, problem.problem_id)
    if issue is None:
        now = datetime.now(UTC)
        issue = KnownIssue(
            id=uuid.uuid4(),
            problem_id=problem.problem_id,
            title=drafting.draft_title(problem),
            symptoms=drafting.draft_symptoms(problem),
            affected_products=sorted(set(problem.products)),
            status="investigating",
            revision=1,
            drafted=True,
            created_at=now,
            updated_at=now,
        )
        session.add(issue)
        await _announce(session, issue)
    elif issue.status != "fix_available":
        changes: dict[str, Any] = {"affected_products": sorted(set(problem.products))}
        if issue.drafted:
            changes |= {"title": drafting.draft_title(problem), "symptoms": drafting.draft_symptoms(problem)}
        await _change(session, issue, changes)
    return issue


async def fix_from_problem(*, session: AsyncSession, event: ProblemResolved) -> KnownIssue:
    """Ops resolved the problem: its known issue now has a fix (drafted here if it was never seen)."""
    issue = await _by_problem(session, event.problem_id)
    changes: dict[str, Any] = {"status": "fix_available", "fix": event.resolution, "fix_version": event.fix_version}
    if issue is None:
        now = datetime.now(UTC)
        issue = KnownIssue(
            id=uuid.uuid4(),
            problem_id=event.problem_id,
            title=drafting.bounded_title(event.resolution),
            symptoms=event.resolution,
            affected_products=[],
            workaround=None,
            revision=1,
            drafted=False,
            created_at=now,
            updated_at=now,
            **changes,
        )
        session.add(issue)
        await _announce(session, issue)
        return issue
    await _change(session, issue, changes)
    return issue


def reference(issue: KnownIssue) -> KnownIssueRef:
    """The known issue as a suggestion carries it."""
    return KnownIssueRef(
        known_issue_id=issue.id,
        title=issue.title,
        status=issue.status,
        workaround=issue.workaround,
        fix=issue.fix,
        problem_id=issue.problem_id,
    )


async def _change(session: AsyncSession, issue: KnownIssue, changes: dict[str, Any]) -> None:
    merged = {name: changes.get(name, getattr(issue, name)) for name in EDITABLE}
    if all(merged[name] == getattr(issue, name) for name in EDITABLE):
        return  # nothing changed: no revision, no event
    _check_status(merged)
    for name, value in merged.items():
        setattr(issue, name, value)
    issue.revision += 1
    issue.updated_at = datetime.now(UTC)
    await _announce(session, issue)


def _check_status(fields: dict[str, Any]) -> None:
    if fields["status"] == "workaround_available" and not fields.get("workaround"):
        raise _needs("workaround", "a known issue with a workaround available needs the workaround text")
    if fields["status"] == "fix_available" and not (fields.get("fix") or fields.get("fix_version")):
        raise _needs("fix", "a known issue with a fix available needs the fix text or version")


def _needs(field: str, message: str) -> ProblemError:
    return invalid(f"body.{field}", message, type="missing")


async def _by_problem(session: AsyncSession, problem_id: uuid.UUID) -> KnownIssue | None:
    query = select(KnownIssue).where(KnownIssue.problem_id == problem_id).with_for_update()
    issue: KnownIssue | None = await session.scalar(query)
    return issue


async def _announce(session: AsyncSession, issue: KnownIssue) -> None:
    await session.flush()
    await add_events(
        session,
        KnownIssueUpdated(
            known_issue_id=issue.id,
            revision=issue.revision,
            problem_id=issue.problem_id,
            title=issue.title,
            symptoms=issue.symptoms,
            status=issue.status,
            workaround=issue.workaround,
            fix=issue.fix,
            fix_version=issue.fix_version,
            affected_products=list(issue.affected_products),
            updated_at=issue.updated_at,
        ),
    )
    await record_change(session, entity="known_issue", entity_id=issue.id)
