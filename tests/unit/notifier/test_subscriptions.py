"""Subscriptions: what is accepted, what is refused (problem+json naming the field), and idempotency."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.unit.notifier.conftest import Notifier, NotifierFactory


def subscription(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "url": "https://ops.example.com/hooks/firstcall",
        "event_types": ["problem.detected", "problem.escalated"],
        "secret": "a-long-random-shared-secret",
        "team": "payments",
    }
    body.update(overrides)
    return body


async def test_a_subscription_is_created_and_its_secret_never_shown(notifier: Notifier) -> None:
    response = await notifier.client.post("/v1/subscriptions", json=subscription())
    assert response.status_code == 201
    created = response.json()
    assert "secret" not in created
    assert response.headers["location"] == f"/v1/subscriptions/{created['id']}"
    listed = (await notifier.client.get("/v1/subscriptions")).json()["items"]
    assert [s["id"] for s in listed] == [created["id"]]


async def test_a_retry_with_the_same_idempotency_key_creates_one_subscription(notifier: Notifier) -> None:
    headers = {"Idempotency-Key": "sub-1"}
    first = await notifier.client.post("/v1/subscriptions", json=subscription(), headers=headers)
    second = await notifier.client.post("/v1/subscriptions", json=subscription(), headers=headers)
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert len((await notifier.client.get("/v1/subscriptions")).json()["items"]) == 1


async def test_an_idempotency_key_is_per_caller_so_another_key_never_gets_its_answer(notifier: Notifier) -> None:
    alice, bob = await notifier.api_key("ops"), await notifier.api_key("ops")
    body = subscription()
    first = await notifier.client.post("/v1/subscriptions", json=body, headers={**alice, "Idempotency-Key": "k"})
    other = await notifier.client.post("/v1/subscriptions", json=body, headers={**bob, "Idempotency-Key": "k"})
    assert (first.status_code, other.status_code) == (201, 201)
    assert "idempotent-replayed" not in other.headers
    assert other.json()["id"] != first.json()["id"]
    again = await notifier.client.post("/v1/subscriptions", json=body, headers={**bob, "Idempotency-Key": "k"})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == other.json()["id"]


async def test_a_plain_http_url_is_refused_outside_development(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(webhook_allow_http=False)
    response = await notifier.client.post("/v1/subscriptions", json=subscription(url="http://ops.example.com/hook"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "body.url"


async def test_a_plain_http_url_is_accepted_in_development(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(webhook_allow_http=False, environment="development")
    response = await notifier.client.post("/v1/subscriptions", json=subscription(url="http://127.0.0.1:9/hook"))
    assert response.status_code == 201


async def test_something_that_is_not_a_url_is_refused_naming_the_field(notifier: Notifier) -> None:
    response = await notifier.client.post("/v1/subscriptions", json=subscription(url="ops team inbox"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.url"


async def test_an_unknown_event_type_is_refused_naming_its_position(notifier: Notifier) -> None:
    response = await notifier.client.post(
        "/v1/subscriptions", json=subscription(event_types=["problem.detected", "problem.exploded"])
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["field"], error["type"]) == ("body.event_types.1", "literal_error")
    assert "'problem.detected'" in error["message"], "the answer lists the types there are"


@pytest.mark.parametrize(
    ("overrides", "field", "error_type"),
    [
        ({"products": ["cards", "p" * 101]}, "body.products.1", "string_too_long"),
        ({"url": "https://ops.example.com/" + "x" * 2083}, "body.url", "url_too_long"),
    ],
)
async def test_text_beyond_its_documented_length_is_refused_naming_it(
    notifier: Notifier, overrides: dict[str, Any], field: str, error_type: str
) -> None:
    response = await notifier.client.post("/v1/subscriptions", json=subscription(**overrides))
    assert response.status_code == 422
    assert [(error["field"], error["type"]) for error in response.json()["errors"]] == [(field, error_type)]
    assert (await notifier.client.get("/v1/subscriptions")).json()["items"] == []


async def test_a_short_secret_is_refused(notifier: Notifier) -> None:
    response = await notifier.client.post("/v1/subscriptions", json=subscription(secret="short"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.secret"


async def test_an_unknown_subscription_is_a_404_problem(notifier: Notifier) -> None:
    for response in (
        await notifier.client.get(f"/v1/subscriptions/{uuid.uuid4()}"),
        await notifier.client.delete(f"/v1/subscriptions/{uuid.uuid4()}"),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


async def test_a_deleted_subscription_is_no_longer_listed(notifier: Notifier) -> None:
    created = (await notifier.client.post("/v1/subscriptions", json=subscription())).json()
    assert (await notifier.client.delete(f"/v1/subscriptions/{created['id']}")).status_code == 204
    assert (await notifier.client.get("/v1/subscriptions")).json()["items"] == []


async def test_calls_without_an_api_key_are_refused(notifier: Notifier) -> None:
    response = await notifier.client.get("/v1/problems", headers={"Authorization": ""})
    assert response.status_code == 401
