"""A problem's counts move with each report that joins, without reading its other members, and agree with
them after merges and splits; a join publishes the change (ProblemUpdated v2), not every member; a
joining customer is acknowledged once; problems that existed before the counts were kept are counted once
by the migration."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from services.notifier.bootstrap import MIGRATIONS
from services.notifier.delivery.models import Delivery
from services.notifier.problems.models import Problem
from shared.db import Database
from shared.messaging.tables import outbox
from shared.migrations import alembic_config, upgrade_to_head
from tests.notifier_factories import outage, report
from tests.unit.notifier.conftest import Notifier, staged_events
from tests.unit.notifier.test_problems import problem_of

LOGIN = ("Cannot log in", "The app rejects my password since the update.")


async def counted(notifier: Notifier, problem_id: str) -> dict[str, Any]:
    """A problem's counts as kept on its row, and as its members say they should be."""
    detail = (await notifier.client.get(f"/v1/problems/{problem_id}")).json()
    members = detail["members"]
    return {
        "kept": (detail["customer_count"], detail["report_count"], detail["first_seen"], detail["last_seen"]),
        "members": (
            len({m["customer_id"] for m in members}),
            len(members),
            min(m["opened_at"] for m in members),
            max(m["opened_at"] for m in members),
        ),
    }


async def staged_envelopes(notifier: Notifier, event_type: str) -> list[dict[str, Any]]:
    async with notifier.runtime.database.session() as session:
        rows = await session.execute(
            select(outbox.c.envelope).where(outbox.c.event_type == f"firstcall.{event_type}").order_by(outbox.c.seq)
        )
        return [orjson.loads(row.envelope) for row in rows]


async def test_a_report_joining_publishes_the_change_and_the_counts_not_every_member(notifier: Notifier) -> None:
    reports = outage(8)
    await notifier.publish(*reports)

    updates = await staged_envelopes(notifier, "problem.updated")
    assert [u["dataschema"].rsplit("/", 1)[1] for u in updates] == ["v2"] * 5
    changes = [u["data"] for u in updates]
    assert all("ticket_ids" not in change for change in changes)
    assert all(change["added_ticket_ids"] == [change["joined_ticket_id"]] for change in changes)
    [detected] = await staged_events(notifier, "problem.detected")
    joined = [change["joined_ticket_id"] for change in changes]
    assert sorted(detected["ticket_ids"] + joined) == sorted(str(r.ticket_id) for r in reports)
    last = max(changes, key=lambda change: change["report_count"])
    assert (last["customer_count"], last["report_count"]) == (8, 8)
    assert datetime.fromisoformat(last["first_seen"]) == reports[0].opened_at
    assert datetime.fromisoformat(last["last_seen"]) == reports[-1].opened_at


async def test_counts_kept_on_the_problem_agree_with_its_members_as_reports_join(notifier: Notifier) -> None:
    again = uuid.uuid4()
    reports = outage(4)
    repeats = [report(s, d, customer_id=again) for s, d in [(r.subject, r.description) for r in reports[:2]]]
    tagged = report(reports[0].subject, reports[0].description, intent="payment_failed", attributes={"product": "shop"})
    await notifier.publish(*reports, *repeats, tagged)
    problem_id = await problem_of(notifier, reports[0].ticket_id)
    assert problem_id is not None

    counts = await counted(notifier, problem_id)
    assert counts["kept"] == counts["members"]
    assert counts["kept"][:2] == (6, 7)
    detail = (await notifier.client.get(f"/v1/problems/{problem_id}")).json()
    assert (detail["intents"], detail["products"]) == (["payment_failed"], ["shop"])
    [listed] = (await notifier.client.get("/v1/problems")).json()["items"]
    assert (listed["customer_count"], listed["report_count"]) == (6, 7)


