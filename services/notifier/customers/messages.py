"""Telling customers about a problem: an acknowledgement when they join it, the resolution when it is fixed.

Each message is one delivery row whose dedupe key is (customer, problem, kind): however often the
decision is taken (a redelivered event, two replicas, a restart), the customer is told once.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any, Literal

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.customers import service as customer_service
from services.notifier.customers import templates
from services.notifier.customers.models import CustomerContact
from services.notifier.customers.schemas import TemplateRead
from services.notifier.delivery import service as delivery_service
from services.notifier.delivery.models import Delivery
from services.notifier.knowledge import service as knowledge_service
from services.notifier.problems import state
from services.notifier.problems.models import Problem
from services.notifier.problems.state import Member

Kind = Literal["acknowledgement", "resolution"]
MESSAGE_TYPE = "customer.message"


def dedupe_key(customer_id: uuid.UUID, problem_id: uuid.UUID, kind: Kind) -> str:
    return f"customer:{customer_id}:problem:{problem_id}:{kind}"


async def acknowledge_all(*, session: AsyncSession, problem: Problem) -> int:
    """Tell every customer of a problem not told yet what is known so far (it was detected, or merged)."""
    members = await state.members_of(session, problem.id)
    facts = await _known(session, problem)
    return await _tell(session, problem, members=members, kind="acknowledgement", facts=facts)


async def acknowledge_joined(*, session: AsyncSession, problem: Problem, customers: Collection[uuid.UUID]) -> int:
    """Tell the customers whose reports just joined a known problem what is known so far.

    Only these customers are looked at, each with an index lookup for a message already decided and one
    for their first report in the problem: the problem's other customers (a crisis has thousands) are not
    read. Every one of them was told when they joined, or when the problem was detected or merged.
    """
    reports = []
    for customer_id in sorted(customers):
        if await _decided(session, customer_id, problem.id, "acknowledgement"):
            continue
        report = await state.first_report_of(session, problem.id, customer_id)
        if report is not None:
            reports.append(report)
    if not reports:
        return 0
    return await _send(session, problem, reports, kind="acknowledgement", facts=await _known(session, problem))


async def tell_resolution(
    *, session: AsyncSession, problem: Problem, members: Sequence[Member], article_title: str | None
) -> int:
    """Tell every affected customer that the problem is resolved; returns how many were new."""
    change = {
        "known_status": "fix_available",
        "workaround": "",
        "fix": problem.resolution or "",
        "fix_version": problem.fix_version or "",
        "resolution": problem.resolution or "",
        "article_title": article_title or "",
    }
    return await _tell(session, problem, members=members, kind="resolution", facts=change)


async def _known(session: AsyncSession, problem: Problem) -> dict[str, Any]:
    issue = await knowledge_service.known_issue_for(session=session, problem_id=problem.id)
    return {
        "known_status": issue.status if issue else "",
        "workaround": (issue.workaround or "") if issue else "",
        "fix": (issue.fix or "") if issue else "",
        "fix_version": (issue.fix_version or "") if issue else "",
        "resolution": "",
        "article_title": "",
    }


async def _decided(session: AsyncSession, customer_id: uuid.UUID, problem_id: uuid.UUID, kind: Kind) -> bool:
    """Whether this message exists already (its dedupe key is unique, so this is an index lookup)."""
    found = await session.scalar(
        select(Delivery.id).where(Delivery.dedupe_key == dedupe_key(customer_id, problem_id, kind))
    )
    return found is not None


async def _tell(
    session: AsyncSession, problem: Problem, *, members: Sequence[Member], kind: Kind, facts: dict[str, Any]
) -> int:
    """Tell every member customer not told yet (one message each, about their first report)."""
    already = set(
        await session.scalars(
            select(Delivery.customer_id).where(Delivery.problem_id == problem.id, Delivery.notification_kind == kind)
        )
    )
    first_report: dict[uuid.UUID, Member] = {}
    for member in members:
        first_report.setdefault(member.customer_id, member)
    reports = [first_report[customer_id] for customer_id in sorted(first_report.keys() - already)]
    return await _send(session, problem, reports, kind=kind, facts=facts)


async def _send(
    session: AsyncSession, problem: Problem, reports: Sequence[Member], *, kind: Kind, facts: dict[str, Any]
) -> int:
    """A message to each report's customer, about that report; returns how many were new. A few statements
    however many customers (a resolution tells thousands): their contacts in pages, the template and the
    contact center once, the deliveries in multi-row INSERTs."""
    batch = _Batch(session, kind)
    contacts = await customer_service.contacts_of(session, [report.customer_id for report in reports])
    deliveries = [await batch.delivery(problem, report, contacts.get(report.customer_id), facts) for report in reports]
    return len(await delivery_service.enqueue_many(session=session, deliveries=deliveries))


class _Batch:
    """What every message of one batch shares, read once rather than once per customer (a resolution tells
    thousands): the template of its kind and the contact center's subscription."""

    def __init__(self, session: AsyncSession, kind: Kind) -> None:
        self.session, self.kind = session, kind
        self.routes = customer_service.Routes(session)
        self._template: TemplateRead | None = None

    async def delivery(
        self, problem: Problem, report: Member, contact: CustomerContact | None, facts: dict[str, Any]
    ) -> delivery_service.NewDelivery:
        """The message to one customer about their report, addressed as they can be reached now."""
        if self._template is None:
            self._template = await templates.current(session=self.session, name=self.kind)
        context = _context(problem, report, contact, facts)
        message = templates.render(self._template, context)
        route = await self.routes.to(contact)
        notification_id = uuid.uuid4()
        payload = {
            "type": MESSAGE_TYPE,
            "notification_id": str(notification_id),
            "kind": self.kind,
            "customer_id": str(report.customer_id),
            "customer_name": context["customer_name"],
            "ticket_id": str(report.ticket_id),
            "problem_id": str(problem.id),
            "reply_channel": report.channel,
            "subject": message.subject,
            "body": message.body,
        }
        suppressed = route == "customer opted out"
        return delivery_service.NewDelivery(
            id=notification_id,
            dedupe_key=dedupe_key(report.customer_id, problem.id, self.kind),
            channel=route.channel if isinstance(route, customer_service.Route) else "webhook",
            endpoint=route.endpoint if isinstance(route, customer_service.Route) else "",
            event_type=MESSAGE_TYPE,
            payload=orjson.dumps(payload),
            subscription_id=route.subscription_id if isinstance(route, customer_service.Route) else None,
            customer_id=report.customer_id,
            problem_id=problem.id,
            ticket_id=report.ticket_id,
            notification_kind=self.kind,
            status="suppressed" if suppressed else "pending",
            reason=route if suppressed and isinstance(route, str) else None,
        )


def _context(
    problem: Problem, report: Member, contact: CustomerContact | None, facts: dict[str, Any]
) -> dict[str, Any]:
    return {
        "customer_name": (contact.name if contact and contact.name else report.customer_name) or "there",
        "ticket_subject": report.subject,
        "ticket_opened_at": report.opened_at.strftime("%Y-%m-%d %H:%M UTC"),
        "problem_summary": problem.summary_text,
        "other_customers": max(problem.customer_count - 1, 0),
        **facts,
    }
