"""A problem event's reports are sealed each with its author's key (decision 0031): erasing one customer
makes their report unreadable and left out by the consumers, while the other authors' reports still read;
with the router not sealing, the reports stay in clear and nobody is asked for a key."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from services.knowledge.known_issues.models import KnownIssue
from services.notifier.bootstrap import build_runtime
from services.notifier.problems.sealing import KeysUnavailable, Representative, event_reports
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.bus.port import HandlerUnavailable
from shared.data_keys import EXTENSION, CustomerKeys
from shared.errors import ProblemError
from shared.events.catalogue import TicketOpened
from shared.events.envelope import CloudEvent
from shared.events.topics import PROBLEMS
from shared.messaging.tables import outbox
from shared.runtime import ServiceRuntime
from shared.sealing import (
    ITEM_PREFIX,
    SHOWN_SEALED,
    SealError,
    item_author,
    new_data_key,
    open_item,
    open_items,
    open_value,
    seal_data,
    seal_item,
    shown_sealed,
)
from tests.notifier_factories import fast_settings, outage
from tests.unit.knowledge.conftest import start_knowledge, stop_knowledge
from tests.unit.test_data_keys import FakeRouter

FIELD = "representative_reports"


@dataclass
class Notifier:
    runtime: ServiceRuntime
    bus: InMemoryBus
    router: FakeRouter

    @property
    def keys(self) -> CustomerKeys:
        keys = self.runtime.extensions[EXTENSION]
        assert isinstance(keys, CustomerKeys)
        return keys

    async def receive(self, *reports: TicketOpened, sealed: bool) -> None:
        """Reports as the router publishes them: sealed with each customer's key, or (sealing off) in clear."""
        for report in reports:
            envelope = report.to_cloudevent()
            if sealed:
                key = self.router.keys.setdefault(str(report.customer_id), new_data_key())
                envelope = envelope.model_copy(update={"data": seal_data(envelope.type, envelope.data, key)})
            await self.bus.publish(self.runtime.settings.topic(report.topic.name), [envelope])
        await self.bus.wait_idle()

    async def staged(self, event_type: str) -> list[CloudEvent]:
        async with self.runtime.database.session() as session:
            rows = await session.execute(
                select(outbox.c.envelope).where(outbox.c.event_type == f"firstcall.{event_type}").order_by(outbox.c.seq)
            )
            return [CloudEvent.from_json(row.envelope) for row in rows]


@pytest.fixture
async def notifier(tmp_path: Path) -> AsyncIterator[Notifier]:
    async with running_notifier(tmp_path) as running:
        yield running


@contextlib.asynccontextmanager
async def running_notifier(tmp_path: Path, **overrides: Any) -> AsyncIterator[Notifier]:
    """The notifier in process (settings overridden as given), asking a fake router for its customers' keys."""
    settings = fast_settings(tmp_path / "notifier", **overrides)
    bus = InMemoryBus(physical_topics(settings))
    runtime = build_runtime(settings, bus=bus)
    router = FakeRouter()
    keys = runtime.extensions[EXTENSION]
    assert isinstance(keys, CustomerKeys)
    keys.transport = httpx.MockTransport(router.handle)
    await runtime.start()
    try:
        yield Notifier(runtime, bus, router)
    finally:
        await runtime.stop()
        await bus.stop()


def test_each_item_opens_with_its_authors_key_alone() -> None:
    authors = [str(uuid.uuid4()) for _ in range(3)]
    keys = {author: new_data_key() for author in authors}
    items = [seal_item(keys[a], a, FIELD, f"report of {i}") for i, a in enumerate(authors)]

    assert [item_author(item) for item in items] == authors
    assert all(
        item.startswith(f"{ITEM_PREFIX}{a}:") and "report of" not in item
        for a, item in zip(authors, items, strict=True)
    )
    assert open_items({FIELD: items}, keys) == {FIELD: ["report of 0", "report of 1", "report of 2"]}
    # The second author erased: their report is left out, the others still read.
    assert open_items({FIELD: items}, {**keys, authors[1]: None}) == {FIELD: ["report of 0", "report of 2"]}
    assert shown_sealed({FIELD: [items[0], "in clear"]}) == {FIELD: [SHOWN_SEALED, "in clear"]}


def test_an_item_does_not_open_for_another_customer_field_or_key() -> None:
    author, other = str(uuid.uuid4()), str(uuid.uuid4())
    key = new_data_key()
    item = seal_item(key, author, FIELD, "my words")
    moved = item.replace(author, other)
    with pytest.raises(SealError):
        open_item(key, FIELD, moved)
    with pytest.raises(SealError):
        open_item(key, "summary_text", item)
    with pytest.raises(SealError):
        open_item(new_data_key(), FIELD, item)
    with pytest.raises(SealError):
        item_author(f"{ITEM_PREFIX}not-a-customer:AAAA")
    # Nor does its ciphertext open as a whole field sealed for that customer (fcs1).
    with pytest.raises(SealError):
        open_value(key, author, FIELD, "fcs1:" + item.split(":", 2)[2])


