"""A ticket's life after it is opened: resolved, transferred away, reopened, or moved by its agent.

Each frees or takes capacity, so each ends by offering the queue to the agent who gained room.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.router import preconditions
from services.router.access.tickets import TicketAction, TicketActor, ticket_to_act_on
from services.router.classification import service as intent_service
from services.router.history import service as history
from services.router.metrics import RESOLVED
from services.router.routing import service as routing
from services.router.settings import RouterSettings
from services.router.tickets import transitions
from services.router.tickets.life import Trigger, ensure_allowed
from services.router.tickets.models import ACTIVE_STATUSES, Ticket, Transfer
from services.router.tickets.schemas import StatusChange, TicketRead, TransferCreate
from shared.errors import Conflict, invalid
from shared.events.catalogue import TicketReopened, TicketResolved, TicketTransferred
from shared.messaging.outbox import add_events


async def resolve_ticket(
    *,
    session: AsyncSession,
    ticket: Ticket,
    resolution_type: str,
    agent_id: uuid.UUID | None,
    note: str | None,
    article_ids: Sequence[uuid.UUID],
    ledger_summary: str,
    ledger_ref: uuid.UUID | None,
    actor: str,
    now: datetime,
    trigger: Trigger = Trigger.RESOLUTION,
    approval_id: uuid.UUID | None = None,
) -> None:
    """Close the first contact: resolved, counted, learned from, and the agent's capacity freed."""
    await transitions.move(
        session=session,
        ticket=ticket,
        to="resolved",
        trigger=trigger,
        actor=actor,
        agent_id=agent_id,
        now=now,
        reason=ledger_summary[:2_000],
        approval_id=approval_id,
    )
    ticket.resolution_type, ticket.resolved_by, ticket.resolved_at = resolution_type, agent_id, now
    session.info.setdefault(RESOLVED, []).append((ticket.channel, ticket.intent or "unknown", ticket.transfers == 0))
    ticket.first_responded_at = ticket.first_responded_at or now
    history.record(
        session=session,
        customer_id=ticket.customer_id,
        kind=f"ledger.{resolution_type}" if ledger_ref else "ticket.resolved",
        ref_id=ledger_ref or ticket.id,
        ticket_id=ticket.id,
        summary=ledger_summary,
        occurred_at=now,
        actor=actor,
    )
    await add_events(
        session,
        TicketResolved(
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            agent_id=agent_id,
            resolution_type=resolution_type,
            intent=ticket.intent,
            article_ids=list(article_ids),
            resolution_note=note,
            transfers=ticket.transfers,
            first_contact=ticket.transfers == 0,
            resolved_at=now,
        ),
    )
    if ticket.intent is not None:
        await intent_service.learn_from_ticket(
            session=session, ticket_id=ticket.id, text=ticket.text, intent=ticket.intent, source="resolution", now=now
        )
    if ticket.agent_id is not None:
        await session.flush()
        await routing.offer_queue(session=session, agent_id=ticket.agent_id, now=now)


async def reopen_ticket(
    *,
    session: AsyncSession,
    ticket_id: uuid.UUID,
    reason: str | None,
    settings: RouterSettings,
    actor: TicketActor,
    now: datetime,
) -> Ticket:
    """The fix did not hold: the ticket is open again and goes back to routing (its agent first)."""
    ticket = await ticket_to_act_on(session=session, ticket_id=ticket_id, actor=actor, action=TicketAction.REOPEN)
    ensure_allowed(ticket.status, "open", Trigger.REOPEN, slug="ticket-not-resolved")  # type: ignore[arg-type]
    previous_agent = ticket.agent_id
    ticket.agent_id, ticket.assigned_at = None, None  # before the move: its event says who has it now (nobody)
    await transitions.move(
        session=session,
        ticket=ticket,
        to="open",
        trigger=Trigger.REOPEN,
        actor=actor.key_id,
        agent_id=actor.agent_id,
        now=now,
        reason=reason,
        slug="ticket-not-resolved",
    )
    ticket.reopened_at = now
    history.record(
        session=session,
        customer_id=ticket.customer_id,
        kind="ticket.reopened",
        ref_id=ticket.id,
        ticket_id=ticket.id,
        summary=reason or "reopened",
        occurred_at=now,
        actor=actor.key_id,
    )
    await add_events(
        session, TicketReopened(ticket_id=ticket.id, customer_id=ticket.customer_id, reason=reason, reopened_at=now)
    )
    await session.flush()
    await routing.route_ticket(
        session=session, ticket=ticket, preferred=[("agent who resolved it", previous_agent)], now=now
    )
    return ticket


