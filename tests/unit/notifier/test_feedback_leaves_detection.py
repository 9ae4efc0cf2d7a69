"""A ticket an agent marks as feedback after it was opened leaves problem detection: it no longer counts
towards its cluster or problem, is found by no later report, and its customer is told nothing of the
problem; a redelivered FeedbackReceived changes nothing more."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from services.notifier.delivery.models import Delivery
from shared.events.catalogue import FeedbackReceived, TicketOpened
from tests.notifier_factories import OUTAGE_REPORTS, outage, report
from tests.unit.notifier.conftest import Notifier, staged_events


def marked_as_feedback(ticket: TicketOpened) -> FeedbackReceived:
    """The router's FeedbackReceived for a ticket an agent marked as feedback after it was opened."""
    return FeedbackReceived(
        ticket_id=ticket.ticket_id,
        customer_id=ticket.customer_id,
        customer_name=ticket.customer_name,
        channel=ticket.channel,
        kind="complaint",
        recognised_by="agent",
        subject=ticket.subject,
        description=ticket.description,
        acknowledgement=f"Thank you: “{ticket.subject}”.",
        received_at=datetime.now(UTC),
    )


async def redeliver(notifier: Notifier, event: FeedbackReceived) -> None:
    """The same record twice (one event id), then the same feedback under a new event id."""
    envelope = event.to_cloudevent()
    topic = notifier.settings.topic(event.topic.name)
    await notifier.bus.publish(topic, [envelope])
    await notifier.bus.publish(topic, [envelope])
    await notifier.bus.wait_idle()
    await notifier.publish(event)


async def problem_of(notifier: Notifier, ticket_id: uuid.UUID) -> str | None:
    problem_id: str | None = (await notifier.client.get(f"/v1/reports/{ticket_id}")).json()["problem_id"]
    return problem_id


