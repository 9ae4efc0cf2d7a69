"""The bridge between the real stack (Kafka, PostgreSQL, the router) and the real Request Tracker.

Waits are wait-until-seen with generous timeouts; nothing asserts how long anything took.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from services.helpdesk.desk.port import Comment, NewTicket, TicketChanges
from services.helpdesk.desk.request_tracker import RequestTracker
from services.helpdesk.effects.models import PENDING, Effect
from services.helpdesk.links.models import TicketLink
from shared.events.catalogue import TicketOpened
from shared.events.envelope import CloudEvent
from shared.messaging.tables import outbox
from tests.conftest import wait_until
from tests.factories import order_request
from tests.integration.helpdesk.conftest import WAIT, RealDesk, real_rt, rt_comments, rt_ticket
from tests.rt_stack import rt_async_client, rt_token, rt_url

pytestmark = pytest.mark.integration


async def test_a_phone_ticket_lands_in_rt_with_owner_and_context_and_a_credit_set_there_resolves_it(
    real_desk: RealDesk,
) -> None:
    await real_desk.start_bridge()
    grace, grace_token = await real_desk.agent("Grace")
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    order = await real_desk.router.post("/v1/orders", json=order_request(customer={"email": email}))
    assert order.status_code == 201, order.text
    ticket = await real_desk.open_ticket(channel="phone", customer={"email": email, "phone": "+44 20 7946 0958"})
    rt_id = await real_desk.rt_id(ticket)
    assert real_desk.bridge_api is not None
    user = (await real_desk.bridge_api.get(f"/v1/agent-links/{grace['id']}")).json()["rt_user"]

    async def owned_with_context() -> bool:
        owner = (await rt_ticket(rt_id))["Owner"]["id"]
        return owner == user and any(s.startswith("firstcall: context for Grace") for s in await rt_comments(rt_id))

    await wait_until(owned_with_context, timeout=WAIT, every=0.5)
    assert (await rt_ticket(rt_id))["Requestor"][0]["id"] == email

    fields = {
        "firstcall resolution": "credit",
        "firstcall amount": "25.00",
        "firstcall currency": "EUR",
        "firstcall order": order.json()["external_ref"],
        "firstcall reason": "delivery two days late",
    }
    async with rt_async_client(grace_token) as as_grace:
        assert (await as_grace.put(f"ticket/{rt_id}", json={"CustomFields": fields})).status_code == 200

    async def resolved() -> dict[str, Any] | None:
        current = await real_desk.firstcall_ticket(ticket)
        return current if current["status"] == "resolved" else None

    done = await wait_until(resolved, timeout=WAIT, every=0.5)
    assert (done["resolution_type"], done["transfers"]) == ("credit", 0)  # resolved at first contact

    async def rt_shows_it() -> bool:
        subjects = await rt_comments(rt_id)
        return (await rt_ticket(rt_id))["Status"] == "resolved" and any("credit executed" in s for s in subjects)

    await wait_until(rt_shows_it, timeout=WAIT, every=0.5)


async def test_a_redelivered_or_republished_ticket_opened_gives_one_rt_ticket(real_desk: RealDesk) -> None:
    runtime = await real_desk.start_bridge()
    ticket = await real_desk.open_ticket()
    await real_desk.rt_id(ticket)
    envelope = await _published_envelope(real_desk, ticket["id"])
    again = TicketOpened.model_validate(envelope.data).to_cloudevent()  # same event, a new event id
    topic = real_desk.settings.topic(TicketOpened.topic.name)
    await real_desk.router_runtime.bus.publish(topic, [envelope, again])

    async def both_handled() -> bool:
        async with runtime.database.session() as session:
            creates = await session.scalar(
                select(func.count()).where(Effect.ticket_id == uuid.UUID(ticket["id"]), Effect.kind == "create")
            )
            waiting = await session.scalar(select(func.count()).where(Effect.status == PENDING))
        return creates == 2 and waiting == 0

    await wait_until(both_handled, timeout=WAIT, every=0.5)
    assert await _rt_tickets_for(ticket["id"]) == 1


class KillingRT(RequestTracker):
    """RT as it is, but the bridge 'dies' right after RT took each kind of write once."""

    def __init__(self, kills: set[str]) -> None:
        super().__init__(base_url=rt_url(), token=rt_token(), user="firstcall-bridge", timeout=30)
        self.kills = set(kills)

    async def create_ticket(self, ticket: NewTicket) -> int:
        created = await super().create_ticket(ticket)
        self._die("create_ticket")
        return created

    async def change_ticket(self, ticket_id: int, changes: TicketChanges) -> None:
        await super().change_ticket(ticket_id, changes)
        self._die("change_ticket")

    async def add_comment(self, ticket_id: int, comment: Comment) -> None:
        await super().add_comment(ticket_id, comment)
        self._die("add_comment")

    def _die(self, operation: str) -> None:
        if operation in self.kills:
            self.kills.discard(operation)
            raise SystemError(f"bridge killed after RT's answer to {operation}")


async def test_a_bridge_killed_between_rts_answer_and_its_commit_neither_repeats_nor_loses(
    real_desk: RealDesk,
) -> None:
    await real_desk.start_bridge()
    grace, _ = await real_desk.agent("Grace")
    await real_desk.stop_bridge()
    killing = KillingRT({"create_ticket", "change_ticket", "add_comment"})
    runtime = await real_desk.start_bridge(helpdesk=killing, run_bridge=False)
    ticket = await real_desk.open_ticket()

    async def every_write_killed_once() -> bool:
        await runtime.extensions["bridge"].worker.run_once()
        return not killing.kills

    await wait_until(every_write_killed_once, timeout=WAIT, every=0.3)
    await real_desk.stop_bridge()
    await real_desk.start_bridge()  # restarted: the journal says what may already be in RT
    rt_id = await real_desk.rt_id(ticket)

    async def nothing_waits() -> bool:
        assert real_desk.bridge_runtime is not None
        async with real_desk.bridge_runtime.database.session() as session:
            return not await session.scalar(select(func.count()).where(Effect.status == PENDING))

    await wait_until(nothing_waits, timeout=WAIT, every=0.5)
    assert await _rt_tickets_for(ticket["id"]) == 1
    assert sum(s.startswith("firstcall: context for Grace") for s in await rt_comments(rt_id)) == 1
    rt = real_rt()
    owner_sets = [c for c in await rt.changes(rt_id, after=0, limit=100) if c.kind == "owner"]
    await rt.aclose()
    assert len(owner_sets) == 1
    assert grace["display_name"] == "Grace"


async def test_while_rt_is_down_events_wait_and_are_applied_when_it_is_back(real_desk: RealDesk) -> None:
    await real_desk.start_bridge()
    await real_desk.agent("Grace")
    await real_desk.stop_bridge()
    unreachable = RequestTracker(base_url="http://127.0.0.1:9/", token="x", user="firstcall-bridge", timeout=2)
    runtime = await real_desk.start_bridge(helpdesk=unreachable)
    ticket = await real_desk.open_ticket()

    async def waiting_after_a_failed_attempt() -> bool:
        async with runtime.database.session() as session:
            effect = (await session.scalars(select(Effect).where(Effect.kind == "create"))).first()
        return effect is not None and effect.status == PENDING and effect.attempts >= 1

    await wait_until(waiting_after_a_failed_attempt, timeout=WAIT, every=0.5)
    await real_desk.stop_bridge()
    await real_desk.start_bridge()
    rt_id = await real_desk.rt_id(ticket)

    async def owned() -> bool:
        return str((await rt_ticket(rt_id))["Owner"]["id"]) != "Nobody"

    await wait_until(owned, timeout=WAIT, every=0.5)


async def test_while_the_router_is_down_rt_changes_wait_behind_the_cursor(real_desk: RealDesk) -> None:
    runtime = await real_desk.start_bridge()
    _, token = await real_desk.agent("Grace")
    ticket = await real_desk.open_ticket()
    rt_id = await real_desk.rt_id(ticket)
    real_desk.router_link.down = True
    async with rt_async_client(token) as as_grace:
        reply = {"Content": "We are on it.", "ContentType": "text/plain"}
        assert (await as_grace.post(f"ticket/{rt_id}/correspond", json=reply)).status_code == 201
    rt = real_rt()
    reply_id = max(c.id for c in await rt.changes(rt_id, after=0, limit=100) if c.kind == "reply")
    await rt.aclose()
    settled = datetime.now(UTC) + timedelta(seconds=3)

    async def polled_while_down() -> bool:
        async with runtime.database.session() as session:
            link = await session.get(TicketLink, uuid.UUID(ticket["id"]))
        assert link is not None
        assert link.rt_last_change_id < reply_id  # not read past while firstcall cannot take it
        return datetime.now(UTC) > settled

    await wait_until(polled_while_down, timeout=WAIT, every=0.5)
    real_desk.router_link.down = False

    async def first_response() -> bool:
        return (await real_desk.firstcall_ticket(ticket))["first_responded_at"] is not None

    await wait_until(first_response, timeout=WAIT, every=0.5)


async def _published_envelope(desk: RealDesk, ticket_id: str) -> CloudEvent:
    async with desk.router_runtime.database.session() as session:
        rows = (
            await session.execute(
                select(outbox.c.envelope).where(
                    outbox.c.event_type == TicketOpened.cloudevent_type(), outbox.c.subject == ticket_id
                )
            )
        ).all()
    [row] = rows
    return CloudEvent.from_json(row[0])


async def _rt_tickets_for(firstcall_id: str) -> int:
    async with rt_async_client() as client:
        response = await client.get("tickets", params={"query": f"'CF.{{firstcall ticket}}' = '{firstcall_id}'"})
        return int(response.json()["count"])
