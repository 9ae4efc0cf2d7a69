"""One question after a resolution: at most once per ticket, never to a customer who opted out, skipped over
the rate limit; the answer kept against the ticket, a "no" on a first-contact ticket surfaced, free text
followed up as a report or as feedback."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select

from services.notifier.customers.messages import MESSAGE_TYPE
from services.notifier.delivery.models import Delivery
from services.notifier.feedback import questions
from shared.events.catalogue import CustomerRegistered, FeedbackReceived, Identity, TicketOpened, TicketResolved
from tests.conftest import wait_until
from tests.notifier_factories import report
from tests.unit.notifier.conftest import Notifier, NotifierFactory


def resolved(opened: TicketOpened, *, first_contact: bool = True) -> TicketResolved:
    return TicketResolved(
        ticket_id=opened.ticket_id,
        customer_id=opened.customer_id,
        agent_id=uuid.uuid4(),
        resolution_type="answer",
        intent="refund_request",
        first_contact=first_contact,
        transfers=0 if first_contact else 1,
        resolved_at=datetime.now(UTC),
    )


async def resolved_ticket(notifier: Notifier, *, first_contact: bool = True) -> TicketOpened:
    opened = report("My refund has not arrived", "I returned the shoes two weeks ago.")
    await notifier.publish(
        CustomerRegistered(
            customer_id=opened.customer_id,
            display_name="Ada",
            identities=[Identity(kind="email", value="ada@example.com")],
            registered_at=opened.opened_at,
        ),
        opened,
        resolved(opened, first_contact=first_contact),
    )
    return opened


async def questions_to(notifier: Notifier, customer_id: uuid.UUID) -> list[Delivery]:
    async with notifier.runtime.database.session() as session:
        rows = await session.scalars(
            select(Delivery).where(Delivery.customer_id == customer_id, Delivery.notification_kind == "question")
        )
        return list(rows)


async def answer(notifier: Notifier, ticket_id: uuid.UUID, body: dict[str, Any]) -> Any:
    return await notifier.client.post(f"/v1/questions/{ticket_id}/answer", json=body)


async def test_a_resolved_ticket_gets_one_question_however_often_it_is_resolved(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(question_enabled=True)
    opened = await resolved_ticket(notifier)
    await notifier.publish(resolved(opened))  # a second resolution (another event): still one question
    [asked] = await questions_to(notifier, opened.customer_id)
    payload = orjson.loads(asked.payload)
    assert payload["question"] == questions.QUESTION
    assert "“My refund has not arrived”" in payload["body"]
    assert payload["answer"] == f"/v1/questions/{opened.ticket_id}/answer"


async def test_no_question_is_asked_unless_configured(notifier: Notifier) -> None:
    opened = await resolved_ticket(notifier)
    assert await questions_to(notifier, opened.customer_id) == []


async def test_a_customer_who_opted_out_is_never_asked(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(question_enabled=True)
    opened = report("My refund has not arrived", "I returned the shoes two weeks ago.")
    await notifier.publish(opened)
    await notifier.client.put(f"/v1/customers/{opened.customer_id}/preferences", json={"opted_out": True})
    await notifier.publish(resolved(opened))
    assert await questions_to(notifier, opened.customer_id) == []
    assert (await notifier.client.get(f"/v1/questions/{opened.ticket_id}")).status_code == 404


async def test_a_question_over_the_customers_rate_limit_is_skipped_not_delayed(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(question_enabled=True, customer_rate_limit_count=1)
    opened = report("My refund has not arrived", "I returned the shoes two weeks ago.")
    async with notifier.runtime.database.session() as session:
        now = datetime.now(UTC)
        session.add(
            Delivery(
                dedupe_key=f"earlier:{opened.customer_id}",
                channel="email",
                endpoint="ada@example.com",
                event_type=MESSAGE_TYPE,
                payload=b"{}",
                customer_id=opened.customer_id,
                notification_kind="acknowledgement",
                status="sent",
                attempts=1,
                next_attempt_at=now,
                created_at=now,
                sent_at=now,
            )
        )
        await session.commit()
    await resolved_ticket_for(notifier, opened)

    async def skipped() -> Delivery | None:
        asked = await questions_to(notifier, opened.customer_id)
        return asked[0] if asked and asked[0].status == "suppressed" else None

    question = await wait_until(skipped, timeout=30)
    assert "rate limit" in (question.last_error or "")


async def resolved_ticket_for(notifier: Notifier, opened: TicketOpened) -> None:
    await notifier.publish(
        CustomerRegistered(
            customer_id=opened.customer_id,
            display_name="Ada",
            identities=[Identity(kind="email", value="ada@example.com")],
            registered_at=opened.opened_at,
        ),
        opened,
        resolved(opened),
    )


async def test_a_no_on_a_first_contact_ticket_is_disputed_and_its_words_become_a_report(
    make_notifier: NotifierFactory,
) -> None:
    notifier = await make_notifier(question_enabled=True)
    opened = await resolved_ticket(notifier)
    words = "I had to call again the next day; the refund still has not arrived."
    response = await answer(notifier, opened.ticket_id, {"resolved": False, "text": words})
    assert response.status_code == 200, response.text
    kept = response.json()
    assert (kept["counted_first_contact"], kept["resolved_first_contact"], kept["disputed"]) == (True, False, True)
    assert (kept["intent"], kept["channel"], kept["followed_up_as"]) == ("refund_request", "email", "report")
    follow_up = uuid.uuid5(questions._FOLLOW_UP, str(opened.ticket_id))
    assert (await notifier.client.get(f"/v1/reports/{follow_up}")).status_code == 200
    disputed = (await notifier.client.get("/v1/questions", params={"disputed": "true"})).json()["items"]
    assert [item["ticket_id"] for item in disputed] == [str(opened.ticket_id)]
    again = await answer(notifier, opened.ticket_id, {"resolved": True})
    assert (again.status_code, again.json()["type"].rsplit("/", 1)[-1]) == (409, "already-answered")


async def test_a_yes_with_words_enters_feedback_and_disputes_nothing(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(question_enabled=True)
    opened = await resolved_ticket(notifier)
    words = "Resolved, thanks, but the return label in your email was hard to find."
    kept = (await answer(notifier, opened.ticket_id, {"resolved": True, "text": words})).json()
    assert (kept["disputed"], kept["followed_up_as"]) == (False, "feedback")
    [cluster] = (await notifier.client.get("/v1/feedback")).json()["items"]
    shown = (await notifier.client.get(f"/v1/feedback/{cluster['id']}")).json()
    assert words in shown["voices"][0]["text"]


async def test_a_ticket_marked_as_feedback_after_its_question_has_the_question_withdrawn(
    make_notifier: NotifierFactory,
) -> None:
    notifier = await make_notifier(question_enabled=True)
    opened = await resolved_ticket(notifier)
    assert (await notifier.client.get(f"/v1/questions/{opened.ticket_id}")).status_code == 200
    marked = FeedbackReceived(
        ticket_id=opened.ticket_id,
        customer_id=opened.customer_id,
        channel="email",
        kind="complaint",
        recognised_by="agent",
        subject=opened.subject,
        description=opened.description,
        acknowledgement="Ada, thank you.",
        received_at=datetime.now(UTC),
    )
    await notifier.publish(marked)
    assert (await notifier.client.get(f"/v1/questions/{opened.ticket_id}")).status_code == 404
    assert (await answer(notifier, opened.ticket_id, {"resolved": False})).status_code == 404
