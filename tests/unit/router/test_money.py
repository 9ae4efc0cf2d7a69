"""Money follows ISO 4217: known currencies, whole minor units, always written with the currency's decimals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from services.router import money
from services.router.orders.models import Order
from tests.factories import agent_request, order_request, ticket_request
from tests.unit.router.conftest import RouterHarness


def one_line(price: str, currency: str, quantity: int = 1) -> dict[str, Any]:
    lines = [{"sku": "A-1", "description": "Thing", "quantity": quantity, "unit_price": price}]
    return order_request(currency=currency, lines=lines)


async def orders_stored(router: RouterHarness) -> int:
    async with router.runtime.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Order)) or 0)


def field_of(response: Any) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["errors"][0]["field"])


@pytest.mark.parametrize("currency", ["XXX", "BTC", "XAU", "USN", "eur", "EURO"])
async def test_an_order_in_a_currency_iso_4217_does_not_list_for_payment_is_refused(
    router: RouterHarness, currency: str
) -> None:
    response = await router.post("/v1/orders", one_line("10.00", currency))
    assert field_of(response) == "body.currency"
    assert await orders_stored(router) == 0


@pytest.mark.parametrize(
    ("price", "currency"), [("0.01", "JPY"), ("100.5", "KRW"), ("1.001", "EUR"), ("1.2345", "KWD")]
)
async def test_an_amount_finer_than_its_currencys_minor_units_is_refused(
    router: RouterHarness, price: str, currency: str
) -> None:
    response = await router.post("/v1/orders", one_line(price, currency))
    assert field_of(response) == "body.lines"
    assert currency in response.text
    assert await orders_stored(router) == 0


@pytest.mark.parametrize("price", ["1e10", "-0.00", " 1.00", "1,00", "NaN", "Infinity", 100, 12.5, "1" * 13])
async def test_an_amount_that_is_not_a_plain_decimal_string_is_refused(router: RouterHarness, price: Any) -> None:
    response = await router.post("/v1/orders", one_line(price, "EUR"))
    assert field_of(response).startswith("body.lines.0.unit_price")
    assert await orders_stored(router) == 0


@pytest.mark.parametrize(
    ("price", "currency", "written"),
    [("100", "EUR", "100.00"), ("100", "JPY", "100"), ("1.234", "KWD", "1.234"), ("7.5", "USD", "7.50")],
)
async def test_the_answer_to_a_create_writes_money_as_every_read_does(
    router: RouterHarness, price: str, currency: str, written: str
) -> None:
    created = await router.post("/v1/orders", one_line(price, currency, quantity=2))
    assert created.status_code == 201, created.text
    read = await router.client.get(f"/v1/orders/{created.json()['id']}")
    assert created.json()["lines"][0]["unit_price"] == read.json()["lines"][0]["unit_price"] == written
    assert created.json()["total"] == read.json()["total"] == str(Decimal(written) * 2)
    assert created.json() == read.json()


async def test_a_total_beyond_what_is_stored_is_refused(router: RouterHarness) -> None:
    response = await router.post("/v1/orders", one_line("999999999999", "EUR", quantity=100_000))
    assert field_of(response) == "body.lines"


async def test_a_resolution_in_yen_is_booked_and_answered_in_whole_yen(router: RouterHarness) -> None:
    agent = await router.agent(authority={"credit": {"JPY": "5000"}}, capacity={"chat": 2})
    ticket = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    order = (await router.post("/v1/orders", one_line("12000", "JPY"))).json()
    fractional = await router.post(
        f"/v1/tickets/{ticket['id']}/resolutions",
        {
            "type": "credit",
            "order_id": order["id"],
            "amount": "0.5",
            "currency": "JPY",
            "reason": "late",
            "agent_id": agent["id"],
        },
    )
    assert field_of(fractional) == "body.amount"
    credited = await router.post(
        f"/v1/tickets/{ticket['id']}/resolutions",
        {
            "type": "credit",
            "order_id": order["id"],
            "amount": "500",
            "currency": "JPY",
            "reason": "late",
            "agent_id": agent["id"],
        },
    )
    assert credited.status_code == 202, credited.text  # no customer cap in JPY: a supervisor decides
    assert credited.json()["approval"]["amount"] == "500"
    assert "500 JPY" in credited.json()["explanation"]
    context = (await router.client.get(f"/v1/tickets/{ticket['id']}/context")).json()
    assert context["pending_approvals"][0]["amount"] == "500"
    assert context["orders"][0]["refundable"] == "12000"


async def test_a_resolution_in_an_unknown_currency_is_refused(router: RouterHarness) -> None:
    agent = await router.agent(capacity={"chat": 2})
    ticket = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    response = await router.post(
        f"/v1/tickets/{ticket['id']}/resolutions",
        {"type": "credit", "amount": "5.00", "currency": "BTC", "reason": "late", "agent_id": agent["id"]},
    )
    assert field_of(response) == "body.currency"


async def test_agent_limits_are_checked_and_written_in_their_currencys_minor_units(router: RouterHarness) -> None:
    refused = await router.post("/v1/agents", agent_request(authority={"credit": {"JPY": "0.01"}}))
    assert field_of(refused) == "body.authority"
    unknown = await router.post("/v1/agents", agent_request(authority={"credit": {"XXX": "1.00"}}))
    assert field_of(unknown).startswith("body.authority.credit")
    agent = await router.agent(authority={"credit": {"EUR": "50", "JPY": "5000", "KWD": "1.5"}})
    assert agent["authority"]["credit"] == {"EUR": "50.00", "JPY": "5000", "KWD": "1.500"}
    read = (await router.client.get(f"/v1/agents/{agent['id']}")).json()
    assert read["authority"] == agent["authority"]


def test_every_currency_one_pays_in_has_its_minor_units_and_fits_what_is_stored() -> None:
    assert (money.MINOR_UNITS["EUR"], money.MINOR_UNITS["JPY"], money.MINOR_UNITS["KWD"]) == (2, 0, 3)
    assert not {"XXX", "XTS", "XAU", "XDR", "USN", "BOV"} & set(money.MINOR_UNITS)
    assert max(money.MINOR_UNITS.values()) <= money.STORED_DECIMALS
    assert money.exact(Decimal("5"), "EUR") == Decimal("5.00")
    assert str(money.exact(Decimal("5"), "EUR")) == "5.00"
    with pytest.raises(ValueError, match="JPY has 0 decimal places"):
        money.exact(Decimal("0.01"), "JPY")
