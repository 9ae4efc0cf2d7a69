"""The notifier's problems and notifications: cursor pages with Link, and the deprecated offset for one version."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.delivery.models import Delivery
from services.notifier.problems.models import Problem
from tests.paging import next_link, walk
from tests.unit.notifier.conftest import Notifier

NOON = datetime(2026, 11, 24, 12, tzinfo=UTC)


async def add_problems(notifier: Notifier, *last_seen: datetime) -> list[uuid.UUID]:
    """Open problems last reported at these times; ids in the list's order for equal times."""
    problems = [
        Problem(
            id=uuid.uuid4(),
            status="open",
            first_seen=moment - timedelta(hours=1),
            last_seen=moment,
            created_at=moment,
            updated_at=moment,
        )
        for moment in last_seen
    ]
    async with notifier.runtime.database.session() as session:
        session.add_all(problems)
        await session.commit()
    return [p.id for p in problems]


async def add_deliveries(notifier: Notifier, count: int, *, start: datetime = NOON) -> list[uuid.UUID]:
    deliveries = [
        Delivery(
            id=uuid.uuid4(),
            dedupe_key=f"test-{uuid.uuid4()}",
            channel="webhook",
            endpoint="https://center.example/hooks",
            event_type="problem.detected",
            payload=b"{}",
            status="sent",
            next_attempt_at=start,
            created_at=start + timedelta(seconds=i // 2),  # pairs share a time: the id orders them
        )
        for i in range(count)
    ]
    async with notifier.runtime.database.session() as session:
        session.add_all(deliveries)
        await session.commit()
    return [d.id for d in deliveries]


async def test_problems_are_paged_most_recently_active_first_and_new_ones_repeat_or_hide_nothing(
    notifier: Notifier,
) -> None:
    await add_problems(notifier, *(NOON - timedelta(minutes=i // 2) for i in range(7)))
    expected = [p["id"] for p in (await notifier.client.get("/v1/problems", params={"limit": 200})).json()["items"]]
    first = await notifier.client.get("/v1/problems", params={"limit": 3})
    await add_problems(notifier, NOON + timedelta(minutes=5), NOON - timedelta(hours=5))  # before and after the cursor

    rest = await walk(notifier.client, str(next_link(first)))
    walked = [p["id"] for p in first.json()["items"]] + [p["id"] for page in rest for p in page]

    assert walked[:7] == expected
    assert len(walked) == len(set(walked)) == 8  # the older newcomer comes last; the newer is before page one


async def test_the_deprecated_offset_still_skips_rows_and_answers_a_cursor(notifier: Notifier) -> None:
    await add_problems(notifier, *(NOON - timedelta(minutes=i) for i in range(5)))
    everything = (await notifier.client.get("/v1/problems")).json()["items"]

    skipped = await notifier.client.get("/v1/problems", params={"offset": 2, "limit": 2})
    after = await notifier.client.get(str(next_link(skipped)))

    assert [p["id"] for p in skipped.json()["items"]] == [p["id"] for p in everything[2:4]]
    assert skipped.json()["offset"] == 2
    assert [p["id"] for p in after.json()["items"]] == [everything[4]["id"]]


async def test_notifications_are_paged_newest_first_with_equal_times_ordered_by_id(notifier: Notifier) -> None:
    ids = await add_deliveries(notifier, 5)
    pages = await walk(notifier.client, "/v1/notifications", limit=2)
    walked = [n["id"] for page in pages for n in page]
    assert sorted(walked) == sorted(str(i) for i in ids)
    assert [len(page) for page in pages] == [2, 2, 1]
    times = [n["created_at"] for page in pages for n in page]
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize("path", ["/v1/problems", "/v1/notifications"])
async def test_an_offset_with_a_cursor_is_a_422_naming_the_offset(notifier: Notifier, path: str) -> None:
    await add_problems(notifier, NOON, NOON - timedelta(minutes=1))
    await add_deliveries(notifier, 2)
    cursor = (await notifier.client.get(path, params={"limit": 1})).json()["next_cursor"]
    response = await notifier.client.get(path, params={"cursor": cursor, "offset": 1})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.offset"]


async def test_a_cursor_of_the_other_list_is_a_422_naming_the_cursor(notifier: Notifier) -> None:
    await add_problems(notifier, NOON, NOON - timedelta(minutes=1))
    cursor = (await notifier.client.get("/v1/problems", params={"limit": 1})).json()["next_cursor"]
    response = await notifier.client.get("/v1/notifications", params={"cursor": cursor})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.cursor"]
