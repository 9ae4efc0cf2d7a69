"""Opening tickets and working on them: every change is stored with its events in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router import preconditions
from services.router.access.tickets import TicketAction, TicketActor, ticket_to_act_on
from services.router.classification import service as intent_service
from services.router.classification.service import IntentClassifier, IntentProfiles
from services.router.customers import merging
from services.router.customers import service as customer_service
from services.router.feedback import service as feedback_service
from services.router.history import service as history
from services.router.routing import engine
from services.router.routing import service as routing
from services.router.settings import RouterSettings
from services.router.tickets.life import UNFINISHED_STATUSES
from services.router.tickets.models import PRIORITY_RANK, Ticket, TicketNote, TicketStatusChange
from services.router.tickets.schemas import NoteCreate, TicketCreate, TicketRead, TicketUpdate
from shared.errors import Conflict, NotFound
from shared.events.catalogue import TicketOpened, TicketUpdated
from shared.inserts import stage_new
from shared.messaging.outbox import add_events

# A ticket moves a handful of times; this bounds the answer against a pathological one.
MAX_STATUS_CHANGES = 500


@dataclass
class Opened:
    ticket: Ticket
    decision: engine.Decision
    queue_position: int | None
    customer_created: bool
    possible_duplicates: list[uuid.UUID]


async def open_ticket(
    *,
    session: AsyncSession,
    request: TicketCreate,
    classifier: IntentClassifier,
    profiles: IntentProfiles,
    settings: RouterSettings,
    actor: str,
    now: datetime,
) -> Opened:
    """Recognise the customer, classify, store, route: the whole hot path in the caller's transaction."""
    pairs = customer_service.identity_pairs(
        request.customer, phone_region=settings.default_phone_region, field_prefix="body.customer"
    )
    # Its rows at commit, with the ticket's: nothing below writes a row referring to the customer through
    # the ORM (a merge moves existing rows only), and a conflicting identity fails the commit and is retried.
    recognition = await customer_service.recognise(
        session=session, pairs=pairs, name=request.customer.name, now=now, at_commit=True
    )
    customer = recognition.customer
    duplicates = recognition.other_matches
    if duplicates and settings.auto_merge_customers:
        for other in duplicates:
            customer, _ = await merging.merge_customers(
                session=session,
                survivor_id=customer.id,
                merged_id=other,
                reason="one ticket's identities belonged to both",
                actor=actor,
                now=now,
            )
        duplicates = []
    ticket = await _new_ticket(
        session,
        request=request,
        customer_id=customer.id,
        classifier=classifier,
        profiles=profiles,
        settings=settings,
        now=now,
    )
    feedback = feedback_service.kind_of(intent=ticket.intent, settings=settings)
    if feedback is not None:
        feedback_service.mark_at_open(ticket, feedback)
    await add_events(
        session,
        TicketOpened(
            ticket_id=ticket.id,
            customer_id=customer.id,
            customer_name=customer.display_name,
            channel=request.channel,
            subject=ticket.subject,
            description=ticket.description,
            priority=ticket.priority,
            opened_at=now,
            attributes=ticket.attributes,
            intent=ticket.intent,
            intent_confidence=ticket.intent_confidence,
        ),
    )
    if feedback is not None:
        # Feedback is heard and resolved as it is opened: no agent is taken from the queue for it.
        rows = await feedback_service.receive_at_open(
            session=session, ticket=ticket, kind=feedback, customer_name=customer.display_name, now=now
        )
        opened_entry = history.entry(
            customer_id=customer.id,
            kind="ticket.opened",
            ref_id=ticket.id,
            ticket_id=ticket.id,
            summary=f"{ticket.channel}: {ticket.subject}",
            occurred_at=now,
            actor=actor,
        )
        stage_new(session, ticket, opened_entry, *rows)
        return Opened(ticket, feedback_service.DECISION, None, recognition.created, duplicates)
    # A customer met for the first time has no owner and no earlier ticket: skip the continuity lookup.
    preferred = []
    if not recognition.created:
        with session.no_autoflush:
            preferred = await routing.continuity_preferences(
                session=session,
                ticket=ticket,
                owner_agent_id=customer.owner_agent_id,
                since=now - timedelta(days=settings.continuity_days),
            )
    decision, record, position = await routing.route_new_ticket(
        session=session, ticket=ticket, preferred=preferred, now=now
    )
    opened = history.entry(
        customer_id=customer.id,
        kind="ticket.opened",
        ref_id=ticket.id,
        ticket_id=ticket.id,
        summary=f"{ticket.channel}: {ticket.subject}",
        occurred_at=now,
        actor=actor,
    )
    # Inserted once, already routed, at commit with the events: the unit of work would cost more than the rows.
    stage_new(session, ticket, record, opened)
    return Opened(ticket, decision, position, recognition.created, duplicates)


