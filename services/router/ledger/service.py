"""Resolving a ticket within policy: execute at once, ask a supervisor, or refuse naming the rule."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.access.tickets import TicketAction, TicketActor, ticket_to_act_on
from services.router.agents import service as agent_service
from services.router.ledger import policy
from services.router.ledger.models import Approval, LedgerEntry
from services.router.ledger.schemas import ResolutionCreate
from services.router.orders.models import Order
from services.router.settings import RouterSettings
from services.router.tickets import lifecycle, transitions
from services.router.tickets.life import Trigger
from services.router.tickets.models import Ticket
from shared.errors import Conflict, NotFound, ProblemError, invalid
from shared.events.catalogue import (
    ApprovalDecided,
    ApprovalRequested,
    CreditIssued,
    RefundIssued,
    ReplacementAuthorized,
    ReturnAuthorized,
)
from shared.events.resolutions import LedgerEvent
from shared.messaging.outbox import add_events
from shared.web.pagination import Keyset, fetch_page

LEDGER_EVENTS: dict[str, type[LedgerEvent]] = {
    "credit": CreditIssued,
    "refund": RefundIssued,
    "return": ReturnAuthorized,
    "replacement": ReplacementAuthorized,
}


async def order_facts(*, session: AsyncSession, order_id: uuid.UUID) -> policy.OrderFacts:
    """An order with what has already been given back against it."""
    order = await session.get(Order, order_id)
    if order is None:
        raise NotFound("Order", order_id)
    refunded = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.order_id == order_id, LedgerEntry.type.in_(policy.MONEY_TYPES)
        )
    )
    return policy.OrderFacts(
        order.id, order.customer_id, order.currency, order.total, Decimal(refunded or 0), order.ordered_at
    )


async def situation(
    *,
    session: AsyncSession,
    ticket: Ticket,
    agent_id: uuid.UUID,
    currency: str,
    settings: RouterSettings,
    now: datetime,
) -> policy.Situation:
    """The facts besides the request: the ticket, the agent's limits, what the customer got lately."""
    agent = await agent_service.get_agent(session=session, agent_id=agent_id)
    given = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.customer_id == ticket.customer_id,
            LedgerEntry.currency == currency,
            LedgerEntry.type.in_(policy.MONEY_TYPES),
            LedgerEntry.created_at >= now - timedelta(days=settings.customer_cap_days),
        )
    )
    return policy.Situation(
        ticket_status=ticket.status,
        customer_id=ticket.customer_id,
        agent_limits=agent_service.authority_limits(agent),
        customer_given=Decimal(given or 0),
        customer_cap=dict(settings.customer_cap),
        return_window_days=settings.return_window_days,
        now=now,
    )


def _refusal(verdict: policy.Verdict) -> ProblemError:
    status = 409 if verdict.rule == "ticket-not-open" else 422
    return ProblemError(status, "resolution-refused", "Resolution refused", verdict.explanation, rule=verdict.rule)


async def resolve(
    *,
    session: AsyncSession,
    ticket_id: uuid.UUID,
    request: ResolutionCreate,
    actor: TicketActor,
    settings: RouterSettings,
    now: datetime,
) -> tuple[policy.Verdict, LedgerEntry | None, Approval | None, Ticket]:
    """Apply the policy to a requested resolution and carry out what it decides."""
    ticket = await ticket_to_act_on(session=session, ticket_id=ticket_id, actor=actor, action=TicketAction.RESOLVE)
    agent_id = actor.agent
    if request.amount > 0 and request.currency is None:
        raise invalid("body.currency", "required with an amount", type="missing")
    facts = await order_facts(session=session, order_id=request.order_id) if request.order_id else None
    currency = request.currency or (facts.currency if facts else "")
    known = await situation(
        session=session, ticket=ticket, agent_id=agent_id, currency=currency, settings=settings, now=now
    )
    verdict = policy.decide(policy.Request(request.type, request.amount, request.currency, facts), known)
    if verdict.outcome == "refuse":
        raise _refusal(verdict)
    if verdict.outcome == "approval":
        approval = await _request_approval(
            session,
            ticket=ticket,
            request=request,
            agent_id=agent_id,
            verdict=verdict,
            currency=currency,
            actor=actor.key_id,
            now=now,
        )
        return verdict, None, approval, ticket
    entry = await execute(
        session=session,
        ticket=ticket,
        request=request,
        currency=currency,
        agent_id=agent_id,
        approval=None,
        actor=actor.key_id,
        now=now,
    )
    return verdict, entry, None, ticket


