"""Erasing a customer from the notifier when CustomerErased arrives (once: the inbox holds its id).

Problems keep their counts (a problem of 40 customers still had 40), but not this customer's words: a
problem whose summary came from their report loses it. Delivery rows stay as the log of what was sent,
without the address or the message.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.customers.models import CustomerContact
from services.notifier.delivery.models import Delivery, DeliveryAttempt
from services.notifier.detection import service as detection_service
from services.notifier.detection.index import lock_detection
from services.notifier.erasure.models import ErasedCustomer
from services.notifier.feedback import erasure as feedback_erasure
from services.notifier.insights import erasure as digest_erasure
from services.notifier.problems.models import Problem
from services.notifier.reports.models import Report
from shared.events.catalogue import CustomerErased
from shared.redaction import ERASED, blank_outbox_events, forget_answers_naming, spellings, sweep

UNSENT = ("pending", "sending")


async def erase_customer(*, session: AsyncSession, event: CustomerErased) -> dict[str, int]:
    """Remove what the notifier holds of the customer, then every copy of their address and name."""
    customer_ids = [event.customer_id, *event.merged_customer_ids]
    await _remember_erased(session, customer_ids, event.requested_at)
    contacts = (
        await session.scalars(select(CustomerContact).where(CustomerContact.customer_id.in_(customer_ids)))
    ).all()
    reports = (
        await session.execute(
            select(Report.ticket_id, Report.customer_name).where(Report.customer_id.in_(customer_ids))
        )
    ).all()
    ticket_ids = [row.ticket_id for row in reports]
    values = spellings(
        emails=[c.email for c in contacts if c.email],
        names=[*(c.name for c in contacts if c.name), *(row.customer_name for row in reports if row.customer_name)],
    )
    erased = {
        "customer_contacts": await _count(
            session, delete(CustomerContact).where(CustomerContact.customer_id.in_(customer_ids))
        ),
        "report_terms": await _unindex_locked(session, ticket_ids),
        "reports": await _count(
            session,
            update(Report)
            .where(Report.customer_id.in_(customer_ids))
            .values(text="", subject="", customer_name=None, features=None, embedding=None),
        ),
        "problems": await _count(
            session, update(Problem).where(Problem.representative_ticket_id.in_(ticket_ids)).values(summary_text=ERASED)
        )
        if ticket_ids
        else 0,
        **await _erase_deliveries(session, customer_ids),
        **await feedback_erasure.erase_feedback(session, customer_ids),
        "outbox": await blank_outbox_events(session, [str(i) for i in [*customer_ids, *ticket_ids]]),
        "idempotency_keys": await forget_answers_naming(session, [str(i) for i in [*customer_ids, *ticket_ids]]),
    }
    if ticket_ids or erased["feedback_voices"]:
        # After the summaries above: a digest waiting to go is written again without their words.
        erased.update(await digest_erasure.erase_digests(session))
    for table, rows in (await sweep(session, values)).items():
        erased[table] = erased.get(table, 0) + rows
    return erased


async def _unindex_locked(session: AsyncSession, ticket_ids: list[uuid.UUID]) -> int:
    """The reports' postings go with their words; under the detection lock, as every writer of the indexes
    takes it, so a report being placed meanwhile cannot count one the erasure is taking out."""
    if not ticket_ids:
        return 0
    await lock_detection(session)
    return await detection_service.unindex_reports(session=session, ticket_ids=ticket_ids)


async def _erase_deliveries(session: AsyncSession, customer_ids: list[uuid.UUID]) -> dict[str, int]:
    ids = (await session.scalars(select(Delivery.id).where(Delivery.customer_id.in_(customer_ids)))).all()
    if not ids:
        return {"deliveries": 0}
    await session.execute(update(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(ids)).values(error=None))
    await session.execute(
        update(Delivery).where(Delivery.id.in_(ids), Delivery.status.in_(UNSENT)).values(status="cancelled")
    )
    await session.execute(
        update(Delivery).where(Delivery.id.in_(ids)).values(endpoint=ERASED, payload=b"{}", last_error=None)
    )
    return {"deliveries": len(ids)}


async def _count(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


async def _remember_erased(session: AsyncSession, customer_ids: list[uuid.UUID], at: datetime) -> None:
    known = set(
        (
            await session.scalars(
                select(ErasedCustomer.customer_id).where(ErasedCustomer.customer_id.in_(customer_ids))
            )
        ).all()
    )
    session.add_all(ErasedCustomer(customer_id=i, erased_at=at) for i in customer_ids if i not in known)
