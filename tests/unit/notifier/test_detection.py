"""Duplicate detection on fixed texts: paraphrases and typos match, unrelated reports and the same
customer's own reports do not count, and the window bounds what is compared."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.notifier.detection.similarity import ReportVector, similarity
from services.notifier.detection.text import content_words, spelling_vector, term_counts, weigh, word_terms
from tests.notifier_factories import report
from tests.unit.notifier.conftest import Notifier

THRESHOLD = 0.45


def vector(subject: str, description: str = "") -> ReportVector:
    return ReportVector(weigh(term_counts(subject, description)), spelling_vector(subject, description))


def test_a_paraphrase_of_the_same_problem_scores_above_the_threshold() -> None:
    first = vector("Checkout fails with payment error", "When I pay at checkout I get a payment error.")
    second = vector("Payment error at checkout", "The checkout page shows an error when I pay.")
    assert similarity(first, second) >= THRESHOLD


def test_a_report_with_typos_still_matches_the_correctly_spelled_one() -> None:
    right = vector("Password reset email never arrives")
    typos = vector("Pasword reset emial never arives")
    assert similarity(right, typos) >= THRESHOLD


def test_an_unrelated_report_scores_far_below_the_threshold() -> None:
    checkout = vector("Checkout fails with payment error", "Payment error at checkout.")
    address = vector("Change my delivery address", "I moved and need my parcel sent elsewhere.")
    assert similarity(checkout, address) < 0.15


def test_identifiers_are_split_at_camel_case_and_kept_whole() -> None:
    assert {"filesystem", "file", "system"} <= set(content_words("FileSystem crashed"))
    assert "#fs.s3a.connection.ssl.enabled" in word_terms("set fs.s3a.connection.ssl.enabled=true")


def test_plural_and_tense_variants_meet_on_one_stem() -> None:
    assert word_terms("crashes")[0] == word_terms("crashing")[0] == word_terms("crashed")[0]


async def test_similar_lists_reports_of_other_customers_best_first(notifier: Notifier) -> None:
    customer = uuid.uuid4()
    mine = report("Checkout fails with payment error", customer_id=customer)
    my_other = report("Checkout payment error again", customer_id=customer)
    theirs = report("Payment error at checkout", "Checkout shows an error when I pay.")
    unrelated = report("Change my delivery address")
    await notifier.publish(mine, my_other, theirs, unrelated)

    response = await notifier.client.get(f"/v1/tickets/{mine.ticket_id}/similar", params={"k": 10})

    assert response.status_code == 200
    items = response.json()["items"]
    assert next(item["ticket_id"] for item in items) == str(theirs.ticket_id)
    assert str(my_other.ticket_id) not in {item["ticket_id"] for item in items}
    assert all(0 < item["score"] <= 1 for item in items)


async def test_reports_outside_the_window_are_not_compared(make_notifier: object) -> None:
    notifier: Notifier = await make_notifier(duplicate_window_days=7)  # type: ignore[operator]
    old = report("Checkout fails with payment error", opened_at=datetime.now(UTC) - timedelta(days=10))
    new = report("Checkout fails with payment error")
    await notifier.publish(old, new)
    response = await notifier.client.get(f"/v1/tickets/{new.ticket_id}/similar")
    assert response.json()["items"] == []


async def test_similar_for_an_unknown_ticket_is_a_404_problem(notifier: Notifier) -> None:
    response = await notifier.client.get(f"/v1/tickets/{uuid.uuid4()}/similar")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_similar_refuses_a_k_out_of_range_naming_the_parameter(notifier: Notifier) -> None:
    response = await notifier.client.get(f"/v1/tickets/{uuid.uuid4()}/similar", params={"k": 0})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.k"


async def test_a_redelivered_ticket_event_is_indexed_once(notifier: Notifier) -> None:
    event = report("Checkout fails with payment error")
    envelope = event.to_cloudevent()
    topic = notifier.settings.topic(event.topic.name)
    await notifier.bus.publish(topic, [envelope])
    await notifier.bus.publish(topic, [envelope])
    await notifier.bus.wait_idle()
    other = report("Payment error at checkout")
    await notifier.publish(other)
    items = (await notifier.client.get(f"/v1/tickets/{other.ticket_id}/similar")).json()["items"]
    assert [item["ticket_id"] for item in items] == [str(event.ticket_id)]
