"""Assembling the agent's context in one round trip: customer, orders, knowledge, problem, authority.

A context read is the agent's hot path (docs/decisions/0042): a fixed handful of Core statements, whatever
the customer has, run one after the other on the session's connection inside one greenlet. The ticket and
what hangs off it one-to-one (customer, owner, acting agent, kept knowledge, problem, latest offer) are one
row; each list is one statement (orders come with their lines and refunded amounts; what the customer was
given lately is one grouped sum for every currency). No ORM instances are built: rows go straight into the
response's models. No statement has an expanding IN list, so each is compiled once per process.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, RowMapping, Table, bindparam, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router import money
from services.router.agents.models import Agent
from services.router.context.knowledge_client import KnowledgeClient
from services.router.context.models import KnownIssueStatus, OfferedResolution, ProblemSnapshot, TicketKnowledge
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
from services.router.customers.models import Customer, CustomerIdentity
from services.router.customers.schemas import ActivityRead, CustomerRead
from services.router.history.models import Activity
from services.router.ledger import policy
from services.router.ledger.models import Approval, LedgerEntry
from services.router.ledger.schemas import ApprovalRead, LedgerEntryRead
from services.router.orders.models import Order, OrderItem
from services.router.orders.schemas import OrderRead
from services.router.settings import RouterSettings
from services.router.tickets.life import RESOLVABLE_STATUSES, UNFINISHED_STATUSES
from services.router.tickets.models import Ticket
from services.router.tickets.schemas import TicketRead
from shared.errors import NotFound

ACTION_TYPES = ("credit", "refund", "return", "replacement")
OPEN_TICKETS = 20
RECENT_HISTORY = 15
LEDGER_ENTRIES = 20
ORDERS = 20
ZERO = Decimal("0")


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


def _prefixed(table: Any, prefix: str) -> list[ColumnElement[Any]]:
    return [column.label(f"{prefix}{column.key}") for column in table.c]


def _fields(row: RowMapping, table: Table, prefix: str) -> dict[str, Any]:
    return {column.key: row[f"{prefix}{column.key}"] for column in table.c}


def _one_of(values: Iterable[str]) -> list[ColumnElement[Any]]:
    # One bound parameter each: a plain `in_(values)` expands at every execution into new SQL to compile.
    return [literal(value) for value in sorted(values)]


_TICKETS, _CUSTOMERS, _KNOWLEDGE = _table(Ticket), _table(Customer), _table(TicketKnowledge)
_PROBLEMS, _OFFERS, _AGENTS = _table(ProblemSnapshot), _table(OfferedResolution), _table(Agent)
_owner, _acting, _earlier = _AGENTS.alias("owner"), _AGENTS.alias("acting"), _OFFERS.alias("earlier")
_latest_offer = (
    select(_earlier.c.problem_id)
    .where(_earlier.c.ticket_id == _TICKETS.c.id)
    .order_by(_earlier.c.offered_at.desc())
    .limit(1)
    .correlate(_TICKETS)
    .scalar_subquery()
)
# The ticket and everything it has at most one of.
_HEAD = (
    select(
        *_prefixed(_TICKETS, "t_"),
        *_prefixed(_CUSTOMERS, "c_"),
        _owner.c.id.label("owner_id"),
        _owner.c.display_name.label("owner_name"),
        _acting.c.id.label("acting_id"),
        _acting.c.authority.label("acting_authority"),
        _KNOWLEDGE.c.ticket_id.label("k_ticket_id"),
        _KNOWLEDGE.c.articles.label("k_articles"),
        _KNOWLEDGE.c.known_issue.label("k_known_issue"),
        *_prefixed(_PROBLEMS, "p_"),
        *_prefixed(_OFFERS, "o_"),
    )
    .select_from(_TICKETS)
    .outerjoin(_CUSTOMERS, _CUSTOMERS.c.id == _TICKETS.c.customer_id)
    .outerjoin(_owner, _owner.c.id == _CUSTOMERS.c.owner_agent_id)
    .outerjoin(
        _acting,
        _acting.c.id == func.coalesce(bindparam("agent_id", type_=_TICKETS.c.agent_id.type), _TICKETS.c.agent_id),
    )
    .outerjoin(_KNOWLEDGE, _KNOWLEDGE.c.ticket_id == _TICKETS.c.id)
    .outerjoin(_PROBLEMS, _PROBLEMS.c.id == _TICKETS.c.problem_id)
    .outerjoin(_OFFERS, (_OFFERS.c.ticket_id == _TICKETS.c.id) & (_OFFERS.c.problem_id == _latest_offer))
    .where(_TICKETS.c.id == bindparam("ticket_id"))
)
_KNOWN_ISSUE = select(_table(KnownIssueStatus)).where(
    _table(KnownIssueStatus).c.known_issue_id == bindparam("known_issue_id")
)
_IDENTITIES = select(_table(CustomerIdentity)).where(_table(CustomerIdentity).c.customer_id == bindparam("customer_id"))
_OTHER_OPEN = (
    select(_TICKETS)
    .where(
        _TICKETS.c.customer_id == bindparam("customer_id"),
        _TICKETS.c.id != bindparam("ticket_id"),
        _TICKETS.c.status.in_(_one_of(UNFINISHED_STATUSES)),
    )
    .order_by(_TICKETS.c.opened_at.desc())
    .limit(OPEN_TICKETS)
)
_HISTORY = (
    select(_table(Activity))
    .where(_table(Activity).c.customer_id == bindparam("customer_id"))
    .order_by(_table(Activity).c.occurred_at.desc(), _table(Activity).c.id.desc())
    .limit(RECENT_HISTORY)
)
_LEDGER, _APPROVALS, _ORDERS, _ITEMS = _table(LedgerEntry), _table(Approval), _table(Order), _table(OrderItem)
_LEDGER_ENTRIES = (
    select(_LEDGER)
    .where(_LEDGER.c.customer_id == bindparam("customer_id"))
    .order_by(_LEDGER.c.created_at.desc())
    .limit(LEDGER_ENTRIES)
)
_PENDING = select(_APPROVALS).where(
    _APPROVALS.c.ticket_id == bindparam("ticket_id"), _APPROVALS.c.status == literal("pending")
)
_money_given = _LEDGER.c.type.in_(_one_of(policy.MONEY_TYPES))
_refunded = (
    select(func.sum(_LEDGER.c.amount))
    .where(_LEDGER.c.order_id == _ORDERS.c.id, _money_given)
    .correlate(_ORDERS)
    .scalar_subquery()
)
_latest_orders = (
    select(*_prefixed(_ORDERS, "o_"), _refunded.label("refunded"))
    .where(_ORDERS.c.customer_id == bindparam("customer_id"))
    .order_by(_ORDERS.c.ordered_at.desc())
    .limit(ORDERS)
    .subquery("latest")
)
# The latest orders, each with its lines (one row per line) and what was refunded, returned or credited on it.
_ORDER_LINES = (
    select(_latest_orders, *_prefixed(_ITEMS, "i_"))
    .select_from(_latest_orders.outerjoin(_ITEMS, _ITEMS.c.order_id == _latest_orders.c.o_id))
    .order_by(_latest_orders.c.o_ordered_at.desc(), _latest_orders.c.o_id, _ITEMS.c.position)
)
# What the customer was given in each currency within the cap's window (the policy's `customer_given`).
_GIVEN = (
    select(_LEDGER.c.currency, func.coalesce(func.sum(_LEDGER.c.amount), 0).label("given"))
    .where(_LEDGER.c.customer_id == bindparam("customer_id"), _money_given, _LEDGER.c.created_at >= bindparam("since"))
    .group_by(_LEDGER.c.currency)
)


@dataclass(frozen=True)
class _OrderRow:
    fields: dict[str, Any]
    lines: list[dict[str, Any]]
    refunded: Decimal

    @property
    def id(self) -> uuid.UUID:
        value: uuid.UUID = self.fields["id"]
        return value

    @property
    def currency(self) -> str:
        value: str = self.fields["currency"]
        return value


@dataclass(frozen=True)
class _Loaded:
    head: RowMapping
    known_issue: RowMapping | None
    identities: Sequence[Row[Any]]
    others: Sequence[Row[Any]]
    history: Sequence[Row[Any]]
    ledger: Sequence[Row[Any]]
    pending: Sequence[Row[Any]]
    orders: list[_OrderRow]
    given: dict[str, Decimal] | None


def _load(connection: Connection, ticket_id: uuid.UUID, agent_id: uuid.UUID | None, since: datetime) -> _Loaded:
    """Every statement of one context read, in one greenlet (one switch, not one per statement)."""
    found = connection.execute(_HEAD, {"ticket_id": ticket_id, "agent_id": agent_id}).mappings().first()
    if found is None:
        raise NotFound("Ticket", ticket_id)
    customer_id = found["t_customer_id"]
    if found["c_id"] is None:
        raise NotFound("Customer", customer_id)
    known_issue = _known_issue_of(found["k_known_issue"]) if found["k_ticket_id"] is not None else None
    current = (
        connection.execute(_KNOWN_ISSUE, {"known_issue_id": known_issue}).mappings().first()
        if known_issue is not None
        else None
    )
    by_customer = {"customer_id": customer_id}
    lines = connection.execute(_ORDER_LINES, by_customer).mappings().all()
    acting = found["acting_id"] is not None and found["t_status"] in RESOLVABLE_STATUSES
    given = (
        {row.currency: row.given for row in connection.execute(_GIVEN, {**by_customer, "since": since})}
        if acting
        else None
    )
    return _Loaded(
        head=found,
        known_issue=current,
        identities=connection.execute(_IDENTITIES, by_customer).all(),
        others=connection.execute(_OTHER_OPEN, {**by_customer, "ticket_id": ticket_id}).all(),
        history=connection.execute(_HISTORY, by_customer).all(),
        ledger=connection.execute(_LEDGER_ENTRIES, by_customer).all(),
        pending=connection.execute(_PENDING, {"ticket_id": ticket_id}).all(),
        orders=_orders(lines),
        given=given,
    )


def _known_issue_of(suggested: dict[str, Any] | None) -> uuid.UUID | None:
    if not suggested or "known_issue_id" not in suggested:
        return None
    return uuid.UUID(str(suggested["known_issue_id"]))


def _orders(rows: Sequence[RowMapping]) -> list[_OrderRow]:
    orders: dict[uuid.UUID, _OrderRow] = {}
    for row in rows:
        order = orders.get(row["o_id"])
        if order is None:
            refunded = row["refunded"]
            order = _OrderRow(_fields(row, _ORDERS, "o_"), [], ZERO if refunded is None else Decimal(refunded))
            orders[order.id] = order
        if row["i_id"] is not None:
            order.lines.append(_fields(row, _ITEMS, "i_"))
    return list(orders.values())


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
    connection = await session.connection()
    since = now - timedelta(days=settings.customer_cap_days)
    loaded = await connection.run_sync(_load, ticket_id, agent_id, since)
    # Every row is read: the connection goes back to the pool before a possible call to knowledge, so a slow
    # or absent knowledge service holds no database connection for its timeout.
    await session.close()
    head = loaded.head
    ticket = TicketRead.model_validate(_fields(head, _TICKETS, "t_"))
    return TicketContext(
        ticket=ticket,
        customer=_customer(loaded, now),
        orders=[_order_context(o, settings, now) for o in loaded.orders],
        ledger=[LedgerEntryRead.model_validate(e) for e in loaded.ledger],
        pending_approvals=[ApprovalRead.model_validate(a) for a in loaded.pending],
        knowledge=await _knowledge(loaded, ticket.id, knowledge),
        problem=_problem(head) if ticket.problem_id is not None else None,
        offered_resolution=(
            OfferedResolutionRead.model_validate(_fields(head, _OFFERS, "o_"))
            if head["o_ticket_id"] is not None
            else None
        ),
        acting_agent_id=agent_id or ticket.agent_id,
        allowed_actions=_allowed(loaded, ticket=ticket, acting=agent_id or ticket.agent_id, settings=settings, now=now),
        generated_at=now,
    )


def _customer(loaded: _Loaded, now: datetime) -> CustomerContext:
    head = loaded.head
    profile = _fields(head, _CUSTOMERS, "c_")
    profile["identities"] = loaded.identities
    return CustomerContext(
        profile=CustomerRead.model_validate(profile),
        owner=OwnerRead(agent_id=head["owner_id"], name=head["owner_name"]) if head["owner_id"] is not None else None,
        tenure_days=max((now - profile["created_at"]).days, 0),
        open_tickets=[TicketRead.model_validate(t) for t in loaded.others],
        recent_history=[ActivityRead.model_validate(a) for a in loaded.history],
    )


def _order_context(order: _OrderRow, settings: RouterSettings, now: datetime) -> OrderContext:
    until = order.fields["ordered_at"] + timedelta(days=settings.return_window_days)
    return OrderContext(
        order=OrderRead.model_validate({**order.fields, "items": order.lines}),
        refundable=max(order.fields["total"] - order.refunded, ZERO),
        returnable_until=until,
        returnable=now <= until,
    )


async def _knowledge(loaded: _Loaded, ticket_id: uuid.UUID, client: KnowledgeClient) -> KnowledgeContext:
    head = loaded.head
    if head["k_ticket_id"] is not None:
        known_issue = _current_known_issue(head["k_known_issue"], loaded.known_issue)
        return KnowledgeContext(source="events", articles=list(head["k_articles"]), known_issue=known_issue)
    fetched = await client.suggestions(ticket_id)
    if fetched is None:
        return KnowledgeContext(source="pending", articles=[], known_issue=None)
    return KnowledgeContext(
        source="http", articles=list(fetched.get("articles") or []), known_issue=fetched.get("known_issue")
    )


def _current_known_issue(known_issue: dict[str, Any] | None, current: RowMapping | None) -> dict[str, Any] | None:
    """The suggestion's known issue with today's status (a fix may have arrived since it was suggested)."""
    if not known_issue or current is None:
        return known_issue
    return {
        **known_issue,
        "status": current["status"],
        "workaround": current["workaround"],
        "fix": current["fix"],
        "title": current["title"],
    }


def _problem(head: RowMapping) -> ProblemContext | None:
    if head["p_id"] is None:
        return None
    return ProblemContext(
        problem_id=head["p_id"],
        summary=head["p_summary"],
        status=head["p_status"],
        severity=head["p_severity"],
        customer_count=head["p_customer_count"],
        other_customers=max(head["p_customer_count"] - 1, 0),
        report_count=head["p_report_count"],
        resolution=head["p_resolution"],
        last_seen=head["p_last_seen"],
    )


def _authority_limits(authority: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, Decimal]]:
    """The agent's limits as exact amounts, as agents.service.authority_limits reads them from the row."""
    return {kind: {cur: Decimal(amount) for cur, amount in limits.items()} for kind, limits in authority.items()}


