"""Assembling the agent's context in one round trip: customer, orders, knowledge, problem, authority."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router import money
from services.router.agents.models import Agent
from services.router.context import offers
from services.router.context.knowledge_client import KnowledgeClient
from services.router.context.models import KnownIssueStatus, ProblemSnapshot, TicketKnowledge
from services.router.context.schemas import (
    AllowedAction,
    CustomerContext,
    KnowledgeContext,
    OfferedResolutionRead,
    OrderContext,
    OwnerRead,
    ProblemContext,
    TicketContext,
)
from services.router.customers import service as customer_service
from services.router.customers.schemas import ActivityRead, CustomerRead
from services.router.history import service as history
from services.router.ledger import policy
from services.router.ledger import service as ledger_service
from services.router.ledger.models import Approval, LedgerEntry
from services.router.ledger.schemas import ApprovalRead, LedgerEntryRead
from services.router.orders import service as order_service
from services.router.orders.models import Order
from services.router.orders.schemas import OrderRead
from services.router.settings import RouterSettings
from services.router.tickets import service as ticket_service
from services.router.tickets.life import RESOLVABLE_STATUSES, UNFINISHED_STATUSES
from services.router.tickets.models import Ticket
from services.router.tickets.schemas import TicketRead

ACTION_TYPES = ("credit", "refund", "return", "replacement")


async def ticket_context(
    *,
    session: AsyncSession,
    ticket_id: uuid.UUID,
    agent_id: uuid.UUID | None,
    settings: RouterSettings,
    knowledge: KnowledgeClient,
    now: datetime,
) -> TicketContext:
    """Everything the first agent needs for this ticket, as of now."""
    ticket = await ticket_service.get_ticket(session=session, ticket_id=ticket_id)
    acting = agent_id or ticket.agent_id
    orders = await order_service.orders_of(session=session, customer_id=ticket.customer_id)
    refunded = await _refunded(session, [o.id for o in orders])
    order_views = [_order_context(o, refunded.get(o.id, Decimal("0")), settings, now) for o in orders]
    pending = (
        await session.scalars(select(Approval).where(Approval.ticket_id == ticket.id, Approval.status == "pending"))
    ).all()
    return TicketContext(
        ticket=TicketRead.model_validate(ticket),
        customer=await _customer(session, ticket, now),
        orders=order_views,
        ledger=[
            LedgerEntryRead.model_validate(e)
            for e in await ledger_service.ledger_for(session=session, customer_id=ticket.customer_id, limit=20)
        ],
        pending_approvals=[ApprovalRead.model_validate(a) for a in pending],
        knowledge=await _knowledge(session, ticket, knowledge),
        problem=await _problem(session, ticket),
        offered_resolution=await _offered(session, ticket),
        acting_agent_id=acting,
        allowed_actions=await _allowed(
            session,
            ticket=ticket,
            agent_id=acting,
            orders=list(orders),
            refunded=refunded,
            settings=settings,
            now=now,
        ),
        generated_at=now,
    )


async def _customer(session: AsyncSession, ticket: Ticket, now: datetime) -> CustomerContext:
    customer = await customer_service.get_customer(session=session, customer_id=ticket.customer_id)
    owner = await session.get(Agent, customer.owner_agent_id) if customer.owner_agent_id else None
    others = (
        await session.scalars(
            select(Ticket)
            .where(Ticket.customer_id == customer.id, Ticket.id != ticket.id, Ticket.status.in_(UNFINISHED_STATUSES))
            .order_by(Ticket.opened_at.desc())
            .limit(20)
        )
    ).all()
    recent = await history.recent(session=session, customer_id=customer.id, limit=15)
    return CustomerContext(
        profile=CustomerRead.model_validate(customer),
        owner=OwnerRead(agent_id=owner.id, name=owner.display_name) if owner else None,
        tenure_days=max((now - customer.created_at).days, 0),
        open_tickets=[TicketRead.model_validate(t) for t in others],
        recent_history=[ActivityRead.model_validate(a) for a in recent],
    )


async def _refunded(session: AsyncSession, order_ids: list[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    if not order_ids:
        return {}
    rows = await session.execute(
        select(LedgerEntry.order_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.order_id.in_(order_ids), LedgerEntry.type.in_(policy.MONEY_TYPES))
        .group_by(LedgerEntry.order_id)
    )
    return {order_id: Decimal(total) for order_id, total in rows if order_id is not None}


def _order_context(order: Order, refunded: Decimal, settings: RouterSettings, now: datetime) -> OrderContext:
    until = order.ordered_at + timedelta(days=settings.return_window_days)
    return OrderContext(
        order=OrderRead.model_validate(order),
        refundable=max(order.total - refunded, Decimal("0")),
        returnable_until=until,
        returnable=now <= until,
    )


async def _knowledge(session: AsyncSession, ticket: Ticket, client: KnowledgeClient) -> KnowledgeContext:
    stored = await session.get(TicketKnowledge, ticket.id)
    if stored is not None:
        known_issue = await _current_known_issue(session, stored.known_issue)
        return KnowledgeContext(source="events", articles=list(stored.articles), known_issue=known_issue)
    fetched = await client.suggestions(ticket.id)
    if fetched is None:
        return KnowledgeContext(source="pending", articles=[], known_issue=None)
    return KnowledgeContext(
        source="http", articles=list(fetched.get("articles") or []), known_issue=fetched.get("known_issue")
    )


async def _current_known_issue(session: AsyncSession, known_issue: dict[str, Any] | None) -> dict[str, Any] | None:
    """The suggestion's known issue with today's status (a fix may have arrived since it was suggested)."""
    if not known_issue or "known_issue_id" not in known_issue:
        return known_issue
    current = await session.get(KnownIssueStatus, uuid.UUID(str(known_issue["known_issue_id"])))
    if current is None:
        return known_issue
    return {
        **known_issue,
        "status": current.status,
        "workaround": current.workaround,
        "fix": current.fix,
        "title": current.title,
    }


async def _offered(session: AsyncSession, ticket: Ticket) -> OfferedResolutionRead | None:
    offer = await offers.current_offer(session=session, ticket_id=ticket.id)
    return OfferedResolutionRead.model_validate(offer) if offer is not None else None


async def _problem(session: AsyncSession, ticket: Ticket) -> ProblemContext | None:
    if ticket.problem_id is None:
        return None
    problem = await session.get(ProblemSnapshot, ticket.problem_id)
    if problem is None:
        return None
    return ProblemContext(
        problem_id=problem.id,
        summary=problem.summary,
        status=problem.status,
        severity=problem.severity,
        customer_count=problem.customer_count,
        other_customers=max(problem.customer_count - 1, 0),
        report_count=problem.report_count,
        resolution=problem.resolution,
        last_seen=problem.last_seen,
    )


async def _allowed(
    session: AsyncSession,
    *,
    ticket: Ticket,
    agent_id: uuid.UUID | None,
    orders: list[Order],
    refunded: dict[uuid.UUID, Decimal],
    settings: RouterSettings,
    now: datetime,
) -> list[AllowedAction]:
    """What this agent may do on this ticket right now without asking anyone."""
    if agent_id is None or ticket.status not in RESOLVABLE_STATUSES:
        return []
    actions = [AllowedAction(type="answer", currency=None, max_without_approval=None, summary="answer and resolve")]
    agent = await session.get(Agent, agent_id)
    if agent is None:
        return actions
    currencies = sorted({o.currency for o in orders} | {c for limits in agent.authority.values() for c in limits})
    for currency in currencies:
        known = await ledger_service.situation(
            session=session, ticket=ticket, agent_id=agent_id, currency=currency, settings=settings, now=now
        )
        for kind in ACTION_TYPES:
            targets: list[Order | None] = [o for o in orders if o.currency == currency] or [None]
            for order in targets:
                if kind in policy.NEEDS_ORDER and order is None:
                    continue
                facts = None
                if order is not None:
                    facts = policy.OrderFacts(
                        order.id,
                        order.customer_id,
                        currency,
                        order.total,
                        refunded.get(order.id, Decimal("0")),
                        order.ordered_at,
                    )
                room = policy.headroom(kind, currency, known, facts)
                if room <= 0:
                    continue
                target = f" on order {order.external_ref or order.id}" if order else ""
                actions.append(
                    AllowedAction(
                        type=kind,
                        currency=currency,
                        max_without_approval=room,
                        order_id=order.id if order else None,
                        summary=f"{kind} up to {money.written(room, currency)} {currency}{target} without approval",
                    )
                )
    return actions
