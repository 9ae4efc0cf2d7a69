"""Feedback in the notifier: clustered across customers apart from problems, owned, decided by its owner,
every customer told once in their own words, and escalated to the owner's lead when left undecided."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select

from services.notifier.delivery.models import Delivery
from services.notifier.feedback import clustering, owners
from services.notifier.feedback import erasure as feedback_erasure
from services.notifier.feedback.escalation import FeedbackEscalator
from shared.events.catalogue import CustomerRegistered, FeedbackReceived, Identity
from shared.events.erasure import CustomerErased
from tests.notifier_factories import report
from tests.unit.notifier.conftest import Notifier, NotifierFactory, staged_events

# Five customers, five ways of saying the same thing about one email.
WRONG_EMAIL = [
    (
        "Your email gives wrong instructions",
        "It says to call you, but calling can't fix this: I had to use the website.",
    ),
    (
        "Your email sends people to the phone for nothing",
        "The email said to call; calling did not fix it, the website did.",
    ),
    ("Email says call, but you must use the website", "Please fix the email: phoning does not work for this."),
    ("Wrong instructions in your message", "Your email says ring the helpline; the helpline sent me to the website."),
    ("Fix the instructions in the email", "Calling was useless, the website is the only way. The email should say so."),
]
OWNERS = {"intent:procedure_feedback": "billing-communications"}


def voice(subject: str, description: str, **overrides: Any) -> FeedbackReceived:
    fields: dict[str, Any] = {
        "ticket_id": uuid.uuid4(),
        "customer_id": uuid.uuid4(),
        "customer_name": "Ada",
        "channel": "email",
        "kind": "suggestion",
        "recognised_by": "intent",
        "subject": subject,
        "description": description,
        "intent": "procedure_feedback",
        "acknowledgement": "Ada, thank you.",
        "received_at": datetime.now(UTC),
    }
    fields.update(overrides)
    return FeedbackReceived(**fields)


async def heard(notifier: Notifier, voices: list[FeedbackReceived]) -> list[dict[str, Any]]:
    for i, event in enumerate(voices):
        await notifier.publish(
            CustomerRegistered(
                customer_id=event.customer_id,
                display_name=f"Customer {i}",
                identities=[Identity(kind="email", value=f"customer{i}@example.com")],
                registered_at=event.received_at,
            ),
            event,
        )
    listed: list[dict[str, Any]] = (await notifier.client.get("/v1/feedback")).json()["items"]
    return listed


async def outcome_messages(notifier: Notifier) -> list[Delivery]:
    async with notifier.runtime.database.session() as session:
        rows = await session.scalars(select(Delivery).where(Delivery.notification_kind == "feedback_outcome"))
        return list(rows)


def test_the_intent_names_the_owner_before_the_product_and_the_tags() -> None:
    mapping = {"intent:a": "team-a", "product:p": "team-p", "tag:t": "team-t"}
    assert owners.owner_of(intent="a", product="p", tags=["t"], owners=mapping, default_owner="cx").owner == "team-a"
    assert owners.owner_of(intent="x", product="p", tags=["t"], owners=mapping, default_owner="cx").owner == "team-p"
    assert owners.owner_of(intent=None, product=None, tags=["u", "t"], owners=mapping, default_owner="cx").owner == (
        "team-t"
    )


def test_feedback_no_mapping_names_goes_to_the_default_owner_as_unowned() -> None:
    ownership = owners.owner_of(intent="x", product=None, tags=[], owners={}, default_owner="cx")
    assert (ownership.owner, ownership.unowned, ownership.mapping) == ("cx", True, None)


def test_a_cluster_is_joined_on_its_average_not_on_one_close_voice() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    # b has one very close voice but is far on average; a is close throughout.
    chosen = clustering.best_on_average([b, a, b, a, b], [0.95, 0.7, 0.1, 0.65, 0.1], threshold=0.6)
    assert chosen == a
    assert clustering.best_on_average([a], [0.4], threshold=0.6) is None


async def test_five_customers_in_five_ways_make_one_owned_piece_of_feedback(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(feedback_owners=OWNERS)
    listed = await heard(notifier, [voice(subject, words) for subject, words in WRONG_EMAIL])
    assert len(listed) == 1, [item["summary_text"] for item in listed]
    cluster = listed[0]
    assert (cluster["voice_count"], cluster["customer_count"]) == (5, 5)
    assert (cluster["owner"], cluster["unowned"], cluster["owned_by"]) == (
        "billing-communications",
        False,
        "intent:procedure_feedback",
    )
    assert (cluster["status"], cluster["decision"]) == ("open", None)


async def test_feedback_about_something_else_is_another_cluster_with_the_default_owner(notifier: Notifier) -> None:
    await heard(notifier, [voice(*WRONG_EMAIL[0])])
    other = voice("Lovely staff at the Leeds branch", "The people at the counter were patient and kind.", intent=None)
    listed = await heard(notifier, [other])
    assert len(listed) == 2
    assert {(item["owner"], item["unowned"]) for item in listed} == {("customer-experience", True)}


async def test_a_ticket_that_is_feedback_never_becomes_a_problem_report(notifier: Notifier) -> None:
    opened = report("Your email gives wrong instructions", "It says to call.", attributes={"feedback": "suggestion"})
    await notifier.publish(opened)
    assert (await notifier.client.get(f"/v1/reports/{opened.ticket_id}")).status_code == 404


async def test_the_owners_decision_is_told_to_every_customer_once_quoting_them(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(feedback_owners=OWNERS)
    voices = [voice(subject, words) for subject, words in WRONG_EMAIL]
    cluster = (await heard(notifier, voices))[0]
    decision = {
        "decision": "accepted",
        "change": "the email now says to use the website, with the link",
        "change_due": "from the next mailing",
        "reason": "calling cannot change this setting",
    }
    path = f"/v1/feedback/{cluster['id']}/decision"
    response = await notifier.client.post(path, json=decision, headers={"Idempotency-Key": "d-1"})
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["decision"]) == ("decided", "accepted")
    again = await notifier.client.post(path, json=decision, headers={"Idempotency-Key": "d-2"})
    assert (again.status_code, again.json()["type"].rsplit("/", 1)[-1]) == (409, "feedback-decided")
    messages = await outcome_messages(notifier)
    assert sorted(str(m.customer_id) for m in messages) == sorted(str(v.customer_id) for v in voices)
    for message in messages:
        body = orjson.loads(message.payload)["body"]
        spoken = next(v for v in voices if v.customer_id == message.customer_id)
        assert f"You told us: “{spoken.subject}" in body
        assert "the email now says to use the website" in body
        assert "4 other customers told us the same." in body
    decided = await staged_events(notifier, "feedback.decided")
    assert [(e["decision"], e["voices"], e["owner"]) for e in decided] == [("accepted", 5, "billing-communications")]
    late = voice("The email says to call", "But calling cannot fix it, the website can.")
    await heard(notifier, [late])
    assert len(await outcome_messages(notifier)) == 6


async def test_a_customer_who_opted_out_is_not_written_to(notifier: Notifier) -> None:
    spoken = voice(*WRONG_EMAIL[0])
    cluster = (await heard(notifier, [spoken]))[0]
    preferences = {"opted_out": True}
    await notifier.client.put(f"/v1/customers/{spoken.customer_id}/preferences", json=preferences)
    decision = {"decision": "declined", "reason": "the law requires the call"}
    await notifier.client.post(f"/v1/feedback/{cluster['id']}/decision", json=decision)
    assert [m.status for m in await outcome_messages(notifier)] == ["suppressed"]


async def test_accepting_without_saying_what_changes_is_refused_naming_the_field(notifier: Notifier) -> None:
    cluster = (await heard(notifier, [voice(*WRONG_EMAIL[0])]))[0]
    response = await notifier.client.post(
        f"/v1/feedback/{cluster['id']}/decision", json={"decision": "accepted", "reason": "good idea"}
    )
    assert response.status_code == 422
    assert "body.change" in response.text
    assert (await notifier.client.get(f"/v1/feedback/{cluster['id']}")).json()["status"] == "open"


async def test_feedback_left_undecided_goes_to_the_owners_lead_once(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(
        feedback_owners=OWNERS, feedback_leads={"billing-communications": "head-of-billing"}, feedback_decision_hours=24
    )
    cluster = (await heard(notifier, [voice(*WRONG_EMAIL[0])]))[0]
    escalator: FeedbackEscalator = notifier.runtime.extensions["feedback_escalator"]
    assert await escalator.check(datetime.now(UTC) + timedelta(hours=23)) == 0
    assert await escalator.check(datetime.now(UTC) + timedelta(hours=25)) == 1
    assert await escalator.check(datetime.now(UTC) + timedelta(hours=26)) == 0
    escalated = await staged_events(notifier, "feedback.escalated")
    assert [(e["cluster_id"], e["owner"], e["lead"]) for e in escalated] == [
        (cluster["id"], "billing-communications", "head-of-billing")
    ]
    shown = (await notifier.client.get(f"/v1/feedback/{cluster['id']}")).json()
    assert (shown["escalated_to"], shown["status"]) == ("head-of-billing", "open")


async def test_an_escalation_reaches_the_subscribed_lead_as_a_delivery(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    subscription = {"url": "http://127.0.0.1:9/leads", "secret": "s" * 32, "event_types": ["feedback.escalated"]}
    created = await notifier.client.post("/v1/subscriptions", json=subscription)
    assert created.status_code == 201, created.text
    await heard(notifier, [voice(*WRONG_EMAIL[0])])
    escalator: FeedbackEscalator = notifier.runtime.extensions["feedback_escalator"]
    await escalator.check(datetime.now(UTC) + timedelta(days=4))
    async with notifier.runtime.database.session() as session:
        types = list(await session.scalars(select(Delivery.event_type).where(Delivery.subscription_id.is_not(None))))
    assert types == ["feedback.escalated"]


async def test_an_erased_customers_words_leave_feedback_and_the_count_stays(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(feedback_owners=OWNERS)
    voices = [voice(subject, words) for subject, words in WRONG_EMAIL[:2]]
    [cluster] = await heard(notifier, voices)
    async with notifier.runtime.database.session() as session:
        erased = await feedback_erasure.erase_feedback(session, [voices[0].customer_id])
        await session.commit()
    assert (erased["feedback_voices"], erased["feedback_clusters"]) == (1, 1)
    shown = (await notifier.client.get(f"/v1/feedback/{cluster['id']}")).json()
    assert (shown["summary_text"], shown["customer_count"]) == ("[erased]", 2)
    texts = {v["customer_id"]: v["text"] for v in shown["voices"]}
    assert texts[str(voices[0].customer_id)] == ""
    assert WRONG_EMAIL[1][1] in texts[str(voices[1].customer_id)]


async def test_the_erasure_event_takes_the_customers_words_out_of_feedback(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(feedback_owners=OWNERS)
    voices = [voice(subject, words) for subject, words in WRONG_EMAIL[:2]]
    [cluster] = await heard(notifier, voices)
    await notifier.publish(
        CustomerErased(customer_id=voices[0].customer_id, erasure_id=uuid.uuid4(), requested_at=datetime.now(UTC))
    )
    shown = (await notifier.client.get(f"/v1/feedback/{cluster['id']}")).json()
    texts = {v["customer_id"]: v["text"] for v in shown["voices"]}
    assert texts[str(voices[0].customer_id)] == ""
    assert WRONG_EMAIL[0][1] not in str(shown)