async def _request_approval(
    session: AsyncSession,
    *,
    ticket: Ticket,
    request: ResolutionCreate,
    agent_id: uuid.UUID,
    verdict: policy.Verdict,
    currency: str,
    actor: str,
    now: datetime,
) -> Approval:
    approval = Approval(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        customer_id=ticket.customer_id,
        agent_id=agent_id,
        type=request.type,
        order_id=request.order_id,
        amount=request.amount,
        currency=currency,
        reason=request.reason,
        resolution_note=request.note,
        rule=verdict.rule,
        explanation=verdict.explanation,
        status="pending",
        requested_at=now,
    )
    session.add(approval)
    # The agent keeps the ticket and the customer while the supervisor decides: nobody is transferred.
    await transitions.move(
        session=session,
        ticket=ticket,
        to="pending_approval",
        trigger=Trigger.APPROVAL_REQUESTED,
        actor=actor,
        agent_id=agent_id,
        now=now,
        reason=verdict.explanation[:2_000],
        approval_id=approval.id,
    )
    await add_events(
        session,
        ApprovalRequested(
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            approval_id=approval.id,
            agent_id=agent_id,
            resolution_type=request.type,
            order_id=request.order_id,
            amount=request.amount,
            currency=currency or "XXX",
            rule=verdict.rule,
            requested_at=now,
        ),
    )
    return approval


async def execute(
    *,
    session: AsyncSession,
    ticket: Ticket,
    request: ResolutionCreate,
    currency: str,
    agent_id: uuid.UUID,
    approval: Approval | None,
    actor: str,
    now: datetime,
) -> LedgerEntry | None:
    """Book the ledger entry and its event (none for an answer), then resolve the ticket."""
    entry = None
    if request.type != "answer":
        entry = LedgerEntry(
            id=uuid.uuid4(),
            customer_id=ticket.customer_id,
            ticket_id=ticket.id,
            order_id=request.order_id,
            type=request.type,
            amount=request.amount,
            currency=currency,
            reason=request.reason,
            agent_id=agent_id,
            approval_id=approval.id if approval else None,
            approved_by=approval.supervisor_id if approval else None,
            actor=actor,
            created_at=now,
        )
        session.add(entry)
        await add_events(
            session,
            LEDGER_EVENTS[request.type](
                ticket_id=ticket.id,
                customer_id=ticket.customer_id,
                ledger_entry_id=entry.id,
                order_id=request.order_id,
                amount=request.amount,
                currency=currency,
                reason=request.reason,
                agent_id=agent_id,
                approved_by=entry.approved_by,
                occurred_at=now,
            ),
        )
    await lifecycle.resolve_ticket(
        session=session,
        ticket=ticket,
        resolution_type=request.type,
        agent_id=agent_id,
        note=request.note,
        article_ids=request.article_ids,
        ledger_summary=f"{request.type} {request.amount} {currency}: {request.reason}" if entry else request.reason,
        ledger_ref=entry.id if entry else None,
        actor=actor,
        now=now,
        trigger=Trigger.RESOLUTION if approval is None else Trigger.APPROVAL_APPROVED,
        approval_id=approval.id if approval else None,
    )
    return entry


