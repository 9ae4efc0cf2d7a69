"""An event about a customer that arrives after their erasure (another topic, a replay) brings nothing back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx

from shared.events.catalogue import CustomerErased, Event
from tests.conftest import wait_until
from tests.factories import ticket_opened
from tests.unit.conftest import Stack


async def publish(stack: Stack, *events: Event) -> None:
    for event in events:
        await stack.bus.publish(event.topic.name, [event.to_cloudevent()])
    await stack.bus.wait_idle()


async def status(client: httpx.AsyncClient, path: str) -> int:
    return (await client.get(path)).status_code


async def test_a_ticket_of_an_erased_customer_arriving_late_is_skipped_by_knowledge_and_the_notifier(
    stack: Stack,
) -> None:
    erased, other = uuid.uuid4(), uuid.uuid4()
    await publish(
        stack,
        CustomerErased(customer_id=erased, erasure_id=uuid.uuid4(), requested_at=datetime.now(UTC)),
    )
    late, control = ticket_opened(customer_id=erased), ticket_opened(customer_id=other)
    await publish(stack, late, control)

    async def control_seen() -> bool:
        return await status(stack.notifier, f"/v1/reports/{control.ticket_id}") == 200 and (
            await status(stack.knowledge, f"/v1/tickets/{control.ticket_id}/suggestions") == 200
        )

    await wait_until(control_seen, timeout=30)
    assert await status(stack.notifier, f"/v1/reports/{late.ticket_id}") == 404
    assert await status(stack.knowledge, f"/v1/tickets/{late.ticket_id}/suggestions") == 404
