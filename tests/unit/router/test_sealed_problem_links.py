"""The problem summary told to another customer's agent (TicketProblemLinked on `firstcall.tickets`) is its
author's words: sealed with the author's key, so that erasing the author erases every copy (issue 22,
decision 0031). The notifier names the author beside the summary (`summary_author_id`)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import select

from services.router import bootstrap
from services.router.context.models import ProblemSnapshot
from services.router.desktop.notices import read_notices
from services.router.desktop.problem_links import FIELD, SUMMARY_CHARS, sealed_within
from shared.data_keys import CustomerKeys, SealedFieldOpener
from shared.events.catalogue import ProblemDetected
from shared.events.desktop import TicketProblemLinked
from shared.events.envelope import CloudEvent
from shared.messaging.tables import outbox
from shared.sealing import ERASED_TEXT, ITEM_PREFIX, item_author, new_data_key, open_text, seal_text
from tests.factories import ADMIN
from tests.notifier_factories import outage
from tests.unit.router.conftest import RouterHarness
from tests.unit.router.test_erased_problem_summaries import detected as detected_problem
from tests.unit.router.test_erased_problem_summaries import open_ticket
from tests.unit.router.test_sealed_events import running_sealing_router
from tests.unit.test_sealed_problem_reports import Notifier, running_notifier

NOW = datetime.now(UTC)
# The representative's subject as the notifier summarised it: not the text of A's ticket in the router, so
# only the author named beside it (not text equality) can find it at erasure.
WORDS = "Checkout frozen since Tuesday, Winifred here (summarised)"


@pytest.fixture
async def sealing_router(tmp_path: Path) -> AsyncIterator[RouterHarness]:
    async with running_sealing_router(tmp_path) as router:
        yield router


def detected(summary: str, author: str | None, ticket_ids: list[str]) -> ProblemDetected:
    return detected_problem(uuid.uuid4(), summary, ticket_ids, author=author)


async def key_of(router: RouterHarness, customer_id: str) -> bytes:
    answer = await router.client.get(f"/v1/customers/{customer_id}/data-key")
    assert answer.status_code == 200, answer.text
    return base64.b64decode(answer.json()["key"])


async def linked_in_outbox(router: RouterHarness) -> dict[str, CloudEvent]:
    """Each TicketProblemLinked in the router's outbox, by ticket, as it leaves for Kafka."""
    async with router.runtime.database.session() as session:
        rows = await session.scalars(
            select(outbox.c.envelope).where(outbox.c.event_type == TicketProblemLinked.cloudevent_type())
        )
        envelopes = [CloudEvent.from_json(envelope) for envelope in rows]
    return {envelope.data["ticket_id"]: envelope for envelope in envelopes}


async def on_the_desktop(router: RouterHarness) -> dict[str, str]:
    """The problem summary each desktop notice shows, by ticket (what the SSE stream sends)."""
    async with router.runtime.database.session() as session:
        notices, _ = await read_notices(session, after=0, upto=2**62, limit=1000, sqlite=True)
    return {
        notice.envelope["subject"]: notice.envelope["data"][FIELD]
        for notice in notices
        if notice.event == TicketProblemLinked.name
    }


def kafka_opener(router: RouterHarness) -> SealedFieldOpener:
    """The opener the helpdesk bridge and the notifier's desktop webhooks put on their consumers."""
    app = bootstrap.create_app(router.runtime, manage_runtime=False)
    admin_key = ADMIN["Authorization"].removeprefix("Bearer ")
    keys = CustomerKeys(
        router_url="http://router", api_key=admin_key, timeout=30, transport=httpx.ASGITransport(app=app)
    )
    return SealedFieldOpener(keys)