async def decide(
    *,
    session: AsyncSession,
    approval_id: uuid.UUID,
    approved: bool,
    note: str | None,
    actor: TicketActor,
    settings: RouterSettings,
    now: datetime,
) -> tuple[Approval, LedgerEntry | None, Ticket]:
    """A supervisor's answer: execute the resolution (hard rules still apply) or hand it back to the agent."""
    approval = await session.get(Approval, approval_id, with_for_update=True)
    if approval is None:
        raise NotFound("Approval", approval_id)
    if approval.status != "pending":
        raise Conflict("approval-decided", f"the approval was already {approval.status}")
    ticket = await ticket_to_act_on(
        session=session, ticket_id=approval.ticket_id, actor=actor, action=TicketAction.DECIDE_APPROVAL
    )
    supervisor_id = actor.agent
    request = ResolutionCreate(
        type=approval.type,
        order_id=approval.order_id,
        amount=approval.amount,
        currency=approval.currency or None,
        reason=approval.reason,
        note=approval.resolution_note,
    )
    entry = None
    if approved:
        facts = await order_facts(session=session, order_id=approval.order_id) if approval.order_id else None
        known = await situation(
            session=session,
            ticket=ticket,
            agent_id=approval.agent_id,
            currency=approval.currency,
            settings=settings,
            now=now,
        )
        # Facts may have changed while it waited (another refund): the hard rules are checked again.
        hard = policy.hard_rule(
            policy.Request(request.type, request.amount, request.currency, facts),
            # The ticket waits for this very decision: its status is no reason to refuse.
            policy.Situation(**{**known.__dict__, "ticket_status": "open"}),
        )
        if hard is not None:
            raise _refusal(hard)
    approval.status = "approved" if approved else "denied"
    approval.supervisor_id, approval.decision_note, approval.decided_at = supervisor_id, note, now
    if not approved:  # the agent keeps the ticket and resolves it another way
        await transitions.move(
            session=session,
            ticket=ticket,
            to="open",
            trigger=Trigger.APPROVAL_DENIED,
            actor=actor.key_id,
            agent_id=supervisor_id,
            now=now,
            reason=note,
            approval_id=approval.id,
        )
    await add_events(
        session,
        ApprovalDecided(
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            approval_id=approval.id,
            supervisor_id=supervisor_id,
            approved=approved,
            note=note,
            decided_at=now,
        ),
    )
    if approved:
        entry = await execute(
            session=session,
            ticket=ticket,
            request=request,
            currency=approval.currency,
            agent_id=approval.agent_id,
            approval=approval,
            actor=actor.key_id,
            now=now,
        )
    return approval, entry, ticket


async def withdraw(
    *, session: AsyncSession, approval_id: uuid.UUID, reason: str | None, actor: TicketActor, now: datetime
) -> tuple[Approval, Ticket]:
    """The agent who asked takes the request back (found another way, asked by mistake) and works on."""
    approval = await session.get(Approval, approval_id, with_for_update=True)  # approval, then ticket: as `decide`
    if approval is None:
        raise NotFound("Approval", approval_id)
    ticket = await ticket_to_act_on(
        session=session, ticket_id=approval.ticket_id, actor=actor, action=TicketAction.WITHDRAW_APPROVAL
    )
    if actor.agent != approval.agent_id:
        raise ProblemError(
            403,
            "forbidden",
            "Only the agent who asked may withdraw an approval",
            f"agent {approval.agent_id} asked for this approval; a supervisor decides it instead",
            rule="approval-of-another-agent",
        )
    if approval.status != "pending":
        raise Conflict("approval-decided", f"the approval was already {approval.status}")
    approval.status, approval.decision_note, approval.decided_at = "withdrawn", reason, now
    await transitions.move(
        session=session,
        ticket=ticket,
        to="open",
        trigger=Trigger.APPROVAL_WITHDRAWN,
        actor=actor.key_id,
        agent_id=actor.agent,
        now=now,
        reason=reason,
        approval_id=approval.id,
    )
    return approval, ticket


async def approvals(
    *, session: AsyncSession, status: str | None, limit: int, cursor: str | None
) -> tuple[list[Approval], str | None]:
    """A page of approvals, oldest first (a supervisor's work list), and the cursor of the next."""
    query = select(Approval)
    if status is not None:
        query = query.where(Approval.status == status)
    return await fetch_page(session, query, _OLDEST_FIRST, limit=limit, cursor=cursor)


_OLDEST_FIRST = Keyset("approvals", ((Approval.requested_at, False), (Approval.id, False)))


async def get_approval(*, session: AsyncSession, approval_id: uuid.UUID) -> Approval:
    approval = await session.get(Approval, approval_id)
    if approval is None:
        raise NotFound("Approval", approval_id)
    return approval


async def ledger_for(*, session: AsyncSession, customer_id: uuid.UUID, limit: int = 50) -> Sequence[LedgerEntry]:
    """A customer's latest ledger entries."""
    return (
        await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.customer_id == customer_id)
            .order_by(LedgerEntry.created_at.desc())
            .limit(limit)
        )
    ).all()
