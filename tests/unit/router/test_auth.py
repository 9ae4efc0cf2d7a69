"""API keys: scopes checked on every endpoint, stored hashed, rate limited, revocable."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import select, text

from shared.messaging.tables import api_keys
from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness


async def test_a_request_without_a_key_is_a_401_problem(router: RouterHarness) -> None:
    async with httpx.AsyncClient(transport=router.client._transport, base_url="http://router") as anonymous:
        response = await anonymous.get("/v1/agents")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_an_unknown_key_is_refused(router: RouterHarness) -> None:
    response = await router.client.get("/v1/agents", headers={"Authorization": "Bearer fck_nothere_xyz"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("scope", "method", "path", "allowed"),
    [
        ("contact-center", "POST", "/v1/tickets", True),
        ("contact-center", "POST", "/v1/agents", False),
        ("contact-center", "GET", "/v1/stats", False),
        ("ops", "GET", "/v1/stats", True),
        ("ops", "POST", "/v1/tickets", False),
        ("agent", "POST", "/v1/api-keys", False),
        ("supervisor", "GET", "/v1/approvals", True),
        ("agent", "GET", "/v1/approvals", False),
    ],
)
async def test_each_endpoint_admits_only_its_scopes(
    router: RouterHarness, scope: str, method: str, path: str, allowed: bool
) -> None:
    headers = await router.key(scope)
    body = ticket_request() if path == "/v1/tickets" else {}
    response = await router.client.request(method, path, json=body, headers=headers)
    if allowed:
        assert response.status_code not in (401, 403), response.text
    else:
        assert response.status_code == 403
        assert response.json()["type"].endswith("/forbidden")


async def test_keys_are_stored_only_as_a_keyed_hash(router: RouterHarness) -> None:
    headers = await router.key("ops")
    key = headers["Authorization"].removeprefix("Bearer ")
    async with router.runtime.database.session() as session:
        stored = (await session.execute(select(api_keys))).all()
    assert all(key not in str(tuple(row)) for row in stored)
    assert (await router.client.get("/v1/stats", headers=headers)).status_code == 200
    assert (await router.client.get("/v1/stats", headers={"X-API-Key": key})).status_code == 200


async def test_a_revoked_key_stops_working(router: RouterHarness) -> None:
    headers = await router.key("ops")
    [listed] = [k for k in (await router.client.get("/v1/api-keys")).json()["items"] if k["revoked_at"] is None]
    assert "key" not in listed
    assert (await router.client.delete(f"/v1/api-keys/{listed['key_id']}")).status_code == 204
    assert (await router.client.get("/v1/stats", headers=headers)).status_code == 401
    revoked = await router.published("firstcall.access.api_key_revoked")
    assert [e.subject for e in revoked] == [listed["key_id"]]


async def test_a_key_over_its_rate_limit_gets_429_with_retry_after(router: RouterHarness) -> None:
    headers = await router.key("ops", rate=3)
    codes = [(await router.client.get("/v1/stats", headers=headers)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = await router.client.get("/v1/stats", headers=headers)
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.headers["ratelimit"].startswith('"per-key";r=0;')


async def test_answers_tell_the_client_its_limit_and_what_is_left(router: RouterHarness) -> None:
    headers = await router.key("ops", rate=5)
    response = await router.client.get("/v1/stats", headers=headers)
    assert response.headers["ratelimit-policy"] == '"per-key";q=5;w=60'
    assert response.headers["ratelimit"].startswith('"per-key";r=4;t=')


async def test_issuing_a_key_announces_only_its_hash(router: RouterHarness) -> None:
    headers = await router.key("contact-center")
    [issued] = await router.published("firstcall.access.api_key_issued")
    assert len(issued.data["key_hash"]) == 64
    assert headers["Authorization"].removeprefix("Bearer ") not in str(issued.data)


async def test_health_probes_need_no_key(router: RouterHarness) -> None:
    async with httpx.AsyncClient(transport=router.client._transport, base_url="http://router") as anonymous:
        assert (await anonymous.get("/healthz")).status_code == 200
        assert (await anonymous.get("/readyz")).status_code == 200
        assert (await anonymous.get("/metrics")).status_code == 200


async def test_a_replayed_answer_also_tells_the_client_its_limit(router: RouterHarness) -> None:
    headers = {**await router.key("contact-center", rate=5), "Idempotency-Key": "replay-limit-headers"}
    body = ticket_request()
    first = await router.client.post("/v1/tickets", json=body, headers=headers)

    replay = await router.client.post("/v1/tickets", json=body, headers=headers)

    assert replay.json() == first.json()
    assert replay.headers["ratelimit-policy"] == '"per-key";q=5;w=60'
    assert replay.headers["ratelimit"].startswith('"per-key";r=3;t=')
    assert len(replay.headers.get_list("ratelimit")) == 1


async def _every_stored_value(router: RouterHarness) -> str:
    """Every row of every table of the router's database, as text."""
    async with router.runtime.database.session() as session:
        names = (await session.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))).scalars().all()
        rows = [str(tuple(row)) for name in names for row in (await session.execute(text(f'SELECT * FROM "{name}"')))]
    return "\n".join(rows)


async def test_a_new_keys_plaintext_rests_in_no_table_and_no_log(
    router: RouterHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await router.client.post(
        "/v1/api-keys", json={"name": "crm", "scopes": ["ops"]}, headers={"Idempotency-Key": "issue-crm-key"}
    )
    assert response.status_code == 201, response.text
    key = response.json()["key"]
    await router.published("firstcall.access.api_key_issued")
    stored = await _every_stored_value(router)
    assert response.json()["key_id"] in stored
    assert key not in stored
    assert key.rsplit("_", 1)[-1] not in stored
    assert key not in caplog.text


async def test_a_retried_key_creation_is_a_409_naming_the_key_never_the_key_nor_a_second_key(
    router: RouterHarness,
) -> None:
    body, headers = {"name": "crm", "scopes": ["ops"]}, {"Idempotency-Key": "issue-once"}
    first = await router.client.post("/v1/api-keys", json=body, headers=headers)
    assert first.status_code == 201
    retry = await router.client.post("/v1/api-keys", json=body, headers=headers)
    assert retry.status_code == 409
    assert retry.headers["content-type"] == "application/problem+json"
    assert retry.json()["type"].endswith("/api-key-already-issued")
    assert retry.json()["key_id"] == first.json()["key_id"]
    assert first.json()["key"] not in retry.text
    assert [k["key_id"] for k in (await router.client.get("/v1/api-keys")).json()["items"]] == [first.json()["key_id"]]
    assert (await router.client.get("/v1/stats", headers={"X-API-Key": first.json()["key"]})).status_code == 200


async def test_a_key_cannot_be_issued_for_an_agent_who_does_not_exist(router: RouterHarness) -> None:
    body = {"name": "ghost", "scopes": ["agent"], "agent_id": "00000000-0000-4000-8000-000000000000"}
    response = await router.post("/v1/api-keys", body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.agent_id"
    assert (await router.client.get("/v1/api-keys")).json()["items"] == []