async def problem(notifier: Notifier, problem_id: str) -> dict[str, Any]:
    response = await notifier.client.get(f"/v1/problems/{problem_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def notices(notifier: Notifier) -> dict[uuid.UUID, tuple[str, str]]:
    """Each acknowledgement's customer -> (kind, status)."""
    async with notifier.runtime.database.session() as session:
        rows = await session.scalars(select(Delivery).where(Delivery.notification_kind == "acknowledgement"))
        return {row.customer_id: (row.notification_kind or "", row.status) for row in rows if row.customer_id}


async def without_deliveries(notifier: Notifier) -> None:
    """Stop the delivery worker: the notices stay pending, as they are until the worker gets to them."""
    await notifier.runtime.extensions["delivery_worker"].stop()


async def test_feedback_leaves_its_problem_and_its_customer_is_not_told(notifier: Notifier) -> None:
    await without_deliveries(notifier)
    *reports, feedback = outage(4)
    await notifier.publish(*reports, feedback)
    problem_id = await problem_of(notifier, feedback.ticket_id)
    assert problem_id is not None
    assert (await problem(notifier, problem_id))["customer_count"] == 4
    assert (await notices(notifier))[feedback.customer_id] == ("acknowledgement", "pending")

    await notifier.publish(marked_as_feedback(feedback))

    after = await problem(notifier, problem_id)
    assert (after["status"], after["customer_count"], after["report_count"]) == ("open", 3, 3)
    assert str(feedback.ticket_id) not in {ticket["ticket_id"] for ticket in after["members"]}
    assert await problem_of(notifier, feedback.ticket_id) is None
    told = await notices(notifier)
    assert told[feedback.customer_id] == ("acknowledgement", "cancelled")
    assert {told[r.customer_id] for r in reports} == {("acknowledgement", "pending")}
    [left] = [u for u in await staged_events(notifier, "problem.updated") if u["change"] == "split"]
    assert (left["split_ticket_ids"], left["customer_count"]) == ([str(feedback.ticket_id)], 3)


async def test_a_later_report_neither_finds_the_feedback_nor_brings_it_back(notifier: Notifier) -> None:
    *reports, feedback = outage(4)
    await notifier.publish(*reports, feedback, marked_as_feedback(feedback))
    later = report(*OUTAGE_REPORTS[0])
    await notifier.publish(later)

    similar = (await notifier.client.get(f"/v1/tickets/{later.ticket_id}/similar")).json()["items"]
    assert similar, "the later report is like the outage's other reports"
    assert str(feedback.ticket_id) not in {item["ticket_id"] for item in similar}
    assert await problem_of(notifier, feedback.ticket_id) is None
    problem_id = await problem_of(notifier, later.ticket_id)
    assert problem_id is not None
    assert (await problem(notifier, problem_id))["customer_count"] == 4


async def test_a_redelivered_feedback_changes_nothing_more(notifier: Notifier) -> None:
    await without_deliveries(notifier)
    *reports, feedback = outage(4)
    await notifier.publish(*reports, feedback)
    problem_id = await problem_of(notifier, feedback.ticket_id)
    assert problem_id is not None
    marked = marked_as_feedback(feedback)
    await notifier.publish(marked)
    before = (await problem(notifier, problem_id), await notices(notifier))
    assert (before[0]["customer_count"], before[1][feedback.customer_id]) == (3, ("acknowledgement", "cancelled"))
    updates = await staged_events(notifier, "problem.updated")

    await redeliver(notifier, marked)

    assert (await problem(notifier, problem_id), await notices(notifier)) == before
    assert await staged_events(notifier, "problem.updated") == updates
    [cluster] = (await notifier.client.get("/v1/feedback")).json()["items"]
    assert cluster["voice_count"] == 1


async def test_a_problem_announced_stays_open_below_the_threshold_and_the_feedback_is_not_told_the_fix(
    notifier: Notifier,
) -> None:
    *reports, feedback = outage(3)
    await notifier.publish(*reports, feedback)
    [detected] = await staged_events(notifier, "problem.detected")

    await notifier.publish(marked_as_feedback(feedback))
    after = await problem(notifier, detected["problem_id"])
    assert (after["status"], after["customer_count"]) == ("open", 2)

    resolved = await notifier.client.post(
        f"/v1/problems/{detected['problem_id']}/resolve",
        json={"resolution": "The payment provider renewed its certificate."},
        headers={"Idempotency-Key": "resolve-after-feedback"},
    )
    assert resolved.status_code == 200, resolved.text
    [event] = await staged_events(notifier, "problem.resolved")
    assert set(event["ticket_ids"]) == {str(r.ticket_id) for r in reports}
    async with notifier.runtime.database.session() as session:
        told = set(
            await session.scalars(select(Delivery.customer_id).where(Delivery.notification_kind == "resolution"))
        )
    assert told == {r.customer_id for r in reports}


async def test_a_forming_cluster_left_with_one_report_is_no_cluster_and_feedback_never_completes_a_problem(
    notifier: Notifier,
) -> None:
    first, feedback, third = outage(3)
    await notifier.publish(first, feedback)
    cluster_id = await problem_of(notifier, first.ticket_id)
    assert cluster_id is not None

    await notifier.publish(marked_as_feedback(feedback))

    assert await problem_of(notifier, first.ticket_id) is None
    assert (await notifier.client.get(f"/v1/problems/{cluster_id}")).status_code == 404
    # Without the feedback, the third customer makes a cluster of two with the first: no problem yet.
    await notifier.publish(third)
    regrouped = await problem_of(notifier, third.ticket_id)
    assert regrouped is not None
    assert regrouped == await problem_of(notifier, first.ticket_id)
    cluster = await problem(notifier, regrouped)
    assert (cluster["status"], cluster["customer_count"]) == ("forming", 2)
    assert await staged_events(notifier, "problem.detected") == []


async def test_feedback_heard_at_opening_leaves_problems_untouched(notifier: Notifier) -> None:
    reports = outage(3)
    await notifier.publish(*reports)
    [detected] = await staged_events(notifier, "problem.detected")
    voice = marked_as_feedback(report("Your hold music is lovely", "Please keep it."))

    await notifier.publish(voice)

    assert (await problem(notifier, detected["problem_id"]))["customer_count"] == 3
    assert [u for u in await staged_events(notifier, "problem.updated") if u["change"] == "split"] == []


async def test_a_customer_with_another_report_in_the_problem_is_still_told(notifier: Notifier) -> None:
    await without_deliveries(notifier)
    reports = outage(3)
    again = report(*OUTAGE_REPORTS[3], customer_id=reports[0].customer_id)
    await notifier.publish(*reports, again)
    problem_id = await problem_of(notifier, again.ticket_id)
    assert problem_id is not None

    await notifier.publish(marked_as_feedback(again))

    after = await problem(notifier, problem_id)
    assert (after["customer_count"], after["report_count"]) == (3, 3)
    assert (await notices(notifier))[again.customer_id] == ("acknowledgement", "pending")
