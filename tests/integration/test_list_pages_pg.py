"""Cursor pages on PostgreSQL while rows pour in, from other replicas: the notifier's problems and
notifications and the router's agents never list a row twice or skip one that was there before paging began;
knowledge's articles take one of two writers racing on the same ETag (the other gets 412)."""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.notifier.delivery.models import Delivery
from services.notifier.problems.models import Problem
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.runtime import ServiceRuntime
from tests.factories import ADMIN, agent_request, order_request, service_settings, ticket_request
from tests.knowledge_factories import article_request
from tests.notifier_factories import fast_settings
from tests.paging import next_link

pytestmark = pytest.mark.integration
Replica = tuple[ServiceRuntime, httpx.AsyncClient]
START = datetime(2026, 11, 24, 12, tzinfo=UTC)


@asynccontextmanager
async def replicas(service: str, tmp_path: Path, pg_url: str, count: int = 2) -> AsyncIterator[list[Replica]]:
    """`count` replicas of a service on one PostgreSQL database (the admin key on every request)."""
    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    started: list[Replica] = []
    try:
        for index in range(count):
            data_dir = tmp_path / str(index)
            settings = (
                fast_settings(data_dir, database_url=pg_url)
                if service == "notifier"
                else service_settings(service, data_dir=data_dir, database_url=pg_url)
            )
            runtime = bootstrap.build_runtime(settings, bus=InMemoryBus(physical_topics(settings)))
            await runtime.start()
            app = bootstrap.create_app(runtime, manage_runtime=False)
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://{service}", headers=ADMIN
            )
            started.append((runtime, client))
        yield started
    finally:
        for runtime, client in started:
            await client.aclose()
            await runtime.stop()


async def walk_slowly(client: httpx.AsyncClient, path: str) -> list[str]:
    """Every id of a list, page after page by Link, letting the writers in between pages."""
    ids: list[str] = []
    response = await client.get(path)
    while True:
        assert response.status_code == 200, response.text
        ids += [item["id"] for item in response.json()["items"]]
        url = next_link(response)
        if url is None:
            return ids
        await asyncio.sleep(0)
        response = await client.get(url)


async def insert(runtime: ServiceRuntime, rows: list[Any]) -> None:
    async with runtime.database.session() as session:
        session.add_all(rows)
        await session.commit()


def problem(last_seen: datetime) -> Problem:
    return Problem(
        id=uuid.uuid4(),
        status="open",
        first_seen=last_seen - timedelta(hours=1),
        last_seen=last_seen,
        created_at=last_seen,
        updated_at=last_seen,
    )


def delivery(created_at: datetime) -> Delivery:
    return Delivery(
        id=uuid.uuid4(),
        dedupe_key=f"pages-{uuid.uuid4()}",
        channel="webhook",
        endpoint="https://center.example/hooks",
        event_type="problem.detected",
        payload=b"{}",
        status="sent",
        next_attempt_at=created_at,
        created_at=created_at,
    )


async def pour_in(runtime: ServiceRuntime, make: Callable[[datetime], Any], times: list[datetime]) -> None:
    for moment in times:  # one row per transaction, each committed while the other replica pages
        await insert(runtime, [make(moment)])
        await asyncio.sleep(0)


