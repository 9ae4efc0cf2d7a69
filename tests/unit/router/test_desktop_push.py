"""Push to the agent desktop: the router's server-sent-events stream per agent, served in-process.

A stream is read over a real socket (the in-process ASGI transport buffers a response to its end, and a
stream has none); every read is bounded by a timeout, so a stream that stays silent fails the test
instead of hanging it. Absence is proven by order, never by waiting: after the events that must not
show, one that must is made, and it has to be the next message.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import delete

from services.router import bootstrap
from services.router.desktop.horizon import Horizon
from services.router.desktop.push import EXTENSION, DesktopPush
from shared.events.catalogue import ProblemDetected
from shared.messaging.tables import outbox
from shared.runtime import ServiceRuntime
from tests.factories import ADMIN, order_request, ticket_request
from tests.unit.router.conftest import RouterHarness

READ_TIMEOUT = 10.0  # for a message that must come; generous for a loaded two-core machine


@dataclass
class Message:
    event: str | None = None
    id: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)
    retry: int | None = None

    @property
    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = orjson.loads(self.data)
        return body


class EventStream:
    """An open SSE response, read one message at a time, each read bounded by a timeout."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def message(self, timeout: float = READ_TIMEOUT) -> Message:
        """The next message, comments included (a heartbeat is a message with only a comment)."""
        message, started = Message(), False
        async with asyncio.timeout(timeout):
            while True:
                line = await anext(self._lines)
                if line == "":
                    if started:
                        return message
                    continue
                started = True
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "":
                    message.comments.append(value)
                elif name == "event":
                    message.event = value
                elif name == "id":
                    message.id = value
                elif name == "data":
                    message.data = f"{message.data}\n{value}" if message.data else value
                elif name == "retry":
                    message.retry = int(value)

    async def event(self, timeout: float = READ_TIMEOUT) -> Message:
        """The next message that is an event (heartbeats skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.message(timeout)
                if message.event is not None:
                    return message


async def ended(events: EventStream) -> bool:
    """Whether the server closes the stream (each message on the way read within the timeout)."""
    try:
        while True:
            await events.message()
    except StopAsyncIteration:
        return True


@asynccontextmanager
async def served(runtime: ServiceRuntime) -> AsyncIterator[str]:
    """The router of `runtime` over HTTP on a loopback port; its base URL."""
    app: FastAPI = bootstrap.create_app(runtime, manage_runtime=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(READ_TIMEOUT):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def stream(
    base_url: str, path: str, key: dict[str, str], last_event_id: str | None = None
) -> AsyncIterator[EventStream]:
    """An open event stream; leaving the block disconnects, as a desktop that closes does."""
    headers = {**key, **({"Last-Event-ID": last_event_id} if last_event_id is not None else {})}
    timeout = httpx.Timeout(READ_TIMEOUT, read=None)  # reads are bounded per message instead
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=timeout) as client,
        client.stream("GET", path, headers=headers) as response,
    ):
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventStream(response)


@dataclass
class Desk:
    """The router harness served over a socket, with its desktop push."""

    router: RouterHarness
    url: str

    @property
    def push(self) -> DesktopPush:
        push: DesktopPush = self.router.runtime.extensions[EXTENSION]
        return push

    async def agent_with_key(self, **overrides: Any) -> tuple[dict[str, Any], dict[str, str]]:
        agent = await self.router.agent(**{"capacity": {"chat": 20, "phone": 1, "email": 5}, **overrides})
        return agent, await self.router.key("agent", agent_id=agent["id"])

    async def ticket(self, **overrides: Any) -> dict[str, Any]:
        response = await self.router.post("/v1/tickets", ticket_request(channel="chat", **overrides))
        assert response.status_code == 201, response.text
        ticket: dict[str, Any] = response.json()
        return ticket

    async def set_status(self, agent: dict[str, Any], status: str) -> None:
        response = await self.router.client.patch(f"/v1/agents/{agent['id']}", json={"status": status})
        assert response.status_code == 200, response.text


@pytest.fixture
async def desk(router: RouterHarness) -> AsyncIterator[Desk]:
    async with served(router.runtime) as url:
        yield Desk(router, url)


async def test_an_assignment_arrives_on_the_agents_stream(desk: Desk) -> None:
    agent, key = await desk.agent_with_key()
    async with stream(desk.url, "/v1/agents/me/events", key) as events:
        ready = await events.event()
        assert ready.event == "ready"
        assert ready.id is not None
        assert ready.retry is not None
        assert ready.json["agent_id"] == agent["id"]
        ticket = await desk.ticket()
        assigned = await events.event()
    assert assigned.event == "ticket.assigned"
    assert int(assigned.id or "") > int(ready.id)
    assert assigned.json["concern"] == "assignee"
    assert assigned.json["type"] == "firstcall.ticket.assigned"
    assert assigned.json["subject"] == ticket["id"]
    assert assigned.json["data"]["agent_id"] == agent["id"]


async def test_a_desktop_that_reconnects_with_its_last_event_id_misses_nothing_and_gets_nothing_twice(
    desk: Desk,
) -> None:
    _, key = await desk.agent_with_key()
    seen: list[Message] = []
    async with stream(desk.url, "/v1/agents/me/events", key) as events:
        await events.event()
        for i in range(2):
            await desk.ticket(subject=f"before {i}")
            seen.append(await events.event())
    missed = [(await desk.ticket(subject=f"while away {i}"))["id"] for i in range(3)]
    async with stream(desk.url, "/v1/agents/me/events", key, last_event_id=seen[-1].id) as events:
        resumed = await events.event()
        assert resumed.event == "ready"
        assert resumed.id is None, "a resumed stream keeps the client's cursor"
        caught_up = [await events.event() for _ in missed]
        sentinel = (await desk.ticket(subject="after"))["id"]
        after = await events.event()
    assert [m.json["subject"] for m in caught_up] == missed
    assert after.json["subject"] == sentinel, "nothing before it was sent twice"
    ids = [int(m.id or "") for m in [*seen, *caught_up, after]]
    assert ids == sorted(set(ids)), "ids only grow, never repeat"


async def test_another_agents_events_are_not_on_the_stream(desk: Desk) -> None:
    mine, key = await desk.agent_with_key(display_name="Mine")
    other, _ = await desk.agent_with_key(display_name="Other")
    async with stream(desk.url, "/v1/agents/me/events", key) as events:
        await events.event()
        await desk.set_status(mine, "away")
        others = [await desk.ticket(subject=f"theirs {i}") for i in range(3)]
        assert {t["agent_id"] for t in others} == {other["id"]}
        await desk.set_status(other, "away")
        await desk.set_status(mine, "available")
        own = await desk.ticket(subject="mine")
        first = await events.event()
    assert first.json["subject"] == own["id"], "the other agent's assignments came before it"


async def test_an_agents_key_opens_only_that_agents_stream(desk: Desk) -> None:
    _, key = await desk.agent_with_key(display_name="Mine")
    other, _ = await desk.agent_with_key(display_name="Other")
    refused = await desk.router.client.get(f"/v1/agents/{other['id']}/events", headers=key)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["rule"] == "own-agent-only"
    supervisor = await desk.router.key("supervisor")
    async with stream(desk.url, f"/v1/agents/{other['id']}/events", supervisor) as events:
        assert (await events.event()).json["agent_id"] == other["id"]


async def test_me_needs_a_key_that_acts_for_an_agent(desk: Desk) -> None:
    refused = await desk.router.client.get("/v1/agents/me/events")  # the admin key has no agent
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"
    assert "acts for no agent" in refused.json()["title"]


async def test_an_unknown_agent_and_a_malformed_cursor_are_refused_before_any_stream(desk: Desk) -> None:
    assert (await desk.router.client.get(f"/v1/agents/{uuid.uuid4()}/events")).status_code == 404
    agent, _ = await desk.agent_with_key()
    path = f"/v1/agents/{agent['id']}/events"
    for cursor in ("abc", "-1", "1" * 20, "9999999999999999999"):
        response = await desk.router.client.get(path, headers={"Last-Event-ID": cursor})
        assert response.status_code == 422, cursor
        assert "Last-Event-ID" in response.text


async def test_the_streams_of_one_key_are_bounded(desk: Desk) -> None:
    desk.push.limits.per_key = 2
    _, key = await desk.agent_with_key()
    async with (
        stream(desk.url, "/v1/agents/me/events", key) as first,
        stream(desk.url, "/v1/agents/me/events", key) as second,
    ):
        await first.event()
        await second.event()
        refused = await desk.router.client.get("/v1/agents/me/events", headers=key)
        assert refused.status_code == 429
        assert refused.json()["type"].endswith("/too-many-streams")
        assert "retry-after" in refused.headers
    async with stream(desk.url, "/v1/agents/me/events", key) as again:
        assert (await again.event()).event == "ready", "a closed stream gives its slot back"


async def test_the_streams_of_one_process_are_bounded(desk: Desk) -> None:
    desk.push.limits.per_process = 1
    _, key = await desk.agent_with_key()
    _, other_key = await desk.agent_with_key(display_name="Other")
    async with stream(desk.url, "/v1/agents/me/events", key) as events:
        await events.event()
        refused = await desk.router.client.get("/v1/agents/me/events", headers=other_key)
    assert refused.status_code == 503
    assert refused.json()["type"].endswith("/streams-at-capacity")


async def test_heartbeats_keep_an_idle_stream_talking_and_a_revoked_key_loses_it(desk: Desk) -> None:
    desk.push.config = replace(desk.push.config, heartbeat_seconds=0.2)
    _, key = await desk.agent_with_key()
    async with stream(desk.url, "/v1/agents/me/events", key) as events:
        await events.event()
        heartbeat = await events.message()
        assert heartbeat.event is None
        assert heartbeat.comments == ["keep-alive"]
        key_id = key["Authorization"].removeprefix("Bearer fck_").split("_", 1)[0]
        assert (await desk.router.client.delete(f"/v1/api-keys/{key_id}")).status_code == 204
        desk.router.runtime.authenticator.forget()
        assert await ended(events), "at the next heartbeat the stream closes instead"


async def test_a_cursor_beyond_every_event_is_answered_with_a_reset(desk: Desk) -> None:
    _, key = await desk.agent_with_key()
    async with stream(desk.url, "/v1/agents/me/events", key, last_event_id="999999") as events:
        reset = await events.event()
        assert reset.event == "reset"
        assert reset.json["resume_after"] == int(reset.id or "")
        ticket = await desk.ticket()
        assert (await events.event()).json["subject"] == ticket["id"], "the stream goes on from the reset"


async def test_a_stream_ends_after_its_lifetime_and_the_client_resumes_where_it_was(desk: Desk) -> None:
    desk.push.config = replace(desk.push.config, stream_lifetime_seconds=0.5, heartbeat_seconds=0.1)
    _, key = await desk.agent_with_key()
    async with stream(desk.url, "/v1/agents/me/events", key) as events:
        ready = await events.event()
        assert await ended(events)
    desk.push.config = replace(desk.push.config, stream_lifetime_seconds=60)
    ticket = await desk.ticket()
    async with stream(desk.url, "/v1/agents/me/events", key, last_event_id=ready.id) as events:
        await events.event()
        assert (await events.event()).json["subject"] == ticket["id"]


async def test_when_sqlite_numbers_the_outbox_again_the_stream_resets_and_goes_on(desk: Desk) -> None:
    _, key = await desk.agent_with_key()
    async with stream(desk.url, "/v1/agents/me/events", key) as events:
        await events.event()
        async with desk.router.runtime.database.session() as session:
            await session.execute(delete(outbox))  # what retention does to an idle router's outbox
            await session.commit()
        reset = await events.event()
        ticket = await desk.ticket()  # its events are numbered from 1 again
        assigned = await events.event()
    assert (reset.event, reset.id) == ("reset", "0")
    assert assigned.json["subject"] == ticket["id"]


async def test_transfers_reach_both_agents_each_in_their_part(desk: Desk) -> None:
    first, first_key = await desk.agent_with_key(display_name="First")
    second, second_key = await desk.agent_with_key(display_name="Second")
    await desk.set_status(second, "away")
    ticket = await desk.ticket()
    assert ticket["agent_id"] == first["id"]
    await desk.set_status(second, "available")
    async with (
        stream(desk.url, "/v1/agents/me/events", first_key) as away,
        stream(desk.url, "/v1/agents/me/events", second_key) as to,
    ):
        await away.event()
        await to.event()
        response = await desk.router.post(
            f"/v1/tickets/{ticket['id']}/transfers", {"reason": "customer_request", "to_agent_id": second["id"]}
        )
        assert response.status_code in (200, 201), response.text
        gone = await away.event()
        came = [(await to.event()) for _ in range(2)]
    assert (gone.event, gone.json["concern"]) == ("ticket.transferred", "transferred_from")
    assert {(m.event, m.json["concern"]) for m in came} == {
        ("ticket.transferred", "transferred_to"),
        ("ticket.assigned", "assignee"),
    }


async def test_an_approval_decided_reaches_the_agent_who_asked(desk: Desk) -> None:
    agent, key = await desk.agent_with_key()
    ticket = await desk.ticket()
    order = (await desk.router.post("/v1/orders", order_request())).json()
    body = {"type": "credit", "amount": "80.00", "currency": "EUR", "reason": "late", "order_id": order["id"]}
    pending = await desk.router.post(f"/v1/tickets/{ticket['id']}/resolutions", {**body, "agent_id": agent["id"]})
    assert pending.status_code == 202, pending.text
    supervisor = await desk.router.agent(display_name="Sup", role="supervisor", status="offline")
    async with stream(desk.url, "/v1/agents/me/events", key) as events:
        await events.event()
        decision = await desk.router.post(
            f"/v1/approvals/{pending.json()['approval']['id']}/decision",
            {"approved": False, "note": "not this time", "supervisor_id": supervisor["id"]},
        )
        assert decision.status_code == 200, decision.text
        decided = await events.event()
    assert (decided.event, decided.json["concern"]) == ("resolution.approval_decided", "requester")
    assert decided.json["data"]["approved"] is False


async def test_a_ticket_at_risk_is_told_to_its_agent_once(desk: Desk) -> None:
    _, key = await desk.agent_with_key()
    ticket = await desk.ticket(priority="normal")  # 60 minutes to a first response
    opened = datetime.fromisoformat(ticket["opened_at"])
    async with stream(desk.url, "/v1/agents/me/events", key) as events:
        await events.event()
        assert await desk.push.at_risk.sweep(opened + timedelta(minutes=30)) == 0, "half the time is not at risk"
        assert await desk.push.at_risk.sweep(opened + timedelta(minutes=50)) == 1
        assert await desk.push.at_risk.sweep(opened + timedelta(minutes=55)) == 0, "warned once"
        warning = await events.event()
    assert (warning.event, warning.json["subject"]) == ("ticket.sla_at_risk", ticket["id"])
    assert warning.json["data"]["elapsed_share"] >= 0.8
    assert len(await desk.router.published("firstcall.ticket.sla_at_risk")) == 1


async def test_a_breached_sla_reaches_the_agent_who_keeps_the_ticket(desk: Desk) -> None:
    _, key = await desk.agent_with_key()
    ticket = await desk.ticket()
    await desk.router.make_overdue(ticket["id"])
    sweep = desk.router.sla_monitor()
    async with stream(desk.url, "/v1/agents/me/events", key) as events:
        await events.event()
        assert await sweep.sweep() == 1
        breached = [await events.event() for _ in range(2)]  # stays with them: re-assigned, then the breach
    assert [m.event for m in breached] == ["ticket.assigned", "ticket.sla_breached"]
    assert breached[1].json["data"]["action"] == "team_lead_notified"


async def test_a_breach_that_reassigns_the_ticket_reaches_the_agent_who_had_it(desk: Desk) -> None:
    slow, key = await desk.agent_with_key(display_name="Slow")
    ticket = await desk.ticket()
    assert ticket["agent_id"] == slow["id"]
    quick = await desk.router.agent(display_name="Quick", capacity={"chat": 1})
    await desk.router.make_overdue(ticket["id"])
    sweep = desk.router.sla_monitor()
    async with stream(desk.url, "/v1/agents/me/events", key) as events:
        await events.event()
        assert await sweep.sweep() == 1
        breach = await events.event()  # the new assignment is the other agent's, not on this stream
    assert (breach.event, breach.json["concern"]) == ("ticket.sla_breached", "previous_agent")
    assert breach.json["data"]["action"] == "reassigned"
    assert (breach.json["data"]["agent_id"], breach.json["data"]["previous_agent_id"]) == (quick["id"], slow["id"])


async def test_the_account_handoff_briefing_reaches_the_new_owner(desk: Desk) -> None:
    owner, key = await desk.agent_with_key(display_name="Owner", status="offline")
    ticket = await desk.ticket()
    async with stream(desk.url, "/v1/agents/me/events", key) as events:
        await events.event()
        response = await desk.router.client.put(
            f"/v1/customers/{ticket['customer_id']}/owner", json={"agent_id": owner["id"]}
        )
        assert response.status_code == 200, response.text
        handoff = await events.event()
    assert (handoff.event, handoff.json["concern"]) == ("customer.owner_changed", "new_owner")
    assert handoff.json["data"]["briefing"]
    assert [item["id"] for item in handoff.json["data"]["open_items"]] == [ticket["id"]]


async def test_a_problem_detected_on_an_open_ticket_reaches_its_agent(desk: Desk) -> None:
    agent, key = await desk.agent_with_key()
    ticket = await desk.ticket()
    problem_id = uuid.uuid4()
    now = datetime.now(UTC)
    detected = ProblemDetected(
        problem_id=problem_id,
        summary_text="Card payments declined at checkout",
        representative_reports=["declined"],
        customer_count=4,
        report_count=5,
        first_seen=now,
        last_seen=now,
        growth_per_hour=4.0,
        severity="minor",
        ticket_ids=[uuid.UUID(ticket["id"]), uuid.uuid4()],
        detected_at=now,
    )
    envelope = detected.to_cloudevent()
    async with stream(desk.url, "/v1/agents/me/events", key) as events:
        await events.event()
        await desk.router.bus.publish(detected.topic.name, [envelope])
        linked = await events.event()
    assert (linked.event, linked.json["subject"]) == ("ticket.problem_linked", ticket["id"])
    data = linked.json["data"]
    assert (data["problem_id"], data["change"], data["agent_id"]) == (str(problem_id), "detected", agent["id"])
    await desk.router.bus.publish(detected.topic.name, [envelope])  # redelivered: the inbox tells it once
    await desk.router.bus.wait_idle()
    assert len(await desk.router.published("firstcall.ticket.problem_linked")) == 1


def _horizon(**overrides: Any) -> Horizon:
    return Horizon(**{"value": 10, "grace": 1.0, "holes_may_fill": True, **overrides})


def test_a_hole_holds_what_follows_it_until_it_fills() -> None:
    horizon = _horizon()
    assert horizon.settled_prefix([11, 13, 14], xmin=100, xmax=105, now=0.0) == 1
    horizon.move_to(11)
    assert horizon.settled_prefix([13, 14], xmin=100, xmax=105, now=0.5) == 0, "12 may still commit"
    assert horizon.settled_prefix([12, 13, 14], xmin=100, xmax=105, now=0.6) == 3


def test_a_hole_that_stays_empty_is_given_up_once_every_transaction_that_could_fill_it_ended() -> None:
    horizon = _horizon()
    assert horizon.settled_prefix([12], xmin=100, xmax=105, now=0.0) == 0
    assert horizon.settled_prefix([12], xmin=100, xmax=105, now=0.9) == 0, "within the grace"
    assert horizon.settled_prefix([12], xmin=103, xmax=108, now=1.0) == 0, "watermark 108; 103 still runs"
    assert horizon.settled_prefix([12], xmin=107, xmax=110, now=2.0) == 0
    assert horizon.settled_prefix([12], xmin=108, xmax=111, now=3.0) == 1


def test_with_nothing_running_a_hole_settles_in_the_read_after_the_grace() -> None:
    horizon = _horizon()
    assert horizon.settled_prefix([12], xmin=100, xmax=100, now=0.0) == 0
    assert horizon.settled_prefix([12], xmin=100, xmax=100, now=1.0) == 1


def test_holes_seen_together_settle_together() -> None:
    horizon = _horizon()
    assert horizon.settled_prefix([12, 14, 16], xmin=100, xmax=100, now=0.0) == 0
    assert horizon.settled_prefix([12, 14, 16], xmin=100, xmax=100, now=1.0) == 3


def test_on_sqlite_a_hole_is_a_rollback_and_settles_at_once() -> None:
    horizon = _horizon(holes_may_fill=False)
    assert horizon.settled_prefix([12, 15], xmin=None, xmax=None, now=0.0) == 2


async def test_the_admin_key_reads_the_documented_stream_operations(desk: Desk) -> None:
    spec = (await desk.router.client.get("/openapi.json", headers=ADMIN)).json()
    for path in ("/v1/agents/me/events", "/v1/agents/{agent_id}/events"):
        operation = spec["paths"][path]["get"]
        assert "text/event-stream" in operation["responses"]["200"]["content"]
        assert {"401", "403", "422", "429", "503"} <= set(operation["responses"])
