"""An erased customer's profile answers 410 Gone, naming the erasure, and a merge into it cannot be undone."""

from __future__ import annotations

from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness

REASON = {"reason": "GDPR art. 17 request, ref. DPO-114"}


async def _customer(router: RouterHarness, **identity: str) -> str:
    response = await router.post("/v1/tickets", ticket_request(customer=identity))
    assert response.status_code == 201, response.text
    return str(response.json()["customer_id"])


async def _erase(router: RouterHarness, customer_id: str) -> str:
    response = await router.client.request("DELETE", f"/v1/customers/{customer_id}", json=REASON)
    assert response.status_code == 202, response.text
    await router.bus.wait_idle()
    return str(response.json()["id"])


async def test_an_erased_customer_is_gone_with_the_erasure_record_named(router: RouterHarness) -> None:
    customer_id = await _customer(router, email="grace@example.com", name="Grace Brewster")
    erasure_id = await _erase(router, customer_id)
    response = await router.client.get(f"/v1/customers/{customer_id}")
    assert response.status_code == 410, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/customer-erased")
    assert problem["erasure_id"] == erasure_id
    assert "grace" not in response.text.lower()


async def test_a_customer_not_erased_is_still_read(router: RouterHarness) -> None:
    customer_id = await _customer(router, email="ada@example.com")
    response = await router.client.get(f"/v1/customers/{customer_id}")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == customer_id


async def test_a_merge_into_an_erased_customer_cannot_be_undone(router: RouterHarness) -> None:
    survivor = await _customer(router, email="ada@example.com")
    merged = await _customer(router, phone="+15551234567")
    merge = await router.post(f"/v1/customers/{survivor}/merge", {"merge_customer_id": merged, "reason": "same"})
    assert merge.status_code == 200, merge.text
    erasure_id = await _erase(router, survivor)
    response = await router.post(
        f"/v1/customers/{survivor}/unmerge", {"merged_customer_id": merged, "reason": "two people"}
    )
    assert response.status_code == 409, response.text
    problem = response.json()
    assert (problem["type"].rsplit("/", 1)[-1], problem["rule"]) == ("unmerge-refused", "customer-erased")
    assert erasure_id in problem["detail"]
