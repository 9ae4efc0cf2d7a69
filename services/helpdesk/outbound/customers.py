"""firstcall -> RT for customers and approvals: briefings and supervisors' decisions on the tickets concerned."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.links import service as links
from services.helpdesk.outbound import messages, planning
from shared.events.catalogue import AccountOwnerChanged, ApprovalDecided, ApprovalRequested


async def account_owner_changed(*, session: AsyncSession, event: AccountOwnerChanged, now: datetime) -> None:
    """The new owner's handoff briefing, on the customer's open tickets."""
    open_tickets = await links.open_links_of_customer(session=session, customer_id=event.customer_id)
    await planning.comment_on(
        session=session,
        ticket_ids=[link.ticket_id for link in open_tickets],
        content=messages.handoff(event),
        cause=planning.cause_of(event),
        decided_at=event.changed_at,
        now=now,
    )


async def approval_requested(*, session: AsyncSession, event: ApprovalRequested, now: datetime) -> None:
    await planning.comment_on_ticket(
        session=session,
        ticket_id=event.ticket_id,
        content=messages.approval_requested(event),
        cause=planning.cause_of(event),
        decided_at=event.requested_at,
        now=now,
    )


async def approval_decided(*, session: AsyncSession, event: ApprovalDecided, now: datetime) -> None:
    await planning.comment_on_ticket(
        session=session,
        ticket_id=event.ticket_id,
        content=messages.approval_decided(event),
        cause=planning.cause_of(event),
        decided_at=event.decided_at,
        now=now,
    )
