"""A problem's representative reports are different customers' words (knowledge's drafts count on it)."""

from __future__ import annotations

import uuid

from services.notifier.problems.state import REPRESENTATIVES, Sampled, _one_per_customer


def sampled(customer: uuid.UUID, text: str) -> Sampled:
    return Sampled(uuid.uuid4(), customer, text[:40], text, None, None)


def test_the_representatives_skip_a_second_report_of_the_same_customer() -> None:
    one, two, three = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ranked = [
        sampled(one, "the app crashes after the update"),
        sampled(one, "again: the app crashes after the update"),
        sampled(two, "app crashes since this morning's update"),
        sampled(one, "third time the app crashes"),
        sampled(three, "the update made the app crash"),
    ]

    chosen = _one_per_customer(ranked)

    assert [m.customer_id for m in chosen] == [one, two, three]
    assert [m.text for m in chosen] == [ranked[0].text, ranked[2].text, ranked[4].text]  # best of each, in order


def test_no_more_than_the_representatives_and_fewer_when_fewer_customers_wrote() -> None:
    many = [sampled(uuid.uuid4(), f"report {n}") for n in range(REPRESENTATIVES + 3)]
    assert _one_per_customer(many) == many[:REPRESENTATIVES]

    alone = uuid.uuid4()
    assert [m.customer_id for m in _one_per_customer([sampled(alone, "a"), sampled(alone, "b")])] == [alone]
