"""The skeleton flow in one process: a ticket opened on the router reaches knowledge and notifier."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select

from services.embedded import drain
from shared.events.envelope import CloudEvent, from_kafka
from shared.events.topics import TICKETS
from shared.messaging.tables import inbox, outbox
from tests.conftest import wait_until
from tests.factories import ticket_request
from tests.unit.conftest import Stack


async def seen(client: httpx.AsyncClient, path: str) -> httpx.Response | None:
    response = await client.get(path)
    return response if response.status_code == 200 else None


async def test_an_opened_ticket_becomes_visible_in_knowledge_and_notifier(stack: Stack) -> None:
    response = await stack.router.post("/v1/tickets", json=ticket_request())
    assert response.status_code == 201
    ticket = response.json()
    assert response.headers["location"] == f"/v1/tickets/{ticket['id']}"
    assert ticket["status"] == "open"

    suggestion = await wait_until(lambda: seen(stack.knowledge, f"/v1/tickets/{ticket['id']}/suggestions"))
    assert suggestion.json()["customer_id"] == ticket["customer_id"]
    assert "Card payment declined" in suggestion.json()["query"]
    report = await wait_until(lambda: seen(stack.notifier, f"/v1/reports/{ticket['id']}"))
    assert report.json()["channel"] == "phone"


async def test_the_ticket_opened_event_carries_the_callers_correlation_id(stack: Stack) -> None:
    response = await stack.router.post("/v1/tickets", json=ticket_request(), headers={"X-Correlation-ID": "ivr-call-7"})
    assert response.headers["x-correlation-id"] == "ivr-call-7"
    await stack.bus.wait_idle()
    [opened] = await wait_until(lambda: _opened_events(stack))
    assert opened.correlationid == "ivr-call-7"


async def _opened_events(stack: Stack) -> list[CloudEvent]:
    await stack.runtimes["router"].relay.flush(timeout=60)
    events = [from_kafka(r.value, r.headers) for r in stack.bus.records(TICKETS.name)]
    return [e for e in events if e.type == "firstcall.ticket.opened"]


async def test_a_retry_with_the_same_idempotency_key_returns_the_same_ticket_and_no_second_event(
    stack: Stack,
) -> None:
    headers = {"Idempotency-Key": "call-123-attempt"}
    first = await stack.router.post("/v1/tickets", json=ticket_request(), headers=headers)
    second = await stack.router.post("/v1/tickets", json=ticket_request(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert [e.subject for e in await _opened_events(stack)] == [first.json()["id"]]


async def test_the_same_key_with_a_different_body_is_refused(stack: Stack) -> None:
    headers = {"Idempotency-Key": "k-1"}
    await stack.router.post("/v1/tickets", json=ticket_request(), headers=headers)
    response = await stack.router.post("/v1/tickets", json=ticket_request(subject="Other"), headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/idempotency-key-reused")
    assert response.json()["errors"][0]["field"] == "header.Idempotency-Key"


async def test_a_customer_calling_twice_by_email_is_one_customer(stack: Stack) -> None:
    first = await stack.router.post("/v1/tickets", json=ticket_request())
    second = await stack.router.post(
        "/v1/tickets", json=ticket_request(customer={"email": "  ADA@example.com ", "phone": "+44 20 7946 0958"})
    )
    third = await stack.router.post("/v1/tickets", json=ticket_request(customer={"phone": "+442079460958"}))
    assert first.json()["customer_id"] == second.json()["customer_id"] == third.json()["customer_id"]


async def test_a_ticket_can_be_read_back(stack: Stack) -> None:
    created = (await stack.router.post("/v1/tickets", json=ticket_request())).json()
    response = await stack.router.get(f"/v1/tickets/{created['id']}")
    assert response.status_code == 200
    assert response.json() == {k: v for k, v in created.items() if k in response.json()}


async def test_an_unknown_ticket_is_a_404_problem(stack: Stack) -> None:
    response = await stack.router.get(f"/v1/tickets/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Ticket not found"


async def test_each_service_records_the_event_once_in_its_own_inbox(stack: Stack) -> None:
    ticket = (await stack.router.post("/v1/tickets", json=ticket_request())).json()
    await wait_until(lambda: seen(stack.notifier, f"/v1/reports/{ticket['id']}"))
    await wait_until(lambda: seen(stack.knowledge, f"/v1/tickets/{ticket['id']}/suggestions"))
    for name in ("knowledge", "notifier"):
        async with stack.runtimes[name].database.session() as session:
            groups = (
                (
                    await session.execute(
                        select(inbox.c.consumer_group).where(inbox.c.event_type == "firstcall.ticket.opened")
                    )
                )
                .scalars()
                .all()
            )
        assert groups == [name]
    async with stack.runtimes["router"].database.session() as session:
        opened = select(func.count()).select_from(outbox).where(outbox.c.event_type == "firstcall.ticket.opened")
        assert await session.scalar(opened) == 1


async def test_embedded_shutdown_drains_every_accepted_event_before_closing(stack: Stack) -> None:
    stack.bus.available = False  # the events of these tickets stay in the router's outbox for now
    tickets = [(await stack.router.post("/v1/tickets", json=ticket_request())).json() for _ in range(5)]
    await stack.runtimes["router"].relay.publish_batch()
    assert await stack.runtimes["router"].relay.pending() >= 5
    stack.bus.available = True
    await drain(stack.bus, list(stack.runtimes.values()), timeout=60)
    for ticket in tickets:
        assert (await stack.notifier.get(f"/v1/reports/{ticket['id']}")).status_code == 200
        assert (await stack.knowledge.get(f"/v1/tickets/{ticket['id']}/suggestions")).status_code == 200