async def _new_ticket(
    session: AsyncSession,
    *,
    request: TicketCreate,
    customer_id: uuid.UUID,
    classifier: IntentClassifier,
    profiles: IntentProfiles,
    settings: RouterSettings,
    now: datetime,
) -> Ticket:
    classification = classifier.classify(f"{request.subject}\n{request.description}")
    profile = await profiles.get(session, classification.intent)
    priority = request.priority
    if profile is not None and profile.priority and PRIORITY_RANK[profile.priority] > PRIORITY_RANK[priority]:
        priority = profile.priority  # type: ignore[assignment]
    return Ticket(
        id=uuid.uuid4(),
        customer_id=customer_id,
        channel=request.channel,
        subject=request.subject,
        description=request.description,
        priority=priority,
        priority_rank=PRIORITY_RANK[priority],
        status="open",
        status_changed_at=now,
        sla_paused_seconds=0,
        attributes=dict(request.attributes),
        intent=classification.intent,
        intent_confidence=round(classification.confidence, 4) if classification.alternatives else None,
        required_skills=dict(profile.required_skills) if profile else {},
        likely_resolution=profile.likely_resolution if profile else None,
        first_response_due_at=now + timedelta(minutes=settings.sla_minutes.get(priority, 60)),
        transfers=0,
        opened_at=now,
        updated_at=now,
    )


async def get_ticket(*, session: AsyncSession, ticket_id: uuid.UUID, lock: bool = False) -> Ticket:
    """The ticket, or a 404 problem; `lock` holds it until commit (state changes)."""
    ticket = await session.get(Ticket, ticket_id, with_for_update=lock)
    if ticket is None:
        raise NotFound("Ticket", ticket_id)
    return ticket


async def status_changes(*, session: AsyncSession, ticket_id: uuid.UUID) -> Sequence[TicketStatusChange]:
    """A ticket's life as audited, oldest first (a 404 problem for an unknown ticket)."""
    await get_ticket(session=session, ticket_id=ticket_id)
    query = select(TicketStatusChange).where(TicketStatusChange.ticket_id == ticket_id)
    query = query.order_by(TicketStatusChange.changed_at, TicketStatusChange.id).limit(MAX_STATUS_CHANGES)
    return (await session.scalars(query)).all()


async def update_ticket(
    *,
    session: AsyncSession,
    ticket_id: uuid.UUID,
    request: TicketUpdate,
    actor: TicketActor,
    settings: RouterSettings,
    now: datetime,
    expected: preconditions.Expected | None = None,
) -> Ticket:
    """Correct a ticket; knowledge hears of text and intent changes and suggests again."""
    ticket = await ticket_to_act_on(session=session, ticket_id=ticket_id, actor=actor, action=TicketAction.UPDATE)
    preconditions.check(expected, TicketRead.model_validate(ticket))
    if ticket.status not in UNFINISHED_STATUSES:
        raise Conflict("ticket-not-open", f"the ticket is {ticket.status}")
    changes = request.model_dump(exclude_unset=True, exclude={"agent_id"})
    changed = [name for name, value in changes.items() if getattr(ticket, name) != value]
    if not changed:
        return ticket
    for name in changed:
        setattr(ticket, name, changes[name])
    if "priority" in changed:
        ticket.priority_rank = PRIORITY_RANK[ticket.priority]
    if "intent" in changed:
        ticket.intent_confidence = 1.0  # an agent's correction is certain
        profile = await intent_service.profile_of(session=session, intent=ticket.intent)
        ticket.required_skills = dict(profile.required_skills) if profile else {}
        ticket.likely_resolution = profile.likely_resolution if profile else None
    ticket.updated_at = now
    await add_events(
        session,
        TicketUpdated(
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            subject=ticket.subject,
            description=ticket.description,
            priority=ticket.priority,
            intent=ticket.intent,
            intent_confidence=ticket.intent_confidence,
            changed=changed,
            updated_at=now,
        ),
    )
    return ticket


async def add_note(
    *, session: AsyncSession, ticket_id: uuid.UUID, request: NoteCreate, actor: TicketActor, now: datetime
) -> TicketNote:
    """Record what an agent wrote; the assigned agent's first public note is the first response."""
    ticket = await ticket_to_act_on(session=session, ticket_id=ticket_id, actor=actor, action=TicketAction.NOTE)
    agent_id = actor.agent
    note = TicketNote(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        agent_id=agent_id,
        body=request.body,
        public=request.public,
        created_at=now,
    )
    session.add(note)
    if request.public and ticket.first_responded_at is None:
        ticket.first_responded_at = now
    ticket.updated_at = now
    history.record(
        session=session,
        customer_id=ticket.customer_id,
        kind="note",
        ref_id=note.id,
        ticket_id=ticket.id,
        summary=request.body,
        occurred_at=now,
        actor=str(agent_id),
    )
    await session.flush()
    return note