async def test_a_problem_event_seals_each_report_and_an_erased_authors_is_left_out_by_knowledge(
    notifier: Notifier, tmp_path: Path
) -> None:
    reports = outage(3)
    await notifier.receive(*reports, sealed=True)
    [detected] = await notifier.staged("problem.detected")

    items: list[str] = detected.data[FIELD]
    authors = {str(r.customer_id): r for r in reports}
    assert len(items) == 3
    assert all(item.startswith(ITEM_PREFIX) for item in items)
    assert {item_author(item) for item in items} == set(authors)
    assert not any(r.description[:20] in orjson.dumps(detected.data).decode() for r in reports)

    erased, *kept = (authors[item_author(item)] for item in items)
    notifier.router.erased.add(str(erased.customer_id))
    issue = await drafted_by_knowledge(tmp_path, notifier.router, detected)

    # The draft quotes nobody (drafting.py); with the erased author's report left out, two reports remain,
    # too few for any word to be shown as shared: the draft names the problem's facts alone.
    drafted = issue.title + issue.symptoms
    assert not any(report.description[:30] in drafted for report in [erased, *kept])
    assert "Words shared" not in issue.symptoms
    assert ITEM_PREFIX not in drafted


async def test_an_author_the_router_has_erased_is_left_out_before_the_notifier_hears_of_it(
    notifier: Notifier,
) -> None:
    first, second, third = outage(3)
    await notifier.receive(first, second, sealed=True)
    # The erasure is recorded in the router; its CustomerErased has not reached the notifier yet, whose copy
    # of the key has expired (another replica's, or five minutes on).
    notifier.router.erased.add(str(first.customer_id))
    notifier.keys.forget([str(first.customer_id)])
    await notifier.receive(third, sealed=True)
    [detected] = await notifier.staged("problem.detected")

    items: list[str] = detected.data[FIELD]
    assert all(item.startswith(ITEM_PREFIX) for item in items)
    assert {item_author(item) for item in items} == {str(second.customer_id), str(third.customer_id)}
    assert first.description[:20] not in orjson.dumps(detected.data).decode()


async def test_with_the_router_not_sealing_the_reports_stay_in_clear_and_no_key_is_asked(notifier: Notifier) -> None:
    reports = outage(3)
    await notifier.receive(*reports, sealed=False)
    [detected] = await notifier.staged("problem.detected")

    items: list[str] = detected.data[FIELD]
    assert len(items) == 3
    assert not any(item.startswith(ITEM_PREFIX) for item in items)
    assert all(any(r.description[:30] in item for r in reports) for item in items)
    assert notifier.router.asked == 0


async def test_a_customer_the_router_made_no_key_for_keeps_their_report_in_clear(notifier: Notifier) -> None:
    notifier.keys.router_seals = True
    author, text = uuid.uuid4(), "The checkout fails with a payment error."
    async with notifier.runtime.database.session() as session:
        assert await event_reports(session, [Representative(author, text)]) == [text]
    assert notifier.router.asked == 1


async def test_the_router_down_makes_the_event_wait_or_an_ops_request_answer_503(notifier: Notifier) -> None:
    notifier.keys.router_seals = True
    notifier.router.down = True
    representatives = [Representative(uuid.uuid4(), "The checkout fails with a payment error.")]
    async with notifier.runtime.database.session() as session:
        with pytest.raises(KeysUnavailable) as raised:
            await event_reports(session, representatives)
    assert isinstance(raised.value, HandlerUnavailable)
    assert isinstance(raised.value, ProblemError)
    assert raised.value.status == 503
    notifier.router.down = False
    key = notifier.router.keys.setdefault(str(representatives[0].customer_id), new_data_key())
    async with notifier.runtime.database.session() as session:
        [item] = await event_reports(session, representatives)
    assert open_item(key, FIELD, item) == representatives[0].text


async def drafted_by_knowledge(tmp_path: Path, router: FakeRouter, detected: CloudEvent) -> KnownIssue:
    """The known issue knowledge drafts from a sealed problem event, asking `router` for the authors' keys."""
    knowledge = await start_knowledge(tmp_path / "knowledge")
    try:
        keys = knowledge.runtime.extensions[EXTENSION]
        assert isinstance(keys, CustomerKeys)
        keys.transport = httpx.MockTransport(router.handle)
        await knowledge.bus.publish(PROBLEMS.name, [detected])
        await knowledge.bus.wait_idle()
        async with knowledge.runtime.database.session() as session:
            [issue] = (await session.scalars(select(KnownIssue))).all()
            return issue
    finally:
        await stop_knowledge(knowledge)
        await knowledge.bus.stop()
