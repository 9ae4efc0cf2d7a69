"""Carrying out one effect in the helpdesk, so that it happens once whatever crashes in between.

Before a write whose outcome cannot be read back from the helpdesk's state alone, the effect is marked
attempted and the helpdesk's last change id is kept (committed). A retry of an attempted effect first
looks in the helpdesk's history after that point: a comment carrying the effect's marker, or the owner or
status the bridge set. A ticket is found by firstcall's ticket id in its custom field before it is made.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk import erasure
from services.helpdesk.desk.port import Comment, DeskTicket, TicketChanges
from services.helpdesk.effects import service as effects
from services.helpdesk.effects.models import DONE, DROPPED, SUPERSEDED, Effect
from services.helpdesk.feedback import mirror as feedback_mirror
from services.helpdesk.links import service as links
from services.helpdesk.links.models import TicketLink
from services.helpdesk.outbound import creation, planning
from services.helpdesk.outbound.context import context_comment
from services.helpdesk.outbound.messages import known_issue_field
from services.helpdesk.outbound.sides import Sides


@dataclass(frozen=True)
class Job:
    """One effect being carried out on a ticket that exists in the helpdesk."""

    session: AsyncSession
    effect: Effect
    link: TicketLink
    sides: Sides
    now: datetime

    @property
    def rt_id(self) -> int:
        assert self.link.rt_ticket_id is not None, "only effects on created tickets make a job"
        return self.link.rt_ticket_id

    def finish(self, status: str = DONE, note: str | None = None) -> None:
        effects.finish(self.effect, status=status, now=self.now, note=note)

    def wait(self, reason: str) -> None:
        effects.wait(self.effect, now=self.now, seconds=self.sides.settings.poll_interval_seconds, reason=reason)

    async def mark_attempted(self, watermark: int) -> None:
        """Committed before the write: after a crash, the retry knows to look for the write in RT first."""
        self.effect.attempted_at, self.effect.watermark = self.now, watermark
        await self.session.commit()


async def carry_out(*, session: AsyncSession, effect: Effect, sides: Sides, now: datetime) -> None:
    """One effect, to its end (done, superseded, dropped) or postponed; unavailability raises."""
    if effect.kind in feedback_mirror.KINDS:
        await feedback_mirror.carry_out(session=session, effect=effect, sides=sides, now=now)
        return
    link = await links.ticket_link(session=session, ticket_id=effect.ticket_id)
    if link is None:
        effects.finish(effect, status=DROPPED, now=now, note="the bridge does not know this ticket")
        return
    if effect.kind == planning.CREATE:
        await creation.create_ticket(session=session, effect=effect, link=link, sides=sides, now=now)
        return
    if effect.kind == erasure.ERASE:
        await erasure.erase_in_helpdesk(effect=effect, link=link, sides=sides, now=now)
        return
    job = Job(session, effect, link, sides, now)
    if link.rt_ticket_id is None:
        expiry = timedelta(hours=sides.settings.effect_unlinked_expiry_hours)
        if effect.created_at < now - expiry:
            job.finish(DROPPED, "the ticket was never created in the helpdesk")
        else:
            job.wait("waiting for the RT ticket")
        return
    if effect.kind == planning.OWNER:
        await _owner(job)
    elif effect.kind == planning.STATUS:
        await _status(job)
    elif effect.kind == planning.CONTEXT:
        await _context(job)
    else:
        payload = effect.payload
        content = Comment(subject=payload["subject"], text=payload["text"], html=bool(payload.get("html")))
        await _comment(job, content, payload.get("fields") or {})


async def _owner(job: Job) -> None:
    decided = job.link.owner_decided_at
    if decided is not None and job.effect.decided_at < decided:
        job.finish(SUPERSEDED, "a later owner change made in RT was accepted")
        return
    agent = job.effect.payload.get("agent_id")
    user = await links.rt_user_of_agent(session=job.session, agent_id=uuid.UUID(agent)) if agent else None
    if agent and user is None:
        name = (await job.sides.router.agent(uuid.UUID(agent))).get("display_name") or agent
        text = f"firstcall assigned this ticket to {name}, who has no RT user linked; the owner is unchanged."
        planning.comment(
            session=job.session,
            ticket_id=job.link.ticket_id,
            content=Comment(subject="firstcall: owner", text=text),
            cause=job.effect.cause,
            decided_at=job.effect.decided_at,
            now=job.now,
        )
        job.finish(note="the agent has no RT user")
        return
    queue = await _team_queue(job.sides, agent) if agent else None
    await _converge(job, TicketChanges(owner=user, unowned=user is None, queue=queue), watched="owner", expected=user)


async def _team_queue(sides: Sides, agent: str) -> str | None:
    if not any(key.startswith("team:") for key in sides.settings.queue_map):
        return None
    team = (await sides.router.agent(uuid.UUID(agent))).get("team")
    return sides.settings.queue_for(team=str(team)) if team else None


async def _status(job: Job) -> None:
    decided = job.link.status_decided_at
    if decided is not None and job.effect.decided_at < decided:
        job.finish(SUPERSEDED, "a later status change made in RT was accepted")
        return
    value = str(job.effect.payload["status"])
    await _converge(job, TicketChanges(status=value), watched="status", expected=value)


async def _converge(job: Job, wanted: TicketChanges, *, watched: str, expected: str | None) -> None:
    """Bring the RT ticket to `wanted`, unless an agent's change of the same thing waits to be read back."""
    desk = job.sides.helpdesk
    unread = await desk.changes(job.rt_id, after=job.link.rt_last_change_id, limit=100)
    if any(c.kind == watched and c.author != desk.integration_user for c in unread):
        job.wait(f"an RT change of the {watched} is read back into firstcall first")
        return
    if job.effect.attempted_at is not None and job.effect.watermark is not None:
        mine = await desk.changes(job.rt_id, after=job.effect.watermark, limit=100)
        if any(c.kind == watched and c.author == desk.integration_user and c.new == expected for c in mine):
            job.finish()
            return
    else:
        await job.mark_attempted(unread[-1].id if unread else job.link.rt_last_change_id)
    needed = still_needed(await desk.read_ticket(job.rt_id), wanted)
    if not needed.empty:
        await desk.change_ticket(job.rt_id, needed)
    job.finish()


