"""/v1/desktop-webhooks: what is accepted and refused (problem+json naming the field), who may manage whose,
pages, and deletion."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.web.pagination import encode_cursor
from tests.conftest import wait_until
from tests.unit.notifier.conftest import Notifier, NotifierFactory
from tests.unit.notifier.desktop_events import agent_key, assigned


def webhook(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "audience": "center",
        "url": "https://desk.example.com/hook",
        "event_types": ["ticket.assigned"],
    }
    return {**body, **overrides}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (webhook(audience="agent"), "body.agent_id"),
        (webhook(audience="team"), "body.team"),
        (webhook(agent_id=str(uuid.uuid4())), "body.agent_id"),
        (webhook(audience="agent", agent_id=str(uuid.uuid4()), team="payments"), "body.team"),
        (webhook(event_types=["problem.detected"]), "body.event_types.0"),
        (webhook(event_types=[]), "body.event_types"),
        (webhook(audience="everyone"), "body.audience"),
        (webhook(url="https://desk.example.com/" + "a" * 2100), "body.url"),
        (webhook(secret="a-secret-we-do-not-take"), "body.secret"),
    ],
)
async def test_a_bad_webhook_is_a_422_naming_the_field(notifier: Notifier, body: dict[str, Any], field: str) -> None:
    response = await notifier.client.post("/v1/desktop-webhooks", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_a_plain_http_receiver_is_refused_outside_development(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(webhook_allow_http=False)
    response = await notifier.client.post("/v1/desktop-webhooks", json=webhook(url="http://desk.example.com/hook"))
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["body.url"]


async def test_an_agents_key_subscribes_and_sees_its_own_agent_only(notifier: Notifier) -> None:
    grace, alan = uuid.uuid4(), uuid.uuid4()
    graces_key, alans_key = await agent_key(notifier, grace), await agent_key(notifier, alan)
    own = await notifier.client.post(
        "/v1/desktop-webhooks", json=webhook(audience="agent", agent_id=str(grace)), headers=graces_key
    )
    other = await notifier.client.post(
        "/v1/desktop-webhooks", json=webhook(audience="agent", agent_id=str(alan)), headers=graces_key
    )
    center = await notifier.client.post("/v1/desktop-webhooks", json=webhook(), headers=graces_key)
    await notifier.client.post("/v1/desktop-webhooks", json=webhook())  # the contact center's, by an admin
    assert (own.status_code, other.status_code, center.status_code) == (201, 403, 403)
    assert other.json()["type"].endswith("/own-agent-only")
    graces = (await notifier.client.get("/v1/desktop-webhooks", headers=graces_key)).json()["items"]
    alans = (await notifier.client.get("/v1/desktop-webhooks", headers=alans_key)).json()["items"]
    everyone = (await notifier.client.get("/v1/desktop-webhooks")).json()["items"]
    assert [w["id"] for w in graces] == [own.json()["id"]]
    assert (alans, len(everyone)) == ([], 2)
    path = f"/v1/desktop-webhooks/{own.json()['id']}"
    assert (await notifier.client.get(path, headers=alans_key)).status_code == 404
    assert (await notifier.client.delete(path, headers=alans_key)).status_code == 404


async def test_a_key_of_no_agent_has_no_desktop_of_its_own(notifier: Notifier) -> None:
    nobody = await agent_key(notifier, None)
    await notifier.client.post("/v1/desktop-webhooks", json=webhook())
    created = await notifier.client.post(
        "/v1/desktop-webhooks", json=webhook(audience="agent", agent_id=str(uuid.uuid4())), headers=nobody
    )
    listed = await notifier.client.get("/v1/desktop-webhooks", headers=nobody)
    assert (created.status_code, listed.json()["items"]) == (403, [])


async def test_the_list_pages_with_a_cursor_in_the_body_and_the_link_header(notifier: Notifier) -> None:
    created = [(await notifier.client.post("/v1/desktop-webhooks", json=webhook())).json()["id"] for _ in range(3)]
    first = await notifier.client.get("/v1/desktop-webhooks", params={"limit": 2})
    cursor = first.json()["next_cursor"]
    second = await notifier.client.get("/v1/desktop-webhooks", params={"limit": 2, "cursor": cursor})
    assert [w["id"] for w in first.json()["items"] + second.json()["items"]] == created
    assert first.headers["link"] == f'</v1/desktop-webhooks?limit=2&cursor={cursor}>; rel="next"'
    assert second.json()["next_cursor"] is None
    assert "link" not in second.headers
    for forged in ("not-a-cursor", encode_cursor("0001-01-01T00:00:00+05:00", str(uuid.uuid4()))):
        bad = await notifier.client.get("/v1/desktop-webhooks", params={"cursor": forged})
        assert [error["field"] for error in bad.json()["errors"]] == ["query.cursor"]


async def test_an_agent_team_or_center_has_at_most_ten_webhooks(notifier: Notifier) -> None:
    answers = [(await notifier.client.post("/v1/desktop-webhooks", json=webhook())).status_code for _ in range(11)]
    other_team = await notifier.client.post("/v1/desktop-webhooks", json=webhook(audience="team", team="payments"))
    assert answers == [201] * 10 + [409]
    assert other_team.status_code == 201


async def test_a_deleted_webhook_is_gone_and_its_queued_deliveries_cancelled(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(delivery_max_attempts=1000)  # the receiver never answers: retried until deleted
    grace = uuid.uuid4()
    body = webhook(audience="agent", agent_id=str(grace), url="http://127.0.0.1:9/hook")
    created = (await notifier.client.post("/v1/desktop-webhooks", json=body)).json()
    await notifier.publish(assigned(grace))
    path = f"/v1/desktop-webhooks/{created['id']}"
    assert (await notifier.client.delete(path)).status_code == 204
    assert (await notifier.client.get(path)).status_code == 404

    async def cancelled() -> list[Any]:
        query = {"subscription_id": created["id"], "status": "cancelled"}
        items: list[Any] = (await notifier.client.get("/v1/notifications", params=query)).json()["items"]
        return items

    assert len(await wait_until(cancelled)) == 1


async def test_ops_subscriptions_and_desktop_webhooks_are_listed_apart(notifier: Notifier) -> None:
    desk = (await notifier.client.post("/v1/desktop-webhooks", json=webhook())).json()
    ops = await notifier.client.get("/v1/subscriptions", params={"include_inactive": "true"})
    assert ops.json()["items"] == []
    assert (await notifier.client.get(f"/v1/subscriptions/{desk['id']}")).status_code == 404
