"""The ticket life on PostgreSQL with two router replicas: conditional writes racing, a list paged while
tickets pour in, and the quiet-period sweep shared between replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.router.tickets.closing import QuietPeriodCloser
from services.router.tickets.models import TicketStatusChange
from tests.factories import agent_request, ticket_request
from tests.integration.router.replicas import Replica, router_replicas

pytestmark = pytest.mark.integration


@pytest.fixture
async def replicas(tmp_path: Path, pg_url: str) -> AsyncIterator[list[Replica]]:
    async with router_replicas(tmp_path, pg_url, sla_check_seconds=3600, close_check_seconds=3600) as started:
        yield started


async def test_two_writers_with_the_same_etag_racing_one_wins_the_other_gets_412(replicas: list[Replica]) -> None:
    (_, first), (_, second) = replicas
    ticket = (await first.post("/v1/tickets", json=ticket_request())).json()
    path = f"/v1/tickets/{ticket['id']}"
    for round_ in range(5):  # five races, each from the tag both writers just read
        tag = (await first.get(path)).headers["ETag"]
        subjects = [f"agent's subject {round_}", f"bridge's subject {round_}"]
        responses = await asyncio.gather(
            first.patch(path, json={"subject": subjects[0]}, headers={"If-Match": tag}),
            second.patch(path, json={"subject": subjects[1]}, headers={"If-Match": tag}),
        )
        assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
        [winner] = [subject for subject, r in zip(subjects, responses, strict=True) if r.status_code == 200]
        [loser] = [r for r in responses if r.status_code == 412]
        stored = await second.get(path)
        assert stored.json()["subject"] == winner
        assert loser.headers["ETag"] == stored.headers["ETag"]


async def test_two_status_changes_racing_on_one_etag_move_the_ticket_once(replicas: list[Replica]) -> None:
    (runtime, first), (_, second) = replicas
    agent = (await first.post("/v1/agents", json=agent_request())).json()
    ticket = (await first.post("/v1/tickets", json=ticket_request())).json()
    assert ticket["agent_id"] == agent["id"]
    path = f"/v1/tickets/{ticket['id']}"
    tag = (await first.get(path)).headers["ETag"]
    responses = await asyncio.gather(
        first.post(f"{path}/status", json={"status": "on_hold"}, headers={"If-Match": tag}),
        second.post(f"{path}/status", json={"status": "pending_customer"}, headers={"If-Match": tag}),
    )
    assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
    async with runtime.database.session() as session:
        moves = await session.scalar(select(func.count()).select_from(TicketStatusChange))
    assert moves == 1


async def _all_ids(client: httpx.AsyncClient, params: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = (await client.get("/v1/tickets", params={**params, **({"cursor": cursor} if cursor else {})})).json()
        ids += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
        await asyncio.sleep(0)  # let the writers in between pages


async def test_a_cursor_stays_stable_while_tickets_are_opened_at_volume(replicas: list[Replica]) -> None:
    (_, first), (_, second) = replicas
    before = []  # one after another: their order is the order they were opened in
    for n in range(240):
        before.append((await first.post("/v1/tickets", json=ticket_request(subject=f"before {n}"))).json()["id"])

    async def open_more() -> list[str]:
        opened = []
        for n in range(60):
            opened.append((await second.post("/v1/tickets", json=ticket_request(subject=f"during {n}"))).json()["id"])
        return opened

    newest_first, oldest_first, during = await asyncio.gather(
        _all_ids(first, {"limit": 25}), _all_ids(first, {"limit": 25, "sort": "opened_at"}), open_more()
    )
    assert len(newest_first) == len(set(newest_first))
    assert len(oldest_first) == len(set(oldest_first))
    # Every ticket there before paging began is listed once, whatever arrived meanwhile.
    assert set(before) <= set(newest_first)
    assert set(before) <= set(oldest_first)
    assert [t for t in newest_first if t in set(before)] == list(reversed(before))
    # Oldest first, what was opened meanwhile is never listed before what was there already.
    assert oldest_first[: len(before)] == before
    assert set(oldest_first) <= set(before) | set(during)


async def test_two_replicas_sweeping_at_once_close_each_quiet_ticket_once(replicas: list[Replica]) -> None:
    (runtime, first), (other, _) = replicas
    agent = (await first.post("/v1/agents", json=agent_request(capacity={"chat": 100}))).json()
    answer = {"type": "answer", "reason": "explained", "agent_id": agent["id"]}
    for n in range(60):
        ticket = (await first.post("/v1/tickets", json=ticket_request(channel="chat", subject=f"t{n}"))).json()
        resolved = await first.post(f"/v1/tickets/{ticket['id']}/resolutions", json=answer)
        assert resolved.status_code == 201, resolved.text
    later = datetime.now(UTC) + timedelta(days=30)
    # Small batches, so that both sweeps take several turns over the same rows.
    closers = [
        QuietPeriodCloser(database=r.database, settings=r.settings, batch=7)  # type: ignore[arg-type]
        for r in (runtime, other)
    ]
    closed = await asyncio.gather(*(closer.sweep(now=later) for closer in closers))
    assert sum(closed) == 60
    async with runtime.database.session() as session:
        closings = await session.scalar(
            select(func.count()).select_from(TicketStatusChange).where(TicketStatusChange.to_status == "closed")
        )
    assert closings == 60
    assert len(await _all_ids(first, {"status": "closed", "limit": 25})) == 60
