"""A problem's summary and a feedback cluster's summary, one customer's words in an event about many, are
sealed with that customer's key (decision 0031): consumers (knowledge, the bridge, the router itself) read
them, and once that customer is erased they read a neutral text instead."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import select

from services.notifier.delivery.models import Delivery
from services.notifier.feedback import service as feedback_service
from services.notifier.problems.sealing import SUMMARY_FIELD, KeysUnavailable, event_text
from services.notifier.subscriptions import service as subscription_service
from services.notifier.subscriptions.schemas import SubscriptionCreate
from shared.bus.port import PoisonEvent
from shared.data_keys import CustomerKeys, SealedFieldOpener
from shared.events.catalogue import FeedbackReceived, ProblemDetected
from shared.sealing import (
    ERASED_TEXT,
    ITEM_PREFIX,
    SHOWN_SEALED,
    SealError,
    item_author,
    new_data_key,
    open_item,
    open_items,
    open_text,
    open_value,
    seal_item,
    seal_text,
    shown_sealed,
)
from tests.factories import ticket_request
from tests.notifier_factories import outage
from tests.unit.router.conftest import RouterHarness
from tests.unit.router.test_context import NOW, context, problem_state
from tests.unit.router.test_sealed_events import running_sealing_router
from tests.unit.test_sealed_problem_reports import Notifier, drafted_by_knowledge, running_notifier

WORDS = "Checkout rejects my card since this morning"


@pytest.fixture
async def notifier(tmp_path: Path) -> AsyncIterator[Notifier]:
    async with running_notifier(tmp_path) as running:
        yield running


@pytest.fixture
async def sealing_router(tmp_path: Path) -> AsyncIterator[RouterHarness]:
    async with running_sealing_router(tmp_path) as router:
        yield router


def test_a_sealed_text_opens_alone_and_reads_neutral_once_its_author_is_erased() -> None:
    author, other = str(uuid.uuid4()), str(uuid.uuid4())
    key = new_data_key()
    sealed = seal_text(key, author, SUMMARY_FIELD, WORDS)

    assert sealed.startswith(f"{ITEM_PREFIX}{author}:")
    assert "Checkout" not in sealed
    assert item_author(sealed) == author
    assert open_text(key, SUMMARY_FIELD, sealed) == WORDS
    data = {SUMMARY_FIELD: sealed, "representative_reports": [seal_item(key, author, "representative_reports", "x")]}
    assert open_items(data, {author: key}) == {SUMMARY_FIELD: WORDS, "representative_reports": ["x"]}
    assert open_items(data, {author: None}) == {SUMMARY_FIELD: ERASED_TEXT, "representative_reports": []}
    assert shown_sealed(data) == {SUMMARY_FIELD: SHOWN_SEALED, "representative_reports": [SHOWN_SEALED]}
    # Not for another customer, another field, as an item of a list, or as a whole field (fcs1).
    with pytest.raises(SealError):
        open_text(key, SUMMARY_FIELD, sealed.replace(author, other))
    with pytest.raises(SealError):
        open_text(key, "reason", sealed)
    with pytest.raises(SealError):
        open_item(key, SUMMARY_FIELD, sealed)
    with pytest.raises(SealError):
        open_value(key, author, SUMMARY_FIELD, "fcs1:" + sealed.split(":", 2)[2])


async def test_the_problem_summary_is_sealed_with_the_representatives_key_and_knowledge_reads_it(
    notifier: Notifier, tmp_path: Path
) -> None:
    reports = outage(3)
    await notifier.receive(*reports, sealed=True)
    [detected] = await notifier.staged("problem.detected")

    summary = detected.data[SUMMARY_FIELD]
    by_author = {str(r.customer_id): r for r in reports}
    assert summary.startswith(ITEM_PREFIX)
    representative = by_author[item_author(summary)]
    key = notifier.router.keys[str(representative.customer_id)]
    assert open_text(key, SUMMARY_FIELD, summary) == representative.subject
    assert not any(r.subject in orjson.dumps(detected.data).decode() for r in reports)

    issue = await drafted_by_knowledge(tmp_path, notifier.router, detected)
    # Knowledge opened all three reports (the words three customers share are in the draft), and quotes
    # none of them, the representative's subject included (drafting.py).
    assert issue.title.startswith("Many customers report: ")
    assert "checkout" in issue.title
    assert not any(r.subject in issue.title + issue.symptoms for r in reports)
    assert ITEM_PREFIX not in issue.title + issue.symptoms


async def test_an_erased_representatives_summary_reads_neutral_in_the_consumers(notifier: Notifier) -> None:
    await notifier.receive(*outage(3), sealed=True)
    [detected] = await notifier.staged("problem.detected")
    author = item_author(detected.data[SUMMARY_FIELD])
    notifier.router.erased.add(author)

    transport = httpx.MockTransport(notifier.router.handle)
    opener = SealedFieldOpener(CustomerKeys(router_url="http://router", api_key="k", timeout=1, transport=transport))
    opened = await opener(detected)
    assert opened is not None
    assert opened[SUMMARY_FIELD] == ERASED_TEXT
    assert len(opened["representative_reports"]) == 2
    assert ProblemDetected.model_validate(opened).summary_text == ERASED_TEXT


async def test_the_notifier_writes_an_erased_authors_summary_as_neutral_text_and_waits_for_the_router(
    notifier: Notifier,
) -> None:
    keys = notifier.keys
    keys.router_seals = True
    erased, unknown, known = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    notifier.router.erased.add(str(erased))
    key = notifier.router.keys.setdefault(str(known), new_data_key())
    async with notifier.runtime.database.session() as session:
        assert await event_text(session, erased, WORDS, field=SUMMARY_FIELD) == ERASED_TEXT
        # The router made no key (not sealing when their ticket came): their words were in clear already.
        assert await event_text(session, unknown, WORDS, field=SUMMARY_FIELD) == WORDS
        assert await event_text(session, None, WORDS, field=SUMMARY_FIELD) == ERASED_TEXT
        sealed = await event_text(session, known, WORDS, field=SUMMARY_FIELD)
        assert open_text(key, SUMMARY_FIELD, sealed) == WORDS
        notifier.router.down = True
        with pytest.raises(KeysUnavailable):
            await event_text(session, uuid.uuid4(), WORDS, field=SUMMARY_FIELD)
    keys.router_seals = False
    async with notifier.runtime.database.session() as session:
        assert await event_text(session, known, WORDS, field=SUMMARY_FIELD) == WORDS


async def test_the_problem_summary_stays_in_clear_while_the_router_does_not_seal(notifier: Notifier) -> None:
    reports = outage(3)
    await notifier.receive(*reports, sealed=False)
    [detected] = await notifier.staged("problem.detected")
    assert detected.data[SUMMARY_FIELD] in {r.subject for r in reports}
    assert notifier.router.asked == 0


async def test_an_escalated_feedbacks_summary_is_sealed_with_the_first_voices_key(notifier: Notifier) -> None:
    first = FeedbackReceived(
        ticket_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        customer_name="Ada",
        channel="email",
        kind="suggestion",
        recognised_by="intent",
        subject="Your email gives wrong instructions",
        description="It says to call you, but only the website can fix this. " * 30,
        intent="procedure_feedback",
        acknowledgement="Ada, thank you.",
        received_at=datetime.now(UTC),
    )
    await notifier.receive(first, sealed=True)  # type: ignore[arg-type]
    settings = notifier.runtime.settings
    async with notifier.runtime.database.session() as session:
        escalated = await feedback_service.escalate_overdue(
            session=session,
            settings=settings,  # type: ignore[arg-type]
            now=datetime.now(UTC) + timedelta(days=30),
        )
        await session.commit()
    assert escalated == 1
    [event] = await notifier.staged("feedback.escalated")

    summary = event.data[SUMMARY_FIELD]
    assert item_author(summary) == str(first.customer_id)
    assert len(summary) <= feedback_service.SUMMARY_CHARS
    opened = open_text(notifier.router.keys[str(first.customer_id)], SUMMARY_FIELD, summary)
    assert opened.startswith("Your email gives wrong instructions")
    assert "wrong instructions" not in orjson.dumps(event.data).decode()


async def test_the_router_opens_a_sealed_summary_with_its_own_keys_and_reads_an_erased_one_as_neutral(
    sealing_router: RouterHarness,
) -> None:
    ticket = (await sealing_router.post("/v1/tickets", ticket_request())).json()
    customer_id = ticket["customer_id"]
    answer = await sealing_router.client.get(f"/v1/customers/{customer_id}/data-key")
    assert answer.status_code == 200, answer.text
    key = base64.b64decode(answer.json()["key"])
    problem_id = uuid.uuid4()
    sealed = seal_text(key, customer_id, SUMMARY_FIELD, WORDS)
    reports = [seal_item(key, customer_id, "representative_reports", "my card was declined")]
    detected = ProblemDetected(
        **problem_state(problem_id, [ticket["id"]], summary_text=sealed, representative_reports=reports),
        detected_at=NOW,
    )
    await sealing_router.deliver(detected)
    assert (await context(sealing_router, ticket["id"]))["problem"]["summary"] == WORDS

    other = (
        await sealing_router.post(
            "/v1/tickets", ticket_request(customer={"email": "grace@example.com", "name": "Grace Hopper"})
        )
    ).json()
    erased = await sealing_router.client.request(
        "DELETE", f"/v1/customers/{customer_id}", json={"reason": "GDPR art. 17 request, ref. DPO-2"}
    )
    assert erased.status_code == 202, erased.text
    await sealing_router.runtime.relay.flush(timeout=60)
    await sealing_router.bus.wait_idle()
    again = ProblemDetected(
        **problem_state(uuid.uuid4(), [other["id"]], summary_text=sealed, representative_reports=reports),
        detected_at=NOW + timedelta(minutes=1),
    )
    await sealing_router.deliver(again)
    assert (await context(sealing_router, other["id"]))["problem"]["summary"] == ERASED_TEXT


async def test_a_sealed_summary_naming_a_customer_the_router_never_knew_is_dead_lettered(
    sealing_router: RouterHarness,
) -> None:
    stranger = str(uuid.uuid4())
    sealed = seal_text(new_data_key(), stranger, SUMMARY_FIELD, WORDS)
    envelope = ProblemDetected(**problem_state(uuid.uuid4(), [], summary_text=sealed), detected_at=NOW).to_cloudevent()
    [binding, *_] = [b for b in sealing_router.runtime.consumers if b.dispatcher.opener is not None]
    assert binding.dispatcher.opener is not None
    with pytest.raises(PoisonEvent):
        await binding.dispatcher.opener(envelope)


async def test_a_webhook_subscriber_reads_the_problem_in_clear_while_kafka_carries_it_sealed(
    notifier: Notifier,
) -> None:
    async with notifier.runtime.database.session() as session:
        request = SubscriptionCreate.model_validate(
            {"url": "http://ops.example/hooks", "event_types": ["problem.detected"], "secret": "s" * 32}
        )
        await subscription_service.create_subscription(session=session, request=request, allow_http=True)
        await session.commit()
    reports = outage(3)
    await notifier.receive(*reports, sealed=True)
    [detected] = await notifier.staged("problem.detected")
    assert detected.data[SUMMARY_FIELD].startswith(ITEM_PREFIX)  # on Kafka: sealed

    async with notifier.runtime.database.session() as session:
        [delivery] = (await session.scalars(select(Delivery).where(Delivery.subscription_id.is_not(None)))).all()
    told = orjson.loads(delivery.payload)
    assert told["id"] == detected.id
    assert told["data"][SUMMARY_FIELD] in {r.subject for r in reports}
    assert ITEM_PREFIX not in delivery.payload.decode()
    assert len(told["data"]["representative_reports"]) == len(detected.data["representative_reports"])
