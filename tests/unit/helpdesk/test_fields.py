"""What agents type into RT's firstcall fields: a resolution request, or every problem with it named."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.helpdesk.inbound.fields import ResolutionRequest, parse_resolution, transfer_reason

DEFAULT = "answered in Request Tracker"


def credit(**fields: str | None) -> dict[str, str | None]:
    values: dict[str, str | None] = {"resolution": "credit", "amount": "25.00", "currency": "EUR", "reason": "late"}
    values.update(fields)
    return values


def test_a_filled_credit_is_a_request_with_an_exact_amount() -> None:
    assert parse_resolution(credit(order="SO-1"), default_reason=DEFAULT) == ResolutionRequest(
        "credit", Decimal("25.00"), "EUR", "SO-1", "late"
    )


@pytest.mark.parametrize(
    ("amount", "expected"), [("25", "25.00"), ("25,5", "25.50"), (" 7.05 ", "7.05"), ("0.99", "0.99")]
)
def test_amounts_are_read_as_people_type_them(amount: str, expected: str) -> None:
    request = parse_resolution(credit(amount=amount), default_reason=DEFAULT)
    assert isinstance(request, ResolutionRequest)
    assert request.amount == Decimal(expected)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (credit(amount="twenty"), "firstcall amount 'twenty' is not an amount like 25.00"),
        (credit(amount="-5"), "firstcall amount '-5' is not an amount like 25.00"),
        (credit(amount="1.234"), "firstcall amount '1.234' is not an amount like 25.00"),
        (credit(amount="99999999999"), "firstcall amount '99999999999' is not an amount like 25.00"),
        (credit(currency="euro"), "firstcall currency 'EURO' is not a three-letter currency code like EUR"),
        (credit(currency=None), "firstcall currency is empty: an amount needs its currency"),
        (credit(amount=None), "firstcall amount is empty: a credit needs an amount"),
        (credit(reason=" "), "firstcall reason is empty: say why the customer gets a credit"),
        (
            credit(resolution="voucher"),
            "firstcall resolution 'voucher' is not one of return, refund, credit, replacement, answer",
        ),
        (credit(order="x" * 101), "firstcall order is longer than 100 characters"),
    ],
)
def test_each_unreadable_field_is_named(fields: dict[str, str | None], problem: str) -> None:
    assert parse_resolution(fields, default_reason=DEFAULT) == [problem]


def test_every_problem_is_named_at_once() -> None:
    problems = parse_resolution({"resolution": "refund", "amount": "abc", "currency": "12"}, default_reason=DEFAULT)
    assert problems == [
        "firstcall amount 'abc' is not an amount like 25.00",
        "firstcall currency '12' is not a three-letter currency code like EUR",
        "firstcall reason is empty: say why the customer gets a refund",
    ]


def test_an_answer_needs_nothing_but_its_type() -> None:
    assert parse_resolution({"resolution": "answer"}, default_reason=DEFAULT) == ResolutionRequest(
        "answer", Decimal("0"), None, None, DEFAULT
    )


def test_a_return_takes_its_currency_from_the_order() -> None:
    request = parse_resolution({"resolution": "return", "order": "SO-1", "reason": "broken"}, default_reason=DEFAULT)
    assert request == ResolutionRequest("return", Decimal("0"), None, "SO-1", "broken")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ("other", None)),
        ("", ("other", None)),
        ("missing_skill", ("missing_skill", None)),
        ("Customer_Request", ("customer_request", None)),
        ("lunch", ("other", "firstcall transfer reason 'lunch' was not understood: recorded as other")),
    ],
)
def test_the_transfer_reason_is_other_unless_the_field_says_better(
    value: str | None, expected: tuple[str, str | None]
) -> None:
    assert transfer_reason(value) == expected