async def test_counts_agree_with_the_members_after_a_merge_and_a_split(notifier: Notifier) -> None:
    checkout = outage(3)
    login = [report(*LOGIN) for _ in range(3)]
    await notifier.publish(*checkout, *login)
    target = await problem_of(notifier, checkout[0].ticket_id)
    source = await problem_of(notifier, login[0].ticket_id)
    assert target
    assert source

    merged = await notifier.client.post(f"/v1/problems/{target}/merge", json={"problem_id": source})
    assert merged.status_code == 200
    assert (await counted(notifier, target))["kept"][:2] == (6, 6)
    [change] = [u for u in await staged_events(notifier, "problem.updated") if u["change"] == "merged"]
    assert sorted(change["added_ticket_ids"]) == sorted(str(r.ticket_id) for r in login)
    assert change["joined_ticket_id"] is None
    assert (await notifier.client.get(f"/v1/problems/{source}")).json()["report_count"] == 0

    wrong = [str(r.ticket_id) for r in login]
    split = await notifier.client.post(
        f"/v1/problems/{target}/split", json={"ticket_ids": wrong, "as_new_problem": True}
    )
    assert split.status_code == 200
    counts = await counted(notifier, target)
    assert counts["kept"] == counts["members"]
    assert counts["kept"][:2] == (3, 3)
    new_id = split.json()["new_problem_id"]
    new = await counted(notifier, new_id)
    assert new["kept"] == new["members"]


async def test_a_customer_joining_again_is_acknowledged_once_and_a_new_one_once(notifier: Notifier) -> None:
    reports = outage(3)
    await notifier.publish(*reports)
    problem_id = await problem_of(notifier, reports[0].ticket_id)
    returning = report("Payment error at checkout", "Still failing at checkout.", customer_id=reports[1].customer_id)
    newcomer = report("Checkout fails with payment error", "Paying at checkout gives an error.")
    await notifier.publish(returning, newcomer)

    async with notifier.runtime.database.session() as session:
        told = list(
            await session.scalars(
                select(Delivery.customer_id).where(
                    Delivery.problem_id == uuid.UUID(problem_id), Delivery.notification_kind == "acknowledgement"
                )
            )
        )
    assert sorted(str(customer) for customer in told) == sorted(
        str(customer) for customer in [*(r.customer_id for r in reports), newcomer.customer_id]
    )


async def test_problems_from_before_the_counts_are_counted_once_by_the_migration(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/notifier.db")
    config = alembic_config(MIGRATIONS, database.url.render_as_string(hide_password=False))

    def upgrade_to(connection: Connection, revision: str) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    try:
        async with database.engine.begin() as conn:
            await conn.run_sync(upgrade_to, "700402ec94f7")
        problem_id = uuid.uuid4()
        await _old_problem(database, problem_id)
        await upgrade_to_head(database, MIGRATIONS)
        async with database.session() as session:
            problem = await session.get(Problem, problem_id)
            assert problem is not None
            assert (problem.report_count, problem.customer_count) == (3, 2)
            assert (problem.intents, problem.products) == (["card_declined"], ["shop"])
    finally:
        await database.dispose()


async def _old_problem(database: Database, problem_id: uuid.UUID) -> None:
    """A problem of three reports from two customers, written as the schema before the counts had it."""
    now = datetime.now(UTC).replace(tzinfo=None)
    customers = [uuid.uuid4(), uuid.uuid4()]
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO problems (id, status, severity, summary_text, first_seen, last_seen, growth_per_hour,"
                " created_at, updated_at) VALUES (:id, 'open', 'minor', '', :now, :now, 0, :now, :now)"
            ),
            {"id": problem_id.hex, "now": now},
        )
        for i, (customer, intent, product) in enumerate(
            [(customers[0], "card_declined", None), (customers[1], None, "shop"), (customers[1], None, None)]
        ):
            await conn.execute(
                text(
                    "INSERT INTO reports (ticket_id, customer_id, channel, text, opened_at, received_at, subject,"
                    " intent, product, cluster_id) VALUES (:ticket, :customer, 'email', 'checkout fails',"
                    " :opened, :opened, 'checkout', :intent, :product, :problem)"
                ),
                {
                    "ticket": uuid.uuid4().hex,
                    "customer": customer.hex,
                    "opened": now - timedelta(minutes=i),
                    "intent": intent,
                    "product": product,
                    "problem": problem_id.hex,
                },
            )
