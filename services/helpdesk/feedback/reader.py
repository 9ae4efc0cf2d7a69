"""RT -> firstcall for feedback: the owner's decision in RT's fields becomes the notifier's decision call.

The same reading as tickets' (inbound/reader.py): TicketSQL on LastUpdated from a persisted cursor over the
tickets carrying `firstcall feedback`, then each ticket's new transactions grouped into actions, young ones
left to settle, the bridge's own skipped. An action that touches a decision field (or resolves the ticket)
is checked, then sent once: its Idempotency-Key is the RT transaction, and the read mark moves in the same
commit as the comments it causes. While the notifier is down nothing moves.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.desk.port import INACTIVE_STATUSES, ChangedTicket, Comment, HelpdeskRejected
from services.helpdesk.feedback import mirror, rendering
from services.helpdesk.feedback.decisions import DECISION_FIELDS, decision_of, parse_decision
from services.helpdesk.feedback.models import FeedbackLink
from services.helpdesk.firstcall.client import RouterRefused, RouterUnavailable
from services.helpdesk.inbound.actions import Action, group
from services.helpdesk.inbound.models import SyncCursor
from services.helpdesk.outbound.sides import Sides
from shared.db import Database

log = logging.getLogger(__name__)
CURSOR = "rt.feedback.last_updated"
PAGE = 100
LAST_UPDATED_RESOLUTION = timedelta(seconds=1)


class FeedbackReader:
    def __init__(self, *, database: Database, sides: Sides) -> None:
        self.database, self.sides = database, sides

    async def read_once(self) -> int:
        """One round over the feedback tickets changed since the cursor; how many decisions were sent."""
        settings = self.sides.settings
        async with self.database.session() as session:
            row = await session.get(SyncCursor, CURSOR)
        since = (row.value if row else datetime.now(UTC)) - timedelta(seconds=settings.poll_overlap_seconds)
        sent, page, round_start, unfinished = 0, 1, None, []
        while True:
            changed = await self.sides.helpdesk.changed_tickets_with(
                field=mirror.FIELD, since=since, limit=PAGE, page=page
            )
            round_start = round_start or changed.now
            settled_before = changed.now - timedelta(seconds=settings.settle_seconds)
            for ticket in changed.tickets:
                try:
                    finished, count = await self._read_ticket(ticket, settled_before)
                except HelpdeskRejected as exc:
                    log.error("RT feedback ticket %s cannot be read back: %s", ticket.id, exc)
                    continue
                except RouterUnavailable as exc:
                    log.warning(
                        "RT feedback ticket %s: the notifier is unavailable, decisions wait: %s", ticket.id, exc
                    )
                    return sent
                sent += count
                if not finished:
                    unfinished.append(ticket.updated_at)
            if changed.complete:
                break
            page += 1
        await self._advance(min([round_start, *unfinished]))
        return sent

    async def _advance(self, to: datetime) -> None:
        async with self.database.session() as session:
            row = await session.get(SyncCursor, CURSOR)
            now = datetime.now(UTC)
            if row is None:
                session.add(SyncCursor(name=CURSOR, value=to, updated_at=now))
            else:
                row.value, row.updated_at = to, now
            await session.commit()

    async def _read_ticket(self, ticket: ChangedTicket, settled_before: datetime) -> tuple[bool, int]:
        desk, sent = self.sides.helpdesk, 0
        async with self.database.session() as session:
            statement = select(FeedbackLink).where(FeedbackLink.rt_ticket_id == ticket.id)
            link = (await session.scalars(statement)).first()
            if link is None or link.rt_last_updated == ticket.updated_at:
                return True, 0
            while True:
                changes = await desk.changes(ticket.id, after=link.rt_last_change_id, limit=PAGE)
                if not changes:
                    settled = ticket.updated_at + LAST_UPDATED_RESOLUTION <= settled_before
                    if settled:
                        link.rt_last_updated = ticket.updated_at
                        await session.commit()
                    return settled, sent
                actions = group(changes)
                if len(changes) == PAGE and len(actions) > 1:
                    actions = actions[:-1]
                for action in actions:
                    if action.at > settled_before:
                        return False, sent
                    if action.author != desk.integration_user and _decides(action):
                        try:
                            sent += await decide(session=session, sides=self.sides, link=link, action=action)
                        except RouterUnavailable:
                            await session.rollback()
                            raise
                    link.rt_last_change_id = action.last_id
                    await session.commit()


def _decides(action: Action) -> bool:
    fields = any(c.kind == "field" and c.field in DECISION_FIELDS for c in action.changes)
    return fields or _resolved(action)


def _resolved(action: Action) -> bool:
    statuses = [c for c in action.changes if c.kind == "status"]
    return (
        bool(statuses)
        and (statuses[-1].new or "") in INACTIVE_STATUSES
        and (statuses[0].old or "") not in (INACTIVE_STATUSES)
    )


async def decide(*, session: AsyncSession, sides: Sides, link: FeedbackLink, action: Action) -> int:
    """The owner's action as a decision: sent once (1), or refused in RT with a comment saying why (0)."""
    assert link.rt_ticket_id is not None
    assert sides.notifier is not None
    now, cause = datetime.now(UTC), f"rt transaction {action.last_id}"
    fields = (await sides.helpdesk.read_ticket(link.rt_ticket_id)).fields
    if not decision_of(fields):
        if _resolved(action) and not link.decision_shown:
            _tell(session, link, rendering.resolving_is_not_deciding(), cause, now)
            mirror.stage(
                session=session, link=link, kind=mirror.STATUS, payload={"status": "open"}, cause=cause, now=now
            )
        return 0  # the owner is still filling in the change or the reason
    request = parse_decision(fields)
    if isinstance(request, list):
        _tell(session, link, rendering.not_sent(request), cause, now)
        _reopen_if_resolved(session, link, action, cause, now)
        return 0
    body = request.body(decided_by=action.author)
    try:
        await sides.notifier.decide(link.cluster_id, body, key=f"rt-txn-{action.last_id}-decision")
    except RouterRefused as refusal:
        if refusal.status == 409:
            _tell(session, link, rendering.already_decided(), cause, now)
        else:
            _tell(session, link, rendering.refused(refusal.explanation), cause, now)
            _reopen_if_resolved(session, link, action, cause, now)
        mirror.stage(session=session, link=link, kind=mirror.SYNC, payload={}, cause=cause, now=now)
        return 0
    # What the notifier recorded comes back to RT as an API decision does (the decision comment, resolved).
    mirror.stage(session=session, link=link, kind=mirror.SYNC, payload={}, cause=cause, now=now)
    return 1


def _tell(session: AsyncSession, link: FeedbackLink, content: Comment, cause: str, now: datetime) -> None:
    payload = {"subject": content.subject, "text": content.text}
    mirror.stage(session=session, link=link, kind=mirror.COMMENT, payload=payload, cause=cause, now=now)


def _reopen_if_resolved(session: AsyncSession, link: FeedbackLink, action: Action, cause: str, now: datetime) -> None:
    if _resolved(action):
        mirror.stage(session=session, link=link, kind=mirror.STATUS, payload={"status": "open"}, cause=cause, now=now)
