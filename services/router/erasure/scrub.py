"""Erasing a customer from the router: what is theirs by id, then every copy of their words by value.

Kept, for accounting: the ledger's and approvals' amounts, types and currencies, under the customer's id,
which is a random UUID given at registration and, once the profile is empty, a pseudonym that no longer
leads to anybody. Kept, for the counts: tickets' channels, statuses, times and intents, without their words.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.classification.models import IntentExample
from services.router.context.models import ProblemSnapshot
from services.router.customers.models import Customer, CustomerIdentity, CustomerMerge
from services.router.data_keys import service as data_keys
from services.router.erasure import service as erasure_service
from services.router.erasure.models import CustomerErasure
from services.router.history.models import Activity
from services.router.ledger.models import Approval, LedgerEntry
from services.router.orders.models import Order
from services.router.tickets.models import Ticket, TicketNote, TicketStatusChange, Transfer
from shared.events.catalogue import CustomerErased
from shared.events.desktop import TicketProblemLinked
from shared.messaging.tables import outbox
from shared.redaction import CHUNK, ERASED, blank_outbox_events, forget_answers_naming, sweep
from shared.sealing import ERASED_TEXT

SUMMARY_CHARS = 1000  # the router keeps a problem's summary cut to this (context/feeds.py)

T = TypeVar("T")


async def erase_customer(*, session: AsyncSession, event: CustomerErased, now: datetime) -> dict[str, int]:
    """Remove the customer's personal data from every router table, in the handler's transaction."""
    customer_ids = [event.customer_id, *event.merged_customer_ids]
    values = await erasure_service.personal_values(session=session, customer_ids=customer_ids)
    ticket_ids = list((await session.scalars(select(Ticket.id).where(Ticket.customer_id.in_(customer_ids)))).all())
    # Read before their tickets are scrubbed: the notifier's problem summaries are their subjects.
    subjects = await _subjects(session, ticket_ids)
    erased = await _erase_owned(session, customer_ids, ticket_ids)
    erased["problems"], linked = await _erase_problem_summaries(session, subjects, customer_ids)
    erased["outbox"] = await blank_outbox_events(session, [str(i) for i in [*customer_ids, *ticket_ids]]) + linked
    # Their events on Kafka were sealed with these keys: without them, those fields never open again.
    erased["customer_data_keys"] = await data_keys.destroy_keys(session=session, customer_ids=customer_ids, now=now)
    erased["idempotency_keys"] = await forget_answers_naming(session, [str(i) for i in [*customer_ids, *ticket_ids]])
    for table, rows in (await sweep(session, values)).items():
        erased[table] = erased.get(table, 0) + rows
    record = await session.get(CustomerErasure, event.erasure_id)
    if record is not None:
        record.status, record.completed_at = "completed", now
        record.erased = {table: rows for table, rows in sorted(erased.items()) if rows}
    return erased


async def _erase_owned(
    session: AsyncSession, customer_ids: list[uuid.UUID], ticket_ids: list[uuid.UUID]
) -> dict[str, int]:
    erased: dict[str, int] = {}

    async def change(name: str, statement: Any) -> None:
        result = await session.execute(statement)
        erased[name] = erased.get(name, 0) + int(getattr(result, "rowcount", 0) or 0)

    await change("customer_identities", delete(CustomerIdentity).where(CustomerIdentity.customer_id.in_(customer_ids)))
    await change("customers", update(Customer).where(Customer.id.in_(customer_ids)).values(display_name=None))
    await change("activities", update(Activity).where(Activity.customer_id.in_(customer_ids)).values(summary=ERASED))
    await change(
        "ledger_entries", update(LedgerEntry).where(LedgerEntry.customer_id.in_(customer_ids)).values(reason=ERASED)
    )
    await change(
        "approvals",
        update(Approval)
        .where(Approval.customer_id.in_(customer_ids))
        .values(reason=ERASED, resolution_note=None, decision_note=None),
    )
    await change(
        "customer_merges",
        update(CustomerMerge)
        .where(or_(CustomerMerge.survivor_id.in_(customer_ids), CustomerMerge.merged_id.in_(customer_ids)))
        .values(reason=ERASED, undo_reason=None, survivor_display_name=None),
    )
    await change("orders", update(Order).where(Order.customer_id.in_(customer_ids)).values(external_ref=None))
    for chunk in _chunks(ticket_ids):
        await change("intent_examples", delete(IntentExample).where(IntentExample.ticket_id.in_(chunk)))
        await change(
            "tickets", update(Ticket).where(Ticket.id.in_(chunk)).values(subject=ERASED, description="", attributes={})
        )
        await change("ticket_notes", update(TicketNote).where(TicketNote.ticket_id.in_(chunk)).values(body=ERASED))
        await change("transfers", update(Transfer).where(Transfer.ticket_id.in_(chunk)).values(note=None))
        await change(
            "ticket_status_changes",
            update(TicketStatusChange).where(TicketStatusChange.ticket_id.in_(chunk)).values(reason=None),
        )
    return erased


async def _subjects(session: AsyncSession, ticket_ids: list[uuid.UUID]) -> set[str]:
    """The customer's ticket subjects as a problem summary would hold them (cut to the router's copy)."""
    subjects: set[str] = set()
    for chunk in _chunks(ticket_ids):
        for subject in (await session.scalars(select(Ticket.subject).where(Ticket.id.in_(chunk)))).all():
            subjects |= {text[:SUMMARY_CHARS] for text in (subject, subject.strip()) if text and text != ERASED}
    return subjects


async def _erase_problem_summaries(
    session: AsyncSession, subjects: set[str], customer_ids: list[uuid.UUID]
) -> tuple[int, int]:
    """A problem's summary is one customer's words (the representative report's subject, decision 0031):
    kept by the router in its problem snapshot, with its author when the notifier named them, and in the
    TicketProblemLinked events told to other customers' agents, sealed with the author's key while the
    router seals (their key's destruction erases those). The snapshots the erased customers wrote, and those
    with no known author and in clear events equal to one of their subjects, become ERASED_TEXT, as the
    consumers read an erased author's sealed summary."""
    result = await session.execute(
        update(ProblemSnapshot)
        .where(ProblemSnapshot.summary_author_id.in_(customer_ids), ProblemSnapshot.summary != ERASED_TEXT)
        .values(summary=ERASED_TEXT)
    )
    snapshots = int(getattr(result, "rowcount", 0) or 0)
    if not subjects:
        return snapshots, 0
    ordered = sorted(subjects)
    for chunk in _chunks(ordered):
        result = await session.execute(
            update(ProblemSnapshot)
            .where(ProblemSnapshot.summary.in_(chunk), ProblemSnapshot.summary_author_id.is_(None))
            .values(summary=ERASED_TEXT)
        )
        snapshots += int(getattr(result, "rowcount", 0) or 0)
    # Every such event is read (erasure is rare; the value sweep reads far more), in pages, and only those
    # to rewrite are kept.
    rewritten: list[tuple[int, bytes]] = []
    query = select(outbox.c.seq, outbox.c.envelope).where(outbox.c.event_type == TicketProblemLinked.cloudevent_type())
    stream = await session.stream(query.execution_options(yield_per=CHUNK))
    async for page in stream.partitions():
        for seq, envelope in page:
            document = orjson.loads(envelope)
            data = document.get("data")
            if isinstance(data, dict) and data.get("problem_summary") in subjects:
                data["problem_summary"] = ERASED_TEXT
                rewritten.append((seq, orjson.dumps(document)))
    for seq, envelope in rewritten:
        await session.execute(update(outbox).where(outbox.c.seq == seq).values(envelope=envelope))
    return snapshots, len(rewritten)


def _chunks(items: Sequence[T]) -> list[Sequence[T]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
