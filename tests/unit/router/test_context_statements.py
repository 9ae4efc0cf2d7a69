"""The agent's context reads little: a bounded number of SQL statements whatever the customer has (no N+1),
and no database connection held while knowledge is asked."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import event

from services.router.context.knowledge_client import KnowledgeClient
from shared.events.catalogue import KnowledgeSuggested, KnownIssueRef, KnownIssueUpdated, ProblemDetected
from tests.factories import order_request, ticket_request
from tests.unit.router.conftest import RouterHarness
from tests.unit.router.test_context import problem_state

NOW = datetime.now(UTC)
# Every statement one context read sends: the ticket with what hangs off it one-to-one, the known issue's
# status, and one statement per list (identities, other open tickets, history, ledger, pending approvals,
# orders with their lines and refunds, what the customer was given per currency).
MOST_STATEMENTS = 9

# Set in the test's task only: the router's background loops (outbox relay, rate-limit sync) run in tasks
# of their own, so their statements are not counted.
_counting: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("counting", default=None)


@asynccontextmanager
async def statements_of(router: RouterHarness) -> AsyncIterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        counted = _counting.get()
        if counted is not None:
            counted.append(args[2])

    engine = router.runtime.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    token = _counting.set(seen)
    try:
        yield seen
    finally:
        _counting.reset(token)
        event.remove(engine, "before_cursor_execute", record)


async def read_context(router: RouterHarness, ticket_id: str, headers: dict[str, str]) -> list[str]:
    # A first read looks the API key up; the router keeps it for the next ones, which are what is counted.
    await router.client.get(f"/v1/tickets/{ticket_id}/context", headers=headers)
    async with statements_of(router) as seen:
        response = await router.client.get(f"/v1/tickets/{ticket_id}/context", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["allowed_actions"], "the agent's allowed actions were computed"
    return seen


async def test_a_context_read_is_a_few_statements_however_many_orders_and_currencies(router: RouterHarness) -> None:
    authority = {kind: {"EUR": "50.00", "USD": "50.00", "GBP": "50.00"} for kind in ("credit", "refund", "return")}
    agent = await router.agent(capacity={"chat": 5}, authority=authority)
    headers = await router.key("agent", agent_id=agent["id"])
    customer = {"email": "ada@example.com"}
    await router.post("/v1/tickets", ticket_request(channel="chat", customer=customer))
    ticket = (await router.post("/v1/tickets", ticket_request(channel="chat", customer=customer))).json()
    assert ticket["agent_id"] == agent["id"]
    await router.post("/v1/orders", order_request(customer=customer))
    known_issue_id = uuid.uuid4()
    await router.deliver(
        KnowledgeSuggested(
            ticket_id=uuid.UUID(ticket["id"]),
            articles=[],
            known_issue=KnownIssueRef(known_issue_id=known_issue_id, title="Card outage", status="investigating"),
            computed_at=NOW,
        ),
        KnownIssueUpdated(
            known_issue_id=known_issue_id,
            revision=2,
            problem_id=None,
            title="Card outage",
            symptoms="declined",
            status="fix_available",
            fix="retry now",
            updated_at=NOW,
        ),
        ProblemDetected(**problem_state(uuid.uuid4(), [ticket["id"]]), detected_at=NOW),
    )
    few = await read_context(router, ticket["id"], headers)
    assert len(few) <= MOST_STATEMENTS, "\n".join(few)

    for currency in ("EUR", "USD", "GBP", "USD"):
        await router.post("/v1/orders", order_request(customer=customer, currency=currency))
    many = await read_context(router, ticket["id"], headers)
    assert len(many) == len(few), "\n".join(many)


async def test_no_database_connection_is_held_while_knowledge_is_asked(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    pool = router.runtime.database.engine.pool
    checked_out: list[int] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        # The router's one SQLite connection is free here, but for a background loop's moment now and then.
        for _ in range(500):
            checked_out.append(pool.checkedout())  # type: ignore[attr-defined]
            if checked_out[-1] == 0:
                break
            await asyncio.sleep(0.01)
        return httpx.Response(200, json={"articles": []})

    router.components.knowledge = KnowledgeClient(
        "http://knowledge", "key", timeout_ms=60_000, transport=httpx.MockTransport(answer)
    )
    response = await router.client.get(f"/v1/tickets/{ticket['id']}/context")
    assert response.json()["knowledge"]["source"] == "http"
    assert checked_out[-1] == 0, checked_out[-5:]
