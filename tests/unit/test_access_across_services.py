"""One API key for the whole system: issued by the router, honoured by knowledge and the notifier."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import wait_until
from tests.unit.conftest import Stack


async def issue(stack: Stack, *scopes: str) -> dict[str, str]:
    response = await stack.router.post("/v1/api-keys", json={"name": "crm", "scopes": list(scopes)})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.json()['key']}"}


async def status_with(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> int:
    return (await client.get(path, headers=headers)).status_code


@pytest.mark.parametrize("service", ["knowledge", "notifier"])
async def test_a_key_issued_by_the_router_works_on_the_other_services(stack: Stack, service: str) -> None:
    headers = await issue(stack, "ops")
    client = stack.clients[service]
    path = "/v1/search?q=card" if service == "knowledge" else "/v1/problems"

    async def accepted() -> bool:
        return await status_with(client, path, headers) == 200

    await wait_until(accepted, timeout=10)


async def test_a_revoked_key_stops_working_on_the_other_services(stack: Stack) -> None:
    headers = await issue(stack, "ops")
    await wait_until(lambda: _is(stack.knowledge, headers, 200), timeout=10)
    key_id = (await stack.router.get("/v1/api-keys")).json()[-1]["key_id"]
    assert (await stack.router.delete(f"/v1/api-keys/{key_id}")).status_code == 204
    await stack.runtimes["router"].relay.flush(timeout=5)
    await stack.bus.wait_idle()
    stack.runtimes["knowledge"].authenticator.forget()  # skip the 30 s cache the test need not wait out
    await wait_until(lambda: _is(stack.knowledge, headers, 401), timeout=10)


async def _is(client: httpx.AsyncClient, headers: dict[str, str], expected: int) -> bool:
    return await status_with(client, "/v1/search?q=card", headers) == expected


async def test_knowledge_writes_need_a_supervisor(stack: Stack) -> None:
    reader = await issue(stack, "contact-center")
    await wait_until(lambda: _is(stack.knowledge, reader, 200), timeout=10)
    response = await stack.knowledge.post(
        "/v1/articles", json={"title": "t", "body": "b", "locale": "en"}, headers=reader
    )
    assert response.status_code == 403
    assert (await stack.knowledge.get("/v1/search?q=card", headers={"Authorization": "Bearer nope"})).status_code == 401
