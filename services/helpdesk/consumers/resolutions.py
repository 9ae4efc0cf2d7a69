"""Approval and customer events in: supervisors' decisions and account handoff briefings, visible in RT."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.outbound import customers
from services.helpdesk.settings import HelpdeskSettings
from shared.events.catalogue import AccountOwnerChanged, ApprovalDecided, ApprovalRequested


async def on_approval_requested(event: ApprovalRequested, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await customers.approval_requested(session=session, event=event, now=datetime.now(UTC))


async def on_approval_decided(event: ApprovalDecided, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await customers.approval_decided(session=session, event=event, now=datetime.now(UTC))


async def on_account_owner_changed(
    event: AccountOwnerChanged, session: AsyncSession, *, settings: HelpdeskSettings
) -> None:
    await customers.account_owner_changed(session=session, event=event, now=datetime.now(UTC))
