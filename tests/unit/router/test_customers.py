"""One customer across every channel: normalised identities, lookup, history, merge, ownership."""

from __future__ import annotations

import pytest

from tests.factories import order_request, ticket_request
from tests.unit.router.conftest import RouterHarness


async def test_a_caller_is_matched_by_phone_to_the_profile_they_emailed_from(router: RouterHarness) -> None:
    emailed = await router.post(
        "/v1/tickets", ticket_request(customer={"email": "Ada@Example.com", "phone": "+44 20 7946 0958"})
    )
    called = await router.post("/v1/tickets", ticket_request(channel="phone", customer={"phone": "+442079460958"}))
    assert emailed.json()["customer_id"] == called.json()["customer_id"]
    assert emailed.json()["customer_created"] is True
    assert called.json()["customer_created"] is False
    found = await router.client.get("/v1/customers", params={"phone": "+44 (0)20 7946 0958"})
    assert found.status_code == 200
    assert {(i["kind"], i["value"]) for i in found.json()["identities"]} == {
        ("email", "ada@example.com"),
        ("phone", "+442079460958"),
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"phone": "12"}, "query.phone"),
        ({"email": "nope"}, "query.email"),
        ({"external_id": "no-system"}, "query.external_id"),
        ({}, "query"),
        ({"email": "a@b.example", "phone": "+442079460958"}, "query"),
    ],
)
async def test_a_lookup_that_cannot_be_normalised_names_the_parameter(
    router: RouterHarness, params: dict[str, str], field: str
) -> None:
    response = await router.client.get("/v1/customers", params=params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("raw_query", ["phone=+44%2020%207946%200958", "phone=+442079460958", "phone=%2B442079460958"])
async def test_a_phone_lookup_written_with_an_unencoded_plus_finds_the_customer(
    router: RouterHarness, raw_query: str
) -> None:
    await router.post("/v1/tickets", ticket_request(customer={"email": "ada@example.com", "phone": "+442079460958"}))
    # Sent as is, the `+` of a query string decodes to a space: ` 442079460958`.
    found = await router.client.get(f"/v1/customers?{raw_query}")
    assert found.status_code == 200, found.text
    assert ("phone", "+442079460958") in {(i["kind"], i["value"]) for i in found.json()["identities"]}


async def test_a_phone_lookup_that_fails_says_how_to_write_the_plus(router: RouterHarness) -> None:
    response = await router.client.get("/v1/customers?phone=442079460958")
    assert response.status_code == 422
    assert "%2B" in response.json()["errors"][0]["message"]


async def test_a_phone_number_that_cannot_be_normalised_is_a_422_naming_the_field(router: RouterHarness) -> None:
    response = await router.post("/v1/tickets", ticket_request(customer={"phone": "020 7946 0958"}))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.customer.phone"
    assert "international format" in response.json()["detail"]


async def test_an_unknown_identity_is_a_404_problem(router: RouterHarness) -> None:
    response = await router.client.get("/v1/customers", params={"external_id": "crm:nobody"})
    assert response.status_code == 404


async def test_history_lists_tickets_orders_and_notes_newest_first_across_pages(router: RouterHarness) -> None:
    agent = await router.agent()
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    await router.post("/v1/orders", order_request())
    await router.post(f"/v1/tickets/{ticket['id']}/notes", {"body": "called back", "agent_id": agent["id"]})
    customer_id = ticket["customer_id"]
    first = (await router.client.get(f"/v1/customers/{customer_id}/history", params={"limit": 2})).json()
    second = (
        await router.client.get(
            f"/v1/customers/{customer_id}/history", params={"limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    kinds = [item["kind"] for item in first["items"] + second["items"]]
    assert set(kinds) == {"ticket.opened", "order.recorded", "note"}
    assert second["next_cursor"] is None
    times = [item["occurred_at"] for item in first["items"] + second["items"]]
    assert times == sorted(times, reverse=True)


async def test_a_tampered_cursor_is_a_422(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    response = await router.client.get(
        f"/v1/customers/{ticket['customer_id']}/history", params={"cursor": "bm90IGEgY3Vyc29y"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.cursor"


async def test_merging_two_profiles_moves_everything_and_leaves_an_audited_event(router: RouterHarness) -> None:
    by_email = (await router.post("/v1/tickets", ticket_request(customer={"email": "bob@example.com"}))).json()
    by_phone = (await router.post("/v1/tickets", ticket_request(customer={"phone": "+15551234567"}))).json()
    await router.post("/v1/orders", order_request(customer={"phone": "+15551234567"}))
    survivor, duplicate = by_email["customer_id"], by_phone["customer_id"]
    response = await router.post(
        f"/v1/customers/{survivor}/merge", {"merge_customer_id": duplicate, "reason": "confirmed on the phone"}
    )
    assert response.status_code == 200
    assert {i["kind"] for i in response.json()["identities"]} == {"email", "phone"}
    moved_ticket = (await router.client.get(f"/v1/tickets/{by_phone['id']}")).json()
    assert moved_ticket["customer_id"] == survivor
    history = (await router.client.get(f"/v1/customers/{survivor}/history")).json()["items"]
    assert {"ticket.opened", "order.recorded", "customer.merged"} <= {item["kind"] for item in history}
    tombstone = (await router.client.get(f"/v1/customers/{duplicate}")).json()
    assert tombstone["merged_into_id"] == survivor
    [merged] = await router.published("firstcall.customer.merged")
    assert merged.data["moved"]["tickets"] == 1
    assert merged.data["moved"]["orders"] == 1
    again = await router.post(f"/v1/customers/{survivor}/merge", {"merge_customer_id": duplicate, "reason": "again"})
    assert again.status_code == 409


async def test_a_ticket_for_a_merged_identity_lands_on_the_survivor(router: RouterHarness) -> None:
    one = (await router.post("/v1/tickets", ticket_request(customer={"email": "c@example.com"}))).json()
    two = (await router.post("/v1/tickets", ticket_request(customer={"external_id": "crm:C-1"}))).json()
    await router.post(
        f"/v1/customers/{one['customer_id']}/merge", {"merge_customer_id": two["customer_id"], "reason": "same"}
    )
    three = (await router.post("/v1/tickets", ticket_request(customer={"external_id": "crm:C-1"}))).json()
    assert three["customer_id"] == one["customer_id"]


async def test_identities_of_two_profiles_in_one_ticket_are_reported_as_possible_duplicates(
    router: RouterHarness,
) -> None:
    first = (await router.post("/v1/tickets", ticket_request(customer={"email": "d@example.com"}))).json()
    second = (await router.post("/v1/tickets", ticket_request(customer={"phone": "+15557654321"}))).json()
    both = (
        await router.post("/v1/tickets", ticket_request(customer={"email": "d@example.com", "phone": "+15557654321"}))
    ).json()
    assert both["customer_id"] == first["customer_id"]
    assert both["possible_duplicate_customers"] == [second["customer_id"]]


async def test_a_new_account_owner_receives_a_handoff_briefing(router: RouterHarness) -> None:
    owner = await router.agent(display_name="Owner", status="offline")
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    response = await router.client.put(f"/v1/customers/{ticket['customer_id']}/owner", json={"agent_id": owner["id"]})
    assert response.status_code == 200
    assert response.json()["owner_agent_id"] == owner["id"]
    [changed] = await router.published("firstcall.customer.owner_changed")
    assert changed.data["owner_id"] == owner["id"]
    assert [item["id"] for item in changed.data["open_items"]] == [ticket["id"]]
    assert "1 open item" in changed.data["briefing"]
