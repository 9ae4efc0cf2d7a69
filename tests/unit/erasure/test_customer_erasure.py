"""The right to erasure on the embedded stack (SQLite, in-memory bus): no trace left in any service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from services.notifier.detection.models import ReportBucket, ReportTerm
from services.notifier.reports.models import Report
from services.router.classification.models import IntentExample
from services.router.ledger.models import LedgerEntry
from shared.db import Database
from tests.erasure_scenario import EMAIL, NAME, Clients, erase, erased_everywhere, populate, traces_left
from tests.unit.conftest import Stack


def clients(stack: Stack) -> Clients:
    return Clients(stack.router, stack.knowledge, stack.notifier)


async def test_an_erased_customer_leaves_no_email_phone_or_name_in_any_table_of_any_service(stack: Stack) -> None:
    databases = {name: runtime.database for name, runtime in stack.runtimes.items()}
    customer = await populate(clients(stack), databases["notifier"])
    await learnt_from(databases["router"], customer.tickets[1])
    for name, database in databases.items():
        assert await traces_left(database), f"the scenario must put the values in {name} first"
    assert (await index_entries(databases["notifier"], customer.tickets))[0] > 0, "the reports must be indexed first"

    record = await erase(stack.router, customer)
    await erased_everywhere(clients(stack), customer)
    await stack.bus.wait_idle()

    assert {name: await traces_left(database) for name, database in databases.items()} == {
        "router": [],
        "knowledge": [],
        "notifier": [],
    }
    assert NAME not in str(record)
    assert record["erased"]["customer_identities"] == 2
    assert await index_entries(databases["notifier"], customer.tickets) == (0, 0, 0)
    async with databases["router"].session() as session:
        assert await session.scalar(select(func.count()).select_from(IntentExample)) == 0, "their words taught nothing"


async def learnt_from(database: Database, ticket_id: str) -> None:
    """The intent classifier's example from a resolved ticket, as resolution learning writes it."""
    async with database.session() as session:
        session.add(
            IntentExample(
                text=f"card declined, write to {EMAIL}",
                intent="card_declined",
                source="resolution",
                ticket_id=uuid.UUID(ticket_id),
                created_at=datetime.now(UTC),
            )
        )
        await session.commit()


async def index_entries(database: Database, ticket_ids: list[str]) -> tuple[int, int, int]:
    """Term postings, meaning postings and stored vectors left of these reports in the detection index."""
    ids = [uuid.UUID(t) for t in ticket_ids]
    async with database.session() as session:
        terms = await session.scalar(select(func.count()).select_from(ReportTerm).where(ReportTerm.ticket_id.in_(ids)))
        buckets = await session.scalar(
            select(func.count()).select_from(ReportBucket).where(ReportBucket.ticket_id.in_(ids))
        )
        vectors = await session.scalar(
            select(func.count()).select_from(Report).where(Report.ticket_id.in_(ids), Report.features.is_not(None))
        )
    return int(terms or 0), int(buckets or 0), int(vectors or 0)


async def test_the_ledger_keeps_its_amounts_under_the_pseudonymous_id(stack: Stack) -> None:
    customer = await populate(clients(stack), stack.runtimes["notifier"].database)
    record = await erase(stack.router, customer)
    async with stack.runtimes["router"].database.session() as session:
        [entry] = (await session.scalars(select(LedgerEntry))).all()
    assert (entry.amount, entry.currency, str(entry.customer_id)) == (Decimal("20.00"), "EUR", customer.id)
    gone = await stack.router.get(f"/v1/customers/{customer.id}")
    assert (gone.status_code, gone.json()["erasure_id"]) == (410, record["id"])
