"""A resolved problem's fix offered to its open tickets: the agent confirms it in one call, or the router
resolves them with it when FIRSTCALL_ROUTER_AUTO_RESOLVE_ON_FIX says so."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.access.tickets import TicketAction, TicketActor, ticket_to_act_on
from services.router.context.models import OfferedResolution
from services.router.history import service as history
from services.router.ledger import service as ledger_service
from services.router.ledger.schemas import ResolutionCreate
from services.router.settings import RouterSettings
from services.router.tickets import lifecycle
from services.router.tickets.life import RESOLVABLE_STATUSES, UNFINISHED_STATUSES
from services.router.tickets.models import Ticket
from shared.errors import Conflict, NotFound
from shared.events.catalogue import ProblemResolved

AUTO_ACTOR = "router:problem-fix"


async def offer_fix(*, session: AsyncSession, event: ProblemResolved, settings: RouterSettings) -> int:
    """Offer the fix to every unfinished member ticket (once each), resolving them at once if configured."""
    tickets = (
        await session.scalars(
            select(Ticket)
            .where(
                or_(Ticket.id.in_(event.ticket_ids), Ticket.problem_id == event.problem_id),
                Ticket.status.in_(UNFINISHED_STATUSES),
            )
            .order_by(Ticket.id)
            .with_for_update()
        )
    ).all()
    offered = 0
    for ticket in tickets:
        if await session.get(OfferedResolution, (ticket.id, event.problem_id)) is not None:
            continue
        offer = OfferedResolution(
            ticket_id=ticket.id,
            problem_id=event.problem_id,
            answer=event.resolution,
            fix_version=event.fix_version,
            article_id=event.article_id,
            status="offered",
            offered_at=event.resolved_at,
        )
        session.add(offer)
        history.record(
            session=session,
            customer_id=ticket.customer_id,
            kind="resolution.offered",
            ref_id=event.problem_id,
            ticket_id=ticket.id,
            summary=f"problem {event.problem_id} fixed; its fix is offered: {event.resolution}",
            occurred_at=event.resolved_at,
            actor=AUTO_ACTOR,
        )
        offered += 1
        if settings.auto_resolve_on_fix and ticket.status in RESOLVABLE_STATUSES:
            await _resolve_with(session, ticket=ticket, offer=offer, now=event.resolved_at)
    return offered


async def _resolve_with(session: AsyncSession, *, ticket: Ticket, offer: OfferedResolution, now: datetime) -> None:
    """The router resolves the ticket with the fix, as an agent's answer would (FCR counts the same way)."""
    await lifecycle.resolve_ticket(
        session=session,
        ticket=ticket,
        resolution_type="answer",
        agent_id=ticket.agent_id,  # None for a queued ticket: resolved with no agent
        note=offer.answer,
        article_ids=[offer.article_id] if offer.article_id else [],
        ledger_summary=_summary(offer),
        ledger_ref=None,
        actor=AUTO_ACTOR,
        now=now,
    )
    offer.status, offer.decided_at, offer.decided_by = "auto_resolved", now, AUTO_ACTOR


def _summary(offer: OfferedResolution) -> str:
    return f"fix of problem {offer.problem_id}: {offer.answer}"[:2_000]


async def current_offer(*, session: AsyncSession, ticket_id: uuid.UUID, lock: bool = False) -> OfferedResolution | None:
    """The latest fix offered to the ticket, whatever became of it; `lock` holds it until commit."""
    query = (
        select(OfferedResolution)
        .where(OfferedResolution.ticket_id == ticket_id)
        .order_by(OfferedResolution.offered_at.desc())
        .limit(1)
    )
    return await session.scalar(query.with_for_update() if lock else query)


async def accept_offer(
    *,
    session: AsyncSession,
    ticket_id: uuid.UUID,
    note: str | None,
    actor: TicketActor,
    settings: RouterSettings,
    now: datetime,
) -> tuple[OfferedResolution, Ticket]:
    """The agent confirms the offered fix: the ticket is resolved with it as an `answer`, within policy."""
    # Who may resolve the ticket is checked first: another agent learns nothing about its offers.
    await ticket_to_act_on(session=session, ticket_id=ticket_id, actor=actor, action=TicketAction.RESOLVE)
    offer = await current_offer(session=session, ticket_id=ticket_id, lock=True)
    if offer is None:
        raise NotFound("Offered resolution of ticket", ticket_id)
    if offer.status != "offered":
        raise Conflict(
            "offer-decided",
            f"the fix offered to this ticket was {offer.status.replace('_', ' ')} already",
            rule="offer-decided",
            offer_status=offer.status,
        )
    request = ResolutionCreate(
        type="answer",
        reason=_summary(offer),
        note=(offer.answer + (f"\n\n{note}" if note else ""))[:20_000],
        article_ids=[offer.article_id] if offer.article_id else [],
    )
    _, _, _, ticket = await ledger_service.resolve(
        session=session, ticket_id=ticket_id, request=request, actor=actor, settings=settings, now=now
    )
    offer.status, offer.decided_at, offer.decided_by = "accepted", now, actor.key_id
    return offer, ticket
