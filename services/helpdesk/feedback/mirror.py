"""firstcall -> RT for feedback: each cluster an RT ticket in the feedback queue, kept in step with the notifier.

Staged in the bridge's effects journal (ordered per cluster: the cluster id stands where a ticket id does),
carried out by the same worker with the same retries. A `sync` reads the cluster from the notifier when it
runs and brings the RT ticket to it: created once (found by `firstcall feedback` after a crash), new voices
in a comment, the customers' count, and a decision (taken in RT or through the API) shown once, the ticket
resolved. Comments carry the effect's marker, looked for before writing again after a crash.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.desk.port import Comment, NewTicket, TicketChanges
from services.helpdesk.effects import service as effects
from services.helpdesk.effects.models import DONE, DROPPED, Effect
from services.helpdesk.feedback import rendering
from services.helpdesk.feedback.models import FeedbackLink
from services.helpdesk.firstcall.client import RouterRefused
from services.helpdesk.outbound.sides import Sides

SYNC, COMMENT, STATUS = "feedback_sync", "feedback_comment", "feedback_status"
KINDS = frozenset({SYNC, COMMENT, STATUS})
FIELD = "feedback"  # RT's `firstcall feedback`: the cluster id, how a retry finds the ticket it made


async def link_of(*, session: AsyncSession, cluster_id: uuid.UUID, owner: str, now: datetime) -> FeedbackLink:
    """The cluster's link, made on first sight (its RT ticket is made by the next sync)."""
    link = await session.get(FeedbackLink, cluster_id)
    if link is None:
        link = FeedbackLink(cluster_id=cluster_id, owner=owner[:100], created_at=now, updated_at=now)
        link.voice_count = link.voices_shown = link.rt_last_change_id = 0
        link.decision_shown = False
        session.add(link)
    return link


def stage(
    *, session: AsyncSession, link: FeedbackLink, kind: str, payload: dict[str, Any], cause: str, now: datetime
) -> None:
    """A write to the cluster's RT ticket, after this transaction commits, once."""
    effects.record(
        session=session, ticket_id=link.cluster_id, kind=kind, payload=payload, cause=cause, decided_at=now, now=now
    )


async def carry_out(*, session: AsyncSession, effect: Effect, sides: Sides, now: datetime) -> None:
    """One feedback effect to its end; unavailability (RT, the notifier) raises and it is tried again."""
    link = await session.get(FeedbackLink, effect.ticket_id)
    if link is None or sides.notifier is None:
        effects.finish(effect, status=DROPPED, now=now, note="feedback is not mirrored to RT here")
        return
    if effect.kind == SYNC:
        await _sync(session, effect, link, sides, now)
        return
    if link.rt_ticket_id is None:
        effects.wait(effect, now=now, seconds=sides.settings.poll_interval_seconds, reason="waiting for the RT ticket")
        return
    if effect.kind == COMMENT:
        content = Comment(subject=str(effect.payload["subject"]), text=str(effect.payload["text"]))
        retry = await _mark_attempted(session, effect, sides, link, now)
        await _comment_once(effect, sides, link.rt_ticket_id, content, part="c", retry=retry)
    else:
        await _converge(sides, link.rt_ticket_id, TicketChanges(status=str(effect.payload["status"])))
    effects.finish(effect, status=DONE, now=now)


async def _sync(session: AsyncSession, effect: Effect, link: FeedbackLink, sides: Sides, now: datetime) -> None:
    assert sides.notifier is not None
    try:
        cluster = await sides.notifier.feedback(link.cluster_id)
    except RouterRefused as refusal:
        if refusal.status != 404:
            raise
        effects.finish(effect, status=DROPPED, now=now, note="the notifier no longer has this feedback")
        return
    voices: list[dict[str, Any]] = list(cluster.get("voices") or [])
    count = int(cluster.get("voice_count") or len(voices))
    retry = await _mark_attempted(session, effect, sides, link, now)
    if link.rt_ticket_id is None:
        await _create(link, cluster, voices, sides)
        link.voices_shown = count
    rt_id = link.rt_ticket_id
    assert rt_id is not None
    if count > link.voices_shown:
        comment = rendering.voices_comment(cluster, voices[link.voices_shown :], start=link.voices_shown + 1)
        await _comment_once(effect, sides, rt_id, comment, part="v", retry=retry)
        link.voices_shown = count
    fields: dict[str, str | None] = {"customers": str(cluster.get("customer_count") or count)}
    decided = cluster.get("status") == "decided"
    if decided and not link.decision_shown:
        await _comment_once(effect, sides, rt_id, rendering.decision_comment(cluster), part="d", retry=retry)
    if decided:
        fields |= rendering.decision_fields(cluster)
    await _converge(sides, rt_id, TicketChanges(fields=fields, status="resolved" if decided else None))
    link.voice_count, link.decision_shown, link.updated_at = count, decided, now
    effects.finish(effect, status=DONE, now=now)


async def _create(link: FeedbackLink, cluster: dict[str, Any], voices: list[dict[str, Any]], sides: Sides) -> None:
    desk, settings = sides.helpdesk, sides.settings
    found = await desk.find_ticket_by(field=FIELD, value=str(link.cluster_id))
    if found is None:
        queue = settings.feedback_queue_of(str(cluster.get("owner") or link.owner))
        ticket = NewTicket(
            queue=queue,
            requestor="",  # the owner decides; customers hear the outcome from the notifier, not from RT
            subject=rendering.subject(cluster),
            text=rendering.ticket_text(cluster, voices),
            fields={FIELD: str(link.cluster_id), "feedback owner": str(cluster.get("owner") or link.owner)[:100]},
        )
        found = await desk.create_ticket(ticket)
        link.queue = queue
    link.rt_ticket_id = found


async def _mark_attempted(
    session: AsyncSession, effect: Effect, sides: Sides, link: FeedbackLink, now: datetime
) -> bool:
    """Committed before the first write: after a crash, the retry looks in RT for what it wrote (True: this
    is such a retry)."""
    if effect.attempted_at is not None:
        return True
    rt_id = link.rt_ticket_id
    effect.watermark = await sides.helpdesk.last_change_id(rt_id) if rt_id is not None else 0
    effect.attempted_at = now
    await session.commit()
    return False


async def _comment_once(effect: Effect, sides: Sides, rt_id: int, content: Comment, *, part: str, retry: bool) -> None:
    desk, marker = sides.helpdesk, f"{effect.marker}-{part}"
    if retry and await desk.has_comment(rt_id, marker=marker, after=effect.watermark or 0):
        return
    await desk.add_comment(
        rt_id, Comment(subject=f"{content.subject} [{marker}]", text=f"{content.text}\n\n[{marker}]")
    )


async def _converge(sides: Sides, rt_id: int, wanted: TicketChanges) -> None:
    """Only what RT does not show yet is written (a retry after a crash changes nothing twice)."""
    ticket = await sides.helpdesk.read_ticket(rt_id)
    fields = {k: v for k, v in wanted.fields.items() if (ticket.fields.get(k) or None) != (v or None)}
    status = wanted.status if wanted.status is not None and wanted.status != ticket.status else None
    if fields or status is not None:
        await sides.helpdesk.change_ticket(rt_id, TicketChanges(status=status, fields=fields))
