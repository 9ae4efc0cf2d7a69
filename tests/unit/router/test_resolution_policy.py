"""The resolution policy as a table: every rule, in order, with the rule named in the answer."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.router.ledger.policy import OrderFacts, Request, Situation, decide, headroom

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
CUSTOMER = uuid.uuid4()
ORDER = OrderFacts(uuid.uuid4(), CUSTOMER, "EUR", Decimal("120.00"), Decimal("20.00"), NOW - timedelta(days=3))
SITUATION = Situation(
    ticket_status="open",
    customer_id=CUSTOMER,
    agent_limits={
        "credit": {"EUR": Decimal("50.00")},
        "refund": {"EUR": Decimal("200.00")},
        "return": {"EUR": Decimal("200.00")},
        "replacement": {"EUR": Decimal("200.00")},
    },
    customer_given=Decimal("0"),
    customer_cap={"EUR": Decimal("300.00")},
    return_window_days=30,
    now=NOW,
)


def request(type_: str = "credit", amount: str = "25.00", currency: str | None = "EUR", order: Any = ORDER) -> Request:
    return Request(type_, Decimal(amount), currency, order)


@pytest.mark.parametrize(
    ("req", "situation", "outcome", "rule"),
    [
        (request(), SITUATION, "execute", "within-authority"),
        (request("answer", "0", None, None), SITUATION, "execute", "within-authority"),
        (request("refund", "100.00"), SITUATION, "execute", "within-authority"),
        (request(), replace(SITUATION, ticket_status="resolved"), "refuse", "ticket-not-open"),
        (request(), replace(SITUATION, ticket_status="pending_approval"), "refuse", "ticket-not-open"),
        (request("answer", "5.00", "EUR", None), SITUATION, "refuse", "answer-has-no-amount"),
        (request("credit", "0"), SITUATION, "refuse", "amount-not-positive"),
        (request("refund", order=None), SITUATION, "refuse", "order-required"),
        (request(order=replace(ORDER, customer_id=uuid.uuid4())), SITUATION, "refuse", "order-of-another-customer"),
        (request(currency="USD"), SITUATION, "refuse", "currency-mismatch"),
        (request("refund", "100.01"), SITUATION, "refuse", "over-refund"),
        (request("replacement", "120.01"), SITUATION, "refuse", "over-order-value"),
        (
            request("return", "50.00", order=replace(ORDER, ordered_at=NOW - timedelta(days=31))),
            SITUATION,
            "approval",
            "return-window",
        ),
        (request("credit", "50.01"), SITUATION, "approval", "agent-authority"),
        (request("credit", "10.00", "EUR", None), replace(SITUATION, agent_limits={}), "approval", "agent-authority"),
        (request("credit", "40.00"), replace(SITUATION, customer_given=Decimal("270.00")), "approval", "customer-cap"),
        (request("credit", "10.00"), replace(SITUATION, customer_cap={}), "approval", "customer-cap"),
    ],
    ids=[
        "credit-within-authority",
        "answer",
        "refund-within-refundable",
        "resolved-ticket",
        "ticket-awaiting-approval",
        "answer-with-money",
        "zero-credit",
        "refund-without-order",
        "another-customers-order",
        "currency-mismatch",
        "more-than-refundable",
        "replacement-worth-more-than-order",
        "return-after-window",
        "above-agent-limit",
        "no-limit-in-currency",
        "above-customer-cap",
        "no-cap-for-currency",
    ],
)
def test_policy_decides_and_names_the_rule(req: Request, situation: Situation, outcome: str, rule: str) -> None:
    verdict = decide(req, situation)
    assert (verdict.outcome, verdict.rule) == (outcome, rule)
    assert verdict.explanation


def test_hard_rules_win_over_authority_rules() -> None:
    verdict = decide(request("refund", "150.00"), replace(SITUATION, agent_limits={}))
    assert verdict.rule == "over-refund"


def test_the_explanation_gives_the_numbers() -> None:
    verdict = decide(request("credit", "80.00"), SITUATION)
    assert verdict.explanation == "80.00 EUR is above your credit limit of 50.00 EUR"


@pytest.mark.parametrize(
    ("type_", "situation", "order", "expected"),
    [
        ("credit", SITUATION, None, "50.00"),
        ("refund", SITUATION, ORDER, "100.00"),
        ("credit", replace(SITUATION, customer_given=Decimal("280.00")), None, "20.00"),
        ("replacement", SITUATION, ORDER, "200.00"),
        ("credit", replace(SITUATION, agent_limits={}), None, "0"),
    ],
)
def test_headroom_is_the_most_an_agent_may_give_without_asking(
    type_: str, situation: Situation, order: OrderFacts | None, expected: str
) -> None:
    assert headroom(type_, "EUR", situation, order) == Decimal(expected)