def still_needed(ticket: DeskTicket, wanted: TicketChanges) -> TicketChanges:
    """The part of `wanted` the ticket does not have yet (status `open` means any active status)."""
    owner_differs = (wanted.owner is not None or wanted.unowned) and ticket.owner != wanted.owner
    status = wanted.status
    if status is not None and (ticket.status == status or (status == "open" and ticket.active)):
        status = None
    return TicketChanges(
        owner=wanted.owner if owner_differs else None,
        unowned=wanted.unowned and owner_differs,
        status=status,
        queue=wanted.queue if wanted.queue is not None and wanted.queue != ticket.queue else None,
        fields={k: v for k, v in wanted.fields.items() if (ticket.fields.get(k) or None) != (v or None)},
    )


async def _context(job: Job) -> None:
    context = await job.sides.router.context(job.link.ticket_id)
    agent = str(job.effect.payload["agent_id"])
    if str((context.get("ticket") or {}).get("agent_id")) != agent:
        job.finish(SUPERSEDED, "reassigned since: the new agent's context follows")
        return
    name = (await job.sides.router.agent(uuid.UUID(agent))).get("display_name") or agent
    why = job.effect.payload.get("why")
    content = context_comment(context, agent=str(name), why=why, article_url=job.sides.settings.article_url)
    await _comment(job, content, _context_fields(context))


def _context_fields(context: dict[str, Any]) -> dict[str, str | None]:
    problem = context.get("problem")
    issue = (context.get("knowledge") or {}).get("known_issue")
    fields: dict[str, str | None] = {}
    if problem:
        fields["problem"] = f"{problem.get('summary')} ({problem.get('customer_count')} customers)"[:250]
    if issue:
        fields["known issue"] = known_issue_field(str(issue.get("title")), str(issue.get("status")))
    return fields


async def _comment(job: Job, content: Comment, fields: dict[str, str | None]) -> None:
    desk, marker = job.sides.helpdesk, job.effect.marker
    written = job.effect.attempted_at is not None and await desk.has_comment(
        job.rt_id, marker=marker, after=job.effect.watermark or 0
    )
    if not written:
        await job.mark_attempted(job.link.rt_last_change_id)
        footer = f"<p><small>[{marker}]</small></p>" if content.html else f"\n\n[{marker}]"
        marked = Comment(subject=f"{content.subject} [{marker}]", text=content.text + footer, html=content.html)
        await desk.add_comment(job.rt_id, marked)
    if fields:
        needed = still_needed(await desk.read_ticket(job.rt_id), TicketChanges(fields=fields))
        if not needed.empty:
            await desk.change_ticket(job.rt_id, needed)
    job.finish()