def _allowed(
    loaded: _Loaded, *, ticket: TicketRead, acting: uuid.UUID | None, settings: RouterSettings, now: datetime
) -> list[AllowedAction]:
    """What this agent may do on this ticket right now without asking anyone."""
    head = loaded.head
    if acting is None or ticket.status not in RESOLVABLE_STATUSES:
        return []
    actions = [AllowedAction(type="answer", currency=None, max_without_approval=None, summary="answer and resolve")]
    if loaded.given is None:  # no such agent: `_load` summed nothing
        return actions
    authority: dict[str, dict[str, str]] = head["acting_authority"]
    limits = _authority_limits(authority)
    orders = loaded.orders
    currencies = sorted({o.currency for o in orders} | {c for per_currency in authority.values() for c in per_currency})
    for currency in currencies:
        known = policy.Situation(
            ticket_status=ticket.status,
            customer_id=ticket.customer_id,
            agent_limits=limits,
            customer_given=Decimal(loaded.given.get(currency) or 0),
            customer_cap=dict(settings.customer_cap),
            return_window_days=settings.return_window_days,
            now=now,
        )
        for kind in ACTION_TYPES:
            targets: list[_OrderRow | None] = [o for o in orders if o.currency == currency] or [None]
            for order in targets:
                if kind in policy.NEEDS_ORDER and order is None:
                    continue
                facts = None
                if order is not None:
                    facts = policy.OrderFacts(
                        order.id,
                        order.fields["customer_id"],
                        currency,
                        order.fields["total"],
                        order.refunded,
                        order.fields["ordered_at"],
                    )
                room = policy.headroom(kind, currency, known, facts)
                if room <= 0:
                    continue
                target = f" on order {order.fields['external_ref'] or order.id}" if order else ""
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
