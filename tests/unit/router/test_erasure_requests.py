"""DELETE /v1/customers/{id}: who may ask, what the reason must be, and what asking twice answers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness

REASON = {"reason": "GDPR art. 17 request, ref. DPO-114"}


async def customer(router: RouterHarness, **caller: Any) -> str:
    who = caller or {"email": "grace@example.com", "phone": "+44 20 7946 0958", "name": "Grace Brewster"}
    response = await router.post("/v1/tickets", ticket_request(customer=who))
    assert response.status_code == 201, response.text
    return str(response.json()["customer_id"])


async def erase(router: RouterHarness, customer_id: str, **kwargs: Any) -> httpx.Response:
    return await router.client.request("DELETE", f"/v1/customers/{customer_id}", **kwargs)


async def test_a_supervisor_erasure_is_accepted_with_its_audit_record_and_one_event(router: RouterHarness) -> None:
    customer_id = await customer(router)
    response = await erase(router, customer_id, json=REASON, headers=await router.key("supervisor"))
    assert response.status_code == 202, response.text
    record = response.json()
    assert response.headers["location"] == f"/v1/erasures/{record['id']}"
    assert (record["status"], record["reason"]) == ("pending", REASON["reason"])
    assert customer_id not in response.text, "the audit names the customer by a digest only"
    [erased] = await router.published("firstcall.customer.erased")
    assert (erased.subject, erased.data["erasure_id"]) == (customer_id, record["id"])
    await router.bus.wait_idle()
    done = (await router.client.get(f"/v1/erasures/{record['id']}")).json()
    assert done["status"] == "completed"


async def test_asking_again_answers_the_first_record_and_publishes_nothing_more(router: RouterHarness) -> None:
    customer_id = await customer(router)
    first = await erase(router, customer_id, params=REASON)
    again = await erase(router, customer_id, json={"reason": "second request, ref. DPO-115"})
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert len(await router.published("firstcall.customer.erased")) == 1


async def test_a_retry_with_the_same_idempotency_key_is_replayed(router: RouterHarness) -> None:
    customer_id = await customer(router)
    headers = {"Idempotency-Key": "erase-1"}
    first = await erase(router, customer_id, json=REASON, headers=headers)
    second = await erase(router, customer_id, json=REASON, headers=headers)
    assert (first.status_code, second.status_code) == (202, 202)
    assert second.headers["idempotent-replayed"] == "true"


async def test_an_agent_or_contact_center_key_may_not_erase(router: RouterHarness) -> None:
    customer_id = await customer(router)
    for scope in ("agent", "contact-center", "ops"):
        response = await erase(router, customer_id, json=REASON, headers=await router.key(scope))
        assert response.status_code == 403, (scope, response.text)
    assert await router.published("firstcall.customer.erased") == []


async def test_the_reason_is_required_bounded_and_given_once(router: RouterHarness) -> None:
    customer_id = await customer(router)
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "query.reason"),
        ({"json": {"reason": "x" * 501}}, "body.reason"),
        ({"params": {"reason": "no"}}, "query.reason"),
        ({"json": REASON, "params": REASON}, "query.reason"),
        ({"json": {"reason": "asked", "extra": 1}}, "body.extra"),
    ]
    for kwargs, field in cases:
        response = await erase(router, customer_id, **kwargs)
        assert response.status_code == 422, (kwargs, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [error["field"] for error in response.json()["errors"]], (kwargs, response.json())


async def test_a_reason_naming_the_customer_is_refused_so_the_audit_holds_no_personal_data(
    router: RouterHarness,
) -> None:
    customer_id = await customer(router)
    for reason in ("asked by GRACE@example.com", "letter from Grace Brewster", "call +442079460958"):
        response = await erase(router, customer_id, json={"reason": reason})
        assert response.status_code == 422, (reason, response.text)
        assert response.json()["errors"][0]["field"] == "body.reason"


async def test_an_unknown_customer_is_a_404_and_a_merged_profile_a_409(router: RouterHarness) -> None:
    assert (await erase(router, str(uuid.uuid4()), json=REASON)).status_code == 404
    survivor = await customer(router, email="one@example.com")
    merged = await customer(router, email="two@example.com")
    merging = await router.post(f"/v1/customers/{survivor}/merge", {"merge_customer_id": merged, "reason": "same"})
    assert merging.status_code == 200, merging.text
    response = await erase(router, merged, json=REASON)
    assert response.status_code == 409
    assert response.json()["type"].endswith("/merged-customer")
