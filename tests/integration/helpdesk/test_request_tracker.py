"""The Request Tracker adapter against the real RT 5: what the bridge reads and writes through REST 2.0.

Each test makes its own tickets (a fresh firstcall ticket id) and agents (a fresh name), so tests never see
each other's data in RT's one database.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from services.helpdesk.desk.port import Comment, HelpdeskRejected, NewTicket, TicketChanges
from services.helpdesk.desk.request_tracker import RequestTracker
from tests.rt_stack import create_agent, rt_async_client, rt_token, rt_url

pytestmark = pytest.mark.integration


@pytest.fixture
async def rt() -> AsyncIterator[RequestTracker]:
    adapter = RequestTracker(base_url=rt_url(), token=rt_token(), user="firstcall-bridge", timeout=30)
    yield adapter
    await adapter.aclose()


async def new_ticket(rt: RequestTracker, **fields: str) -> tuple[int, str]:
    firstcall_id = str(uuid.uuid4())
    ticket = NewTicket(
        queue="firstcall",
        requestor=f"c-{firstcall_id[:8]}@example.com",
        subject="Card payment declined",
        text="Declined at checkout.",
        fields={"ticket": firstcall_id, **fields},
    )
    return await rt.create_ticket(ticket), firstcall_id


def agent() -> tuple[str, str]:
    return create_agent(f"agent-{uuid.uuid4().hex[:10]}")


async def test_a_created_ticket_is_found_by_its_firstcall_id_and_read_back(rt: RequestTracker) -> None:
    rt_id, firstcall_id = await new_ticket(rt)

    assert await rt.find_ticket(firstcall_ticket=firstcall_id) == rt_id
    assert await rt.find_ticket(firstcall_ticket=str(uuid.uuid4())) is None
    ticket = await rt.read_ticket(rt_id)
    assert (ticket.queue, ticket.owner, ticket.status) == ("firstcall", None, "new")
    assert ticket.fields["ticket"] == firstcall_id
    assert ticket.fields["resolution"] is None


async def test_owner_status_queue_and_fields_change_and_a_refused_change_is_an_error(rt: RequestTracker) -> None:
    rt_id, _ = await new_ticket(rt)
    name, _ = agent()
    await rt.change_ticket(
        rt_id, TicketChanges(owner=name, status="open", queue="firstcall-billing", fields={"problem": "Outage (3)"})
    )
    ticket = await rt.read_ticket(rt_id)
    assert (ticket.owner, ticket.status, ticket.queue, ticket.fields["problem"]) == (
        name,
        "open",
        "firstcall-billing",
        "Outage (3)",
    )
    await rt.change_ticket(rt_id, TicketChanges(unowned=True, fields={"problem": None}))
    ticket = await rt.read_ticket(rt_id)
    assert (ticket.owner, ticket.fields["problem"]) == (None, None)

    with pytest.raises(HelpdeskRejected, match="owner"):
        await rt.change_ticket(rt_id, TicketChanges(owner="firstcall-no-such-user"))


async def test_a_comment_is_found_by_the_marker_in_its_subject_and_only_after_the_watermark(
    rt: RequestTracker,
) -> None:
    rt_id, _ = await new_ticket(rt)
    before = await rt.last_change_id(rt_id)
    await rt.add_comment(
        rt_id, Comment(subject="firstcall: context [fc-0123456789abcdef]", text="<p>hi</p>", html=True)
    )

    assert await rt.has_comment(rt_id, marker="fc-0123456789abcdef", after=before)
    assert not await rt.has_comment(rt_id, marker="fc-0123456789abcdef", after=await rt.last_change_id(rt_id))
    assert not await rt.has_comment(rt_id, marker="fc-fedcba9876543210", after=0)


async def test_an_agents_work_reads_back_as_changes_with_names_and_texts(rt: RequestTracker) -> None:
    rt_id, _ = await new_ticket(rt)
    name, token = agent()
    other, _ = agent()
    await rt.change_ticket(rt_id, TicketChanges(owner=name))
    mark = await rt.last_change_id(rt_id)
    async with rt_async_client(token) as as_agent:
        reply = await as_agent.post(
            f"ticket/{rt_id}/correspond", json={"Content": "On it.", "ContentType": "text/plain"}
        )
        assert reply.status_code == 201, reply.text
        fields = {"firstcall resolution": "credit", "firstcall amount": "25.00", "firstcall currency": "EUR"}
        assert (await as_agent.put(f"ticket/{rt_id}", json={"CustomFields": fields})).status_code == 200
        assert (await as_agent.put(f"ticket/{rt_id}", json={"Owner": other})).status_code == 200
        assert (await as_agent.put(f"ticket/{rt_id}", json={"Status": "resolved"})).status_code == 200

    changes = [c for c in await rt.changes(rt_id, after=mark, limit=100) if c.author == name]
    kinds = [(c.kind, c.field, c.old, c.new) for c in changes if c.kind != "status" or c.new == "resolved"]
    assert ("reply", None, None, None) in kinds
    assert ("field", "resolution", None, "credit") in kinds
    assert ("field", "amount", None, "25.00") in kinds
    assert [k for k in kinds if k[0] == "owner"] == [("owner", "Owner", name, other)]  # not RT's second record
    assert ("status", "Status", "open", "resolved") in kinds
    [reply_change] = [c for c in changes if c.kind == "reply"]
    assert await rt.change_text(reply_change) == "On it."
    assert all(c.id > mark for c in changes)


async def test_changed_tickets_come_oldest_first_by_pages_with_rts_clock(rt: RequestTracker) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    created = [(await new_ticket(rt))[0] for _ in range(3)]
    seen: list[int] = []
    page = 1
    while True:
        changed = await rt.changed_tickets(since=since, limit=2, page=page)
        seen += [t.id for t in changed.tickets]
        assert abs((changed.now - datetime.now(UTC)).total_seconds()) < 300
        if changed.complete:
            break
        page += 1
    assert [t for t in seen if t in created] == created
    updated = [t.updated_at for t in (await rt.changed_tickets(since=since, limit=100)).tickets]
    assert updated == sorted(updated)


async def test_users_are_known_by_name(rt: RequestTracker) -> None:
    name, _ = agent()
    assert await rt.user_exists(name)
    assert not await rt.user_exists(f"nobody-{uuid.uuid4().hex[:8]}")
    assert rt.ticket_url(42) == f"{rt_url().rstrip('/')}/Ticket/Display.html?id=42"
