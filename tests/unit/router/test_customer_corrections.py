"""Correcting profiles by hand: identities linked and removed, and merges undone within their window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.router.api.deps import utcnow
from tests.factories import order_request, ticket_request
from tests.unit.router.conftest import RouterHarness


async def _customer_of(router: RouterHarness, **customer: str) -> dict[str, Any]:
    ticket = (await router.post("/v1/tickets", ticket_request(customer=customer))).json()
    return {"id": ticket["customer_id"], "ticket_id": ticket["id"]}


async def test_a_customer_created_directly_is_found_by_its_identities_and_a_ticket_lands_on_it(
    router: RouterHarness,
) -> None:
    body = {"email": "Ada@Example.com", "phone": "+44 20 7946 0958", "name": "Ada Lovelace"}
    created = await router.post("/v1/customers", body, **{"Idempotency-Key": "create-1"})
    assert created.status_code == 201, created.text
    customer = created.json()
    assert created.headers["Location"] == f"/v1/customers/{customer['id']}"
    assert created.headers["ETag"] == (await router.client.get(f"/v1/customers/{customer['id']}")).headers["ETag"]
    assert {(i["kind"], i["value"]) for i in customer["identities"]} == {
        ("email", "ada@example.com"),
        ("phone", "+442079460958"),
    }
    replay = await router.post("/v1/customers", body, **{"Idempotency-Key": "create-1"})
    assert replay.json()["id"] == customer["id"]
    [registered] = await router.published("firstcall.customer.registered")
    assert registered.data["display_name"] == "Ada Lovelace"
    ticket = (await router.post("/v1/tickets", ticket_request(customer={"phone": "+442079460958"}))).json()
    assert ticket["customer_id"] == customer["id"]
    history = (await router.client.get(f"/v1/customers/{customer['id']}/history")).json()["items"]
    assert "customer.created" in {h["kind"] for h in history}


async def test_creating_a_customer_with_someone_elses_identity_is_a_409_naming_them(router: RouterHarness) -> None:
    bob = await _customer_of(router, phone="+15551234567")
    response = await router.post("/v1/customers", {"email": "new@example.com", "phone": "+1 555 123 4567"})
    assert response.status_code == 409
    assert (response.json()["rule"], response.json()["customer_id"]) == (
        "identity-belongs-to-another-customer",
        bob["id"],
    )
    assert (await router.client.get("/v1/customers", params={"email": "new@example.com"})).status_code == 404
    refused = await router.post("/v1/customers", {"name": "Nobody"})
    assert refused.status_code == 422


async def test_an_identity_is_linked_once_audited_announced_and_finds_the_customer(router: RouterHarness) -> None:
    ada = await _customer_of(router, email="ada@example.com")
    path = f"/v1/customers/{ada['id']}/identities"
    body = {"kind": "phone", "value": "+44 20 7946 0958", "reason": "confirmed on the call"}
    first = await router.post(path, body, **{"Idempotency-Key": "link-1"})
    assert first.status_code == 201, first.text
    assert {(i["kind"], i["value"]) for i in first.json()["identities"]} == {
        ("email", "ada@example.com"),
        ("phone", "+442079460958"),
    }
    assert first.headers["ETag"] == (await router.client.get(f"/v1/customers/{ada['id']}")).headers["ETag"]
    replay = await router.post(path, body, **{"Idempotency-Key": "link-1"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    already = await router.post(path, body)
    assert already.status_code == 200
    found = await router.client.get("/v1/customers", params={"phone": "+442079460958"})
    assert found.json()["id"] == ada["id"]
    [linked] = await router.published("firstcall.customer.identity_linked")
    assert linked.data["identity"] == {"kind": "phone", "value": "+442079460958"}
    history = (await router.client.get(f"/v1/customers/{ada['id']}/history")).json()["items"]
    assert any(h["kind"] == "identity.linked" and "confirmed on the call" in h["summary"] for h in history)


async def test_an_identity_of_another_customer_is_a_409_that_names_them_and_suggests_a_merge(
    router: RouterHarness,
) -> None:
    ada = await _customer_of(router, email="ada@example.com")
    bob = await _customer_of(router, phone="+15551234567")
    response = await router.post(f"/v1/customers/{ada['id']}/identities", {"kind": "phone", "value": "+15551234567"})
    assert response.status_code == 409
    problem = response.json()
    assert problem["rule"] == "identity-belongs-to-another-customer"
    assert problem["customer_id"] == bob["id"]
    assert "merge" in problem["detail"]


async def test_an_identity_that_cannot_be_normalised_is_a_422_naming_the_value(router: RouterHarness) -> None:
    ada = await _customer_of(router, email="ada@example.com")
    response = await router.post(f"/v1/customers/{ada['id']}/identities", {"kind": "email", "value": "not-an-email"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.value"


async def test_a_wrong_phone_is_removed_by_its_value_in_the_path_and_no_longer_finds_the_customer(
    router: RouterHarness,
) -> None:
    ada = await _customer_of(router, email="ada@example.com", phone="+44 20 7946 0958")
    tag = (await router.client.get(f"/v1/customers/{ada['id']}")).headers["ETag"]
    response = await router.client.delete(
        f"/v1/customers/{ada['id']}/identities/phone/+442079460958",
        params={"reason": "belongs to her neighbour"},
        headers={"If-Match": tag},
    )
    assert response.status_code == 200, response.text
    assert [i["kind"] for i in response.json()["identities"]] == ["email"]
    assert response.headers["ETag"] != tag
    assert (await router.client.get("/v1/customers", params={"phone": "+442079460958"})).status_code == 404
    [removed] = await router.published("firstcall.customer.identity_removed")
    assert removed.data["identity"] == {"kind": "phone", "value": "+442079460958"}
    assert removed.data["reason"] == "belongs to her neighbour"
    history = (await router.client.get(f"/v1/customers/{ada['id']}/history")).json()["items"]
    assert any(h["kind"] == "identity.removed" for h in history)
    gone = await router.client.delete(f"/v1/customers/{ada['id']}/identities/phone/%2B442079460958")
    assert gone.status_code == 404


async def test_an_identity_is_removed_by_its_id_the_last_stays_and_a_stale_etag_changes_nothing(
    router: RouterHarness,
) -> None:
    ada = await _customer_of(router, email="ada@example.com", external_id="crm:A/1")
    read = await router.client.get(f"/v1/customers/{ada['id']}")
    stale = read.headers["ETag"]
    [external] = [i["id"] for i in read.json()["identities"] if i["kind"] == "external_id"]
    removed = await router.client.delete(f"/v1/customers/{ada['id']}/identities/{external}")
    assert removed.status_code == 200, removed.text
    refused = await router.client.delete(f"/v1/customers/{ada['id']}/identities/email/ada@example.com")
    assert refused.status_code == 409
    assert refused.json()["rule"] == "last-identity"
    stale_link = await router.post(
        f"/v1/customers/{ada['id']}/identities", {"kind": "phone", "value": "+15551234567"}, **{"If-Match": stale}
    )
    assert stale_link.status_code == 412
    assert len((await router.client.get(f"/v1/customers/{ada['id']}")).json()["identities"]) == 1


async def _merged_pair(router: RouterHarness) -> tuple[dict[str, Any], dict[str, Any]]:
    ada = await _customer_of(router, email="ada@example.com")
    other = await _customer_of(router, phone="+15551234567")
    order = await router.post("/v1/orders", order_request(customer={"phone": "+15551234567"}))
    other["order_id"] = order.json()["id"]
    merged = await router.post(f"/v1/customers/{ada['id']}/merge", {"merge_customer_id": other["id"], "reason": "x"})
    assert merged.status_code == 200, merged.text
    return ada, other


async def test_an_unmerge_gives_each_profile_back_its_identities_tickets_orders_and_history(
    router: RouterHarness,
) -> None:
    agent = await router.agent()
    ada, other = await _merged_pair(router)
    note = await router.post(
        f"/v1/tickets/{other['ticket_id']}/notes",
        {"body": "called back after the merge", "public": False, "agent_id": agent["id"]},
    )
    assert note.status_code == 201, note.text
    later = await router.post("/v1/tickets", ticket_request(customer={"email": "ada@example.com"}))
    response = await router.post(
        f"/v1/customers/{ada['id']}/unmerge",
        {"merged_customer_id": other["id"], "reason": "two people"},
        **{"Idempotency-Key": "unmerge-1"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert [i["value"] for i in result["survivor"]["identities"]] == ["ada@example.com"]
    assert [i["value"] for i in result["restored"]["identities"]] == ["+15551234567"]
    assert result["restored"]["merged_into_id"] is None
    assert result["moved_back"]["tickets"] == 1
    assert result["moved_back"]["orders"] == 1
    assert (await router.client.get(f"/v1/tickets/{other['ticket_id']}")).json()["customer_id"] == other["id"]
    assert (await router.client.get(f"/v1/tickets/{later.json()['id']}")).json()["customer_id"] == ada["id"]
    kinds = {h["kind"] for h in (await router.client.get(f"/v1/customers/{other['id']}/history")).json()["items"]}
    assert {"ticket.opened", "order.recorded", "note", "customer.unmerged"} <= kinds
    found = await router.client.get("/v1/customers", params={"phone": "+15551234567"})
    assert found.json()["id"] == other["id"]
    [event] = await router.published("firstcall.customer.unmerged")
    assert event.data["restored_customer_id"] == other["id"]
    [merged] = await router.published("firstcall.customer.merged")
    assert event.data["merge_id"] == merged.data["merge_id"]
    replay = await router.post(
        f"/v1/customers/{ada['id']}/unmerge",
        {"merged_customer_id": other["id"], "reason": "two people"},
        **{"Idempotency-Key": "unmerge-1"},
    )
    assert replay.headers["Idempotent-Replayed"] == "true"
    again = await router.post(
        f"/v1/customers/{ada['id']}/unmerge", {"merged_customer_id": other["id"], "reason": "two people"}
    )
    assert again.status_code == 409
    assert again.json()["rule"] == "not-merged"


async def test_an_unmerge_after_the_window_is_a_409_naming_the_rule(router: RouterHarness) -> None:
    ada, other = await _merged_pair(router)
    app = router.client._transport.app  # type: ignore[attr-defined]
    app.dependency_overrides[utcnow] = lambda: datetime.now(UTC) + timedelta(hours=73)
    try:
        response = await router.post(
            f"/v1/customers/{ada['id']}/unmerge", {"merged_customer_id": other["id"], "reason": "too late"}
        )
    finally:
        app.dependency_overrides.clear()
    assert response.status_code == 409
    assert response.json()["rule"] == "unmerge-window-passed"
    assert (await router.client.get(f"/v1/customers/{other['id']}")).json()["merged_into_id"] == ada["id"]


async def test_an_unmerge_is_refused_when_the_survivor_was_merged_away_since(router: RouterHarness) -> None:
    ada, other = await _merged_pair(router)
    third = await _customer_of(router, external_id="crm:Z-9")
    await router.post(f"/v1/customers/{third['id']}/merge", {"merge_customer_id": ada["id"], "reason": "y"})
    response = await router.post(
        f"/v1/customers/{ada['id']}/unmerge", {"merged_customer_id": other["id"], "reason": "z"}
    )
    assert response.status_code == 409
    assert response.json()["rule"] == "survivor-merged-since"


async def test_a_credit_joining_the_two_profiles_since_the_merge_makes_the_unmerge_unsafe(
    router: RouterHarness,
) -> None:
    agent = await router.agent()
    ada, other = await _merged_pair(router)
    credit = await router.post(
        f"/v1/tickets/{ada['ticket_id']}/resolutions",
        {
            "type": "credit",
            "order_id": other["order_id"],
            "amount": "5.00",
            "currency": "EUR",
            "reason": "late",
            "agent_id": agent["id"],
        },
    )
    assert credit.status_code in (201, 202), credit.text
    response = await router.post(
        f"/v1/customers/{ada['id']}/unmerge", {"merged_customer_id": other["id"], "reason": "z"}
    )
    assert response.status_code == 409
    assert response.json()["rule"] == "resolution-spans-profiles"


async def test_an_unmerge_with_a_stale_survivor_etag_is_a_412_and_undoes_nothing(router: RouterHarness) -> None:
    ada, other = await _merged_pair(router)
    stale = (await router.client.get(f"/v1/customers/{ada['id']}")).headers["ETag"]
    await router.client.put(f"/v1/customers/{ada['id']}/owner", json={"agent_id": (await router.agent())["id"]})
    response = await router.post(
        f"/v1/customers/{ada['id']}/unmerge", {"merged_customer_id": other["id"], "reason": "z"}, **{"If-Match": stale}
    )
    assert response.status_code == 412
    assert (await router.client.get(f"/v1/customers/{other['id']}")).json()["merged_into_id"] == ada["id"]