@pytest.mark.parametrize(
    ("path", "make"), [("/v1/problems?limit=10", problem), ("/v1/notifications?limit=10", delivery)]
)
async def test_a_notifier_list_stays_stable_while_rows_are_added(
    tmp_path: Path, pg_url: str, path: str, make: Callable[[datetime], Any]
) -> None:
    async with replicas("notifier", tmp_path, pg_url) as ((first, reader), (second, _)):
        # Pairs share a time, so the id decides between them; newcomers fall before, among and after them.
        before = [make(START - timedelta(minutes=n // 2)) for n in range(120)]
        await insert(first, before)
        during = [START + timedelta(minutes=n % 7 - 3, seconds=30) for n in range(60)]

        listed, _ = await asyncio.gather(walk_slowly(reader, path), pour_in(second, make, during))

        assert len(listed) == len(set(listed))
        expected = sorted(before, key=lambda row: (getattr(row, "last_seen", None) or row.created_at, row.id))
        there_before = {str(row.id) for row in before}
        assert [i for i in listed if i in there_before] == [str(row.id) for row in reversed(expected)]


async def test_the_agent_list_stays_stable_while_agents_register(tmp_path: Path, pg_url: str) -> None:
    async with replicas("router", tmp_path, pg_url) as ((_, reader), (_, writer)):
        before = []
        for n in range(60):
            body = agent_request(display_name=f"Agent {n % 20:02d}", email=f"before{n}@contact.example")
            before.append((await writer.post("/v1/agents", json=body)).json())

        async def register_more() -> None:
            for n in range(30):
                body = agent_request(display_name=f"Agent {n % 25:02d}", email=f"during{n}@contact.example")
                assert (await writer.post("/v1/agents", json=body)).status_code == 201
                await asyncio.sleep(0)

        listed, _ = await asyncio.gather(walk_slowly(reader, "/v1/agents?limit=7"), register_more())

        assert len(listed) == len(set(listed))
        by_name = sorted(before, key=lambda a: (a["display_name"], a["id"]))
        there_before = {a["id"] for a in before}
        assert [i for i in listed if i in there_before] == [a["id"] for a in by_name]


async def test_two_article_writers_racing_on_one_etag_one_wins_the_other_gets_412(tmp_path: Path, pg_url: str) -> None:
    async with replicas("knowledge", tmp_path, pg_url) as ((_, first), (_, second)):
        article = (await first.post("/v1/articles", json=article_request())).json()
        path = f"/v1/articles/{article['id']}"
        for round_ in range(5):  # five races, each from the tag both writers just read
            read = await first.get(path)
            headers, version = {"If-Match": read.headers["ETag"]}, read.json()["latest_version"]
            titles = [f"Editor's title {round_}", f"Bridge's title {round_}"]
            responses = await asyncio.gather(
                *(
                    client.patch(path, json={"version": version, "title": title}, headers=headers)
                    for client, title in zip((first, second), titles, strict=True)
                )
            )
            statuses = sorted(r.status_code for r in responses)
            # The loser is refused by If-Match (412), or, if it read after the winner's commit and before
            # its own lock, never: the lock orders them, so a 409 on `version` would mean If-Match was skipped.
            assert statuses == [200, 412], [r.text for r in responses]
            [winner] = [t for t, r in zip(titles, responses, strict=True) if r.status_code == 200]
            stored = await second.get(path)
            assert stored.json()["title"] == winner
            assert [r.headers["ETag"] for r in responses if r.status_code == 412] == [stored.headers["ETag"]]


async def test_the_router_lists_of_keys_intents_and_approvals_page_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    async with replicas("router", tmp_path, pg_url, count=1) as [(_, router)]:
        keys = [(await router.post("/v1/api-keys", json={"name": f"k{n}", "scopes": ["ops"]})).json() for n in range(5)]
        examples = [{"text": f"text {n}", "intent": f"intent_{n % 5}"} for n in range(10)]
        assert (await router.post("/v1/intents/examples", json={"examples": examples})).status_code == 201
        profile = {"required_skills": {"billing": 1}}
        assert (await router.put("/v1/intents/a_profile_only/profile", json=profile)).status_code == 200

        agent = (await router.post("/v1/agents", json=agent_request(capacity={"chat": 5}))).json()
        order = (await router.post("/v1/orders", json=order_request())).json()
        requested = []
        for n in range(3):
            ticket = (await router.post("/v1/tickets", json=ticket_request(channel="chat", subject=f"Late {n}"))).json()
            credit = {"type": "credit", "amount": "80.00", "currency": "EUR", "reason": "late"}
            body = {**credit, "order_id": order["id"], "agent_id": agent["id"]}
            asked = await router.post(f"/v1/tickets/{ticket['id']}/resolutions", json=body)
            assert asked.status_code == 202, asked.text
            requested.append(asked.json()["approval"]["id"])

        listed_keys = await walk_slowly_by(router, "/v1/api-keys?limit=2", "key_id")
        intents = await walk_slowly_by(router, "/v1/intents?limit=2", "intent")
        approvals = await walk_slowly_by(router, "/v1/approvals?limit=2", "id")

        assert listed_keys[-5:] == [k["key_id"] for k in keys]
        assert intents == ["a_profile_only", *(f"intent_{n}" for n in range(5))]
        assert approvals == requested


async def walk_slowly_by(client: httpx.AsyncClient, path: str, field: str) -> list[str]:
    values: list[str] = []
    response = await client.get(path)
    while True:
        assert response.status_code == 200, response.text
        values += [item[field] for item in response.json()["items"]]
        url = next_link(response)
        if url is None:
            return values
        response = await client.get(url)