async def change_status(
    *,
    session: AsyncSession,
    ticket_id: uuid.UUID,
    request: StatusChange,
    actor: TicketActor,
    expected: preconditions.Expected | None,
    now: datetime,
) -> Ticket:
    """An agent moves a ticket in its life (waiting for the customer, on hold, back, cancelled, closed).

    Asking for the status the ticket already has changes nothing and answers the ticket: a retried call
    (the helpdesk bridge's, say) is harmless.
    """
    ticket = await ticket_to_act_on(
        session=session, ticket_id=ticket_id, actor=actor, action=TicketAction.CHANGE_STATUS
    )
    preconditions.check(expected, TicketRead.model_validate(ticket))
    if ticket.status == request.status:
        return ticket
    await _check_cancellation(session, ticket, request)
    held_capacity = ticket.status in ACTIVE_STATUSES
    await transitions.move(
        session=session,
        ticket=ticket,
        to=request.status,
        trigger=Trigger.STATUS_CHANGE,
        actor=actor.key_id,
        agent_id=actor.agent_id,
        now=now,
        reason=request.reason,
        cancel_reason=request.cancel_reason,
        duplicate_of=request.duplicate_of,
    )
    await session.flush()
    if ticket.status == "open" and ticket.agent_id is None:  # a waiting ticket a supervisor had set aside
        await routing.route_ticket(session=session, ticket=ticket, preferred=[], now=now)
    elif held_capacity and ticket.status not in ACTIVE_STATUSES and ticket.agent_id is not None:
        await routing.offer_queue(session=session, agent_id=ticket.agent_id, now=now)
    return ticket


async def _check_cancellation(session: AsyncSession, ticket: Ticket, request: StatusChange) -> None:
    """A cancellation says why (a duplicate of which ticket, or spam); other moves carry neither."""
    if request.status != "cancelled":
        for name in ("cancel_reason", "duplicate_of"):
            if getattr(request, name) is not None:
                raise invalid(f"body.{name}", "only with status cancelled")
        return
    if request.cancel_reason is None:
        raise invalid("body.cancel_reason", "say why the ticket is cancelled: duplicate or spam", type="missing")
    if request.duplicate_of is None:
        if request.cancel_reason == "duplicate":
            raise invalid("body.duplicate_of", "a duplicate names the ticket it repeats", type="missing")
        return
    if request.cancel_reason != "duplicate":
        raise invalid("body.duplicate_of", "only for cancel_reason duplicate")
    if request.duplicate_of == ticket.id or await session.get(Ticket, request.duplicate_of) is None:
        raise invalid("body.duplicate_of", f"no other ticket with id {request.duplicate_of}", type="not_found")


async def transfer_ticket(
    *,
    session: AsyncSession,
    ticket_id: uuid.UUID,
    request: TransferCreate,
    actor: TicketActor,
    now: datetime,
) -> tuple[Transfer, Ticket]:
    """Move a ticket away from its agent (a first-contact failure), and route it again."""
    ticket = await ticket_to_act_on(session=session, ticket_id=ticket_id, actor=actor, action=TicketAction.TRANSFER)
    if ticket.status != "open":
        raise Conflict("ticket-not-open", f"the ticket is {ticket.status.replace('_', ' ')}")
    from_agent = ticket.agent_id
    transfer = Transfer(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        from_agent_id=from_agent,
        reason=request.reason,
        note=request.note,
        corrected_intent=request.corrected_intent,
        created_at=now,
    )
    session.add(transfer)
    ticket.transfers += 1
    ticket.agent_id, ticket.assigned_at, ticket.updated_at = None, None, now
    if request.reason == "wrong_intent" and request.corrected_intent:
        ticket.intent, ticket.intent_confidence = request.corrected_intent, 1.0
        await _apply_profile(session, ticket)
        await intent_service.learn_from_ticket(
            session=session, ticket_id=ticket.id, text=ticket.text, intent=ticket.intent, source="transfer", now=now
        )
    await session.flush()
    if request.to_agent_id is not None:
        await _transfer_to(session, ticket, request.to_agent_id, now)
    else:
        await routing.route_ticket(
            session=session, ticket=ticket, preferred=[], now=now, exclude=frozenset({from_agent} if from_agent else ())
        )
    transfer.to_agent_id = ticket.agent_id
    history.record(
        session=session,
        customer_id=ticket.customer_id,
        kind="transfer",
        ref_id=transfer.id,
        ticket_id=ticket.id,
        summary=f"transferred ({request.reason.replace('_', ' ')}){': ' + request.note if request.note else ''}",
        occurred_at=now,
        actor=actor.key_id,
    )
    await add_events(
        session,
        TicketTransferred(
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            from_agent_id=from_agent,
            to_agent_id=ticket.agent_id,
            reason=request.reason,
            note=request.note,
            transferred_at=now,
        ),
    )
    if from_agent is not None:
        await routing.offer_queue(session=session, agent_id=from_agent, now=now)
    return transfer, ticket


async def _apply_profile(session: AsyncSession, ticket: Ticket) -> None:
    profile = await intent_service.profile_of(session=session, intent=ticket.intent)
    ticket.required_skills = dict(profile.required_skills) if profile else {}
    ticket.likely_resolution = profile.likely_resolution if profile else None


async def _transfer_to(session: AsyncSession, ticket: Ticket, agent_id: uuid.UUID, now: datetime) -> None:
    """A named colleague takes it if they have room on the channel; otherwise the transfer is refused."""
    if not await routing.has_capacity(session=session, agent_id=agent_id, channel=ticket.channel):
        raise Conflict("agent-at-capacity", f"agent {agent_id} cannot take another {ticket.channel} ticket now")
    await routing.record_manual_assignment(session=session, ticket=ticket, agent_id=agent_id, now=now)
