"""The right to erasure on the embedded stack (SQLite, in-memory bus): no trace left in any service."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from services.router.ledger.models import LedgerEntry
from tests.erasure_scenario import NAME, Clients, erase, erased_everywhere, populate, traces_left
from tests.unit.conftest import Stack


def clients(stack: Stack) -> Clients:
    return Clients(stack.router, stack.knowledge, stack.notifier)


async def test_an_erased_customer_leaves_no_email_phone_or_name_in_any_table_of_any_service(stack: Stack) -> None:
    databases = {name: runtime.database for name, runtime in stack.runtimes.items()}
    customer = await populate(clients(stack), databases["notifier"])
    for name, database in databases.items():
        assert await traces_left(database), f"the scenario must put the values in {name} first"

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


async def test_the_ledger_keeps_its_amounts_under_the_pseudonymous_id(stack: Stack) -> None:
    customer = await populate(clients(stack), stack.runtimes["notifier"].database)
    await erase(stack.router, customer)
    async with stack.runtimes["router"].database.session() as session:
        [entry] = (await session.scalars(select(LedgerEntry))).all()
    assert (entry.amount, entry.currency, str(entry.customer_id)) == (Decimal("20.00"), "EUR", customer.id)
    profile = (await stack.router.get(f"/v1/customers/{customer.id}")).json()
    assert (profile["display_name"], profile["identities"]) == (None, [])