async def test_the_summary_told_to_another_customers_agent_is_sealed_for_its_author_and_dies_with_them(
    sealing_router: RouterHarness,
) -> None:
    router = sealing_router
    await router.agent(capacity={"chat": 4})
    theirs = await open_ticket(router, "winifred@example.com", "Checkout frozen since Tuesday")
    others = await open_ticket(router, "bob@example.com", "Checkout broken")
    author, other = theirs["customer_id"], others["customer_id"]
    assert others["agent_id"] is not None
    key = await key_of(router, author)
    event = detected(seal_text(key, author, "summary_text", WORDS), author, [others["id"]])

    await router.deliver(event)

    [linked] = (await linked_in_outbox(router)).values()
    summary = linked.data[FIELD]
    assert linked.data["customer_id"] == other
    assert summary.startswith(f"{ITEM_PREFIX}{author}:"), "sealed for its author A, not for the ticket's B"
    assert WORDS not in orjson.dumps(linked.data).decode()
    assert open_text(key, FIELD, summary) == WORDS
    assert (await on_the_desktop(router))[others["id"]] == WORDS
    [on_kafka] = await router.published(TicketProblemLinked.cloudevent_type())
    opener = kafka_opener(router)
    opened = await opener(on_kafka)
    assert opened is not None
    assert opened[FIELD] == WORDS
    async with router.runtime.database.session() as session:
        snapshot = await session.get(ProblemSnapshot, event.problem_id)
    assert snapshot is not None
    assert (snapshot.summary, str(snapshot.summary_author_id)) == (WORDS, author)

    erasing = await router.client.request(
        "DELETE", f"/v1/customers/{author}", json={"reason": "GDPR art. 17, ref. DPO-9"}
    )
    assert erasing.status_code == 202, erasing.text
    await router.runtime.relay.flush(timeout=60)
    await router.bus.wait_idle()

    assert (await on_the_desktop(router))[others["id"]] == ERASED_TEXT
    opener.keys.forget([author])
    opened = await kafka_opener(router)(on_kafka)
    assert opened is not None
    assert opened[FIELD] == ERASED_TEXT, "the copy on Kafka no longer opens"
    assert TicketProblemLinked.model_validate(opened).problem_summary == ERASED_TEXT
    async with router.runtime.database.session() as session:
        snapshot = await session.get(ProblemSnapshot, event.problem_id)
    assert snapshot is not None
    assert snapshot.summary == ERASED_TEXT


async def test_while_sealing_an_unknown_or_erased_authors_summary_is_told_as_erased(
    sealing_router: RouterHarness,
) -> None:
    router = sealing_router
    await router.agent(capacity={"chat": 4})
    ticket = await open_ticket(router, "bob@example.com", "Checkout broken")
    gone = await open_ticket(router, "gone@example.com", "Something else")
    erasing = await router.client.request(
        "DELETE", f"/v1/customers/{gone['customer_id']}", json={"reason": "GDPR art. 17, ref. DPO-10"}
    )
    assert erasing.status_code == 202, erasing.text
    await router.runtime.relay.flush(timeout=60)
    await router.bus.wait_idle()

    await router.deliver(detected("Card payments declined", None, [ticket["id"]]))
    await router.deliver(detected("Card payments declined", gone["customer_id"], [ticket["id"]]))

    async with router.runtime.database.session() as session:
        rows = await session.scalars(
            select(outbox.c.envelope).where(outbox.c.event_type == TicketProblemLinked.cloudevent_type())
        )
        told = [orjson.loads(envelope)["data"][FIELD] for envelope in rows]
    assert told == [ERASED_TEXT, ERASED_TEXT]


async def test_without_sealing_the_summary_is_told_in_clear(router: RouterHarness) -> None:
    await router.agent(capacity={"chat": 4})
    ticket = await open_ticket(router, "bob@example.com", "Checkout broken")
    author = await open_ticket(router, "ann@example.com", "Checkout frozen")

    await router.deliver(detected(WORDS, author["customer_id"], [ticket["id"]]))

    [linked] = (await linked_in_outbox(router)).values()
    assert linked.data[FIELD] == WORDS


def test_a_long_summary_is_cut_so_that_its_sealed_value_fits_the_field() -> None:
    key, author = new_data_key(), uuid.uuid4()
    for text in ["a" * 5000, "é" * 5000, "\u0001" * 5000, "€" * 999]:
        sealed = sealed_within(key, author, text, SUMMARY_CHARS)
        assert len(sealed) <= SUMMARY_CHARS
        opened = open_text(key, FIELD, sealed)
        assert text.startswith(opened)
        assert len(opened) > 100
        TicketProblemLinked.model_validate(
            {
                "ticket_id": uuid.uuid4(),
                "customer_id": uuid.uuid4(),
                "agent_id": uuid.uuid4(),
                "problem_id": uuid.uuid4(),
                "change": "detected",
                "severity": "minor",
                "problem_summary": sealed,
                "customer_count": 1,
                "linked_at": NOW,
            }
        )
    assert TicketProblemLinked.model_fields[FIELD].metadata[0].max_length == SUMMARY_CHARS


@pytest.fixture
async def notifier(tmp_path: Path) -> AsyncIterator[Notifier]:
    async with running_notifier(tmp_path) as running:
        yield running


@pytest.mark.parametrize("sealed", [True, False])
async def test_the_notifiers_problem_event_names_whose_words_its_summary_is(notifier: Notifier, sealed: bool) -> None:
    reports = outage(3)
    await notifier.receive(*reports, sealed=sealed)
    [event] = await notifier.staged("problem.detected")

    author = event.data["summary_author_id"]
    by_author = {str(r.customer_id): r for r in reports}
    assert author in by_author
    summary = event.data["summary_text"]
    if sealed:
        assert item_author(summary) == author
    else:
        assert summary == by_author[author].subject
