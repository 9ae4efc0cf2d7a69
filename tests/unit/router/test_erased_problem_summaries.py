"""An erased customer's words kept by the router as a problem's summary are erased with them (issue 22)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select

from services.router.context.models import ProblemSnapshot
from shared.events.catalogue import ProblemDetected
from shared.events.desktop import TicketProblemLinked
from shared.messaging.tables import outbox
from shared.sealing import ERASED_TEXT
from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness

NOW = datetime.now(UTC)
THEIR_SUBJECT = "Checkout frozen since Tuesday, Winifred here"
OTHER_SUMMARY = "Card payments declined at checkout"


def detected(
    problem_id: uuid.UUID, summary: str, ticket_ids: list[str], *, author: str | None = None
) -> ProblemDetected:
    return ProblemDetected(
        problem_id=problem_id,
        summary_text=summary,
        summary_author_id=uuid.UUID(author) if author else None,
        representative_reports=[],
        ticket_ids=[uuid.UUID(t) for t in ticket_ids],
        customer_count=3,
        report_count=3,
        first_seen=NOW - timedelta(hours=1),
        last_seen=NOW,
        growth_per_hour=3.0,
        severity="minor",
        detected_at=NOW,
    )


async def open_ticket(router: RouterHarness, email: str, subject: str) -> dict[str, Any]:
    body = ticket_request(customer={"email": email, "name": "Someone"}, subject=subject, channel="chat")
    response = await router.post("/v1/tickets", body)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


async def test_a_problem_summary_in_the_erased_customers_words_is_erased_in_the_router(router: RouterHarness) -> None:
    await router.agent(capacity={"chat": 4})
    theirs = await open_ticket(router, "winifred@example.com", f"  {THEIR_SUBJECT}")
    others = await open_ticket(router, "bob@example.com", "Checkout broken")
    assert others["agent_id"] is not None, "another customer's open, assigned ticket is told of the problem"
    summarised, unrelated = uuid.uuid4(), uuid.uuid4()
    await router.deliver(
        detected(summarised, THEIR_SUBJECT, [theirs["id"], others["id"]]),
        detected(unrelated, OTHER_SUMMARY, []),
    )
    assert THEIR_SUBJECT in str(await linked_summaries(router)), "the scenario must tell the agent the summary"

    erasing = await router.client.request(
        "DELETE", f"/v1/customers/{theirs['customer_id']}", json={"reason": "GDPR art. 17, ref. DPO-7"}
    )
    assert erasing.status_code == 202, erasing.text
    await router.runtime.relay.flush(timeout=60)
    await router.bus.wait_idle()

    async with router.runtime.database.session() as session:
        summaries = dict((await session.execute(select(ProblemSnapshot.id, ProblemSnapshot.summary))).all())
    assert summaries == {summarised: ERASED_TEXT, unrelated: OTHER_SUMMARY}
    told = await linked_summaries(router)
    assert told[others["id"]] == ERASED_TEXT
    assert THEIR_SUBJECT not in str(told)


async def linked_summaries(router: RouterHarness) -> dict[str, str]:
    """The problem summary each TicketProblemLinked in the router's outbox tells, by ticket."""
    async with router.runtime.database.session() as session:
        rows = await session.scalars(
            select(outbox.c.envelope).where(outbox.c.event_type == TicketProblemLinked.cloudevent_type())
        )
        data = [orjson.loads(envelope)["data"] for envelope in rows]
    return {item["ticket_id"]: item["problem_summary"] for item in data}
