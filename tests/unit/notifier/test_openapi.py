"""The notifier's OpenAPI document says what the service answers, with examples on every operation.

Findings of the fuzz run (tests/fuzz) held here one by one: the 409s the routes send are in the document;
a time filter is a date-time with its time zone, never a number read as a Unix time; a deleted subscription
is gone (204, then 404); the event types a subscription takes are the document's enum. The examples are what
client developers copy: each one is checked against the schema it illustrates.
"""

from __future__ import annotations

import uuid
from typing import Any, get_args

import pytest

from services.notifier.subscriptions.schemas import SUBSCRIBABLE_TYPES, SubscribableType
from tests.conftest import wait_until
from tests.notifier_factories import outage
from tests.openapi_documents import api_operations, conforms, examples_of, invalid_examples, resolved
from tests.unit.notifier.conftest import Notifier
from tests.unit.notifier.receivers import webhook_receiver
from tests.unit.notifier.test_problems import problem_of
from tests.unit.notifier.test_subscriptions import subscription
from tests.unit.notifier.test_webhooks import notifications, subscribe

CONFLICT = "https://firstcall.dev/problems/"
# FastAPI drops every null from the document, examples' too (its encoder runs with exclude_none): an answer
# that always carries a null somewhere (a problem, a delivery) can have no whole example until the shared
# post-processor puts them back; their operations show their parameters' and bodies' examples.
ANSWERS_WITH_NULLS = {"ProblemList", "ProblemDetail", "SplitResult", "NotificationList", "NotificationRead"}


async def document_of(notifier: Notifier) -> dict[str, Any]:
    document: dict[str, Any] = (await notifier.client.get("/openapi.json")).json()
    return document


async def an_open_problem(notifier: Notifier) -> str:
    reports = outage(3)
    await notifier.publish(*reports)
    problem_id = await problem_of(notifier, reports[0].ticket_id)
    assert problem_id
    return problem_id


async def test_replaying_a_delivery_that_is_not_dead_is_a_409_its_document_declares(notifier: Notifier) -> None:
    async with webhook_receiver() as receiver:
        await subscribe(notifier, receiver, "problem.detected")
        await notifier.publish(*outage(3))
        [sent] = await wait_until(lambda: notifications(notifier, status="sent", event_type="problem.detected"))
    response = await notifier.client.post(f"/v1/notifications/{sent['id']}/replay")
    assert (response.status_code, response.json()["type"]) == (409, CONFLICT + "not-dead-lettered")
    path = "/v1/notifications/{notification_id}/replay"
    conforms(await document_of(notifier), path, "POST", response, notification_id=sent["id"])


async def test_changing_a_resolved_problem_is_a_409_its_document_declares(notifier: Notifier) -> None:
    problem_id = await an_open_problem(notifier)
    resolved_once = await notifier.client.post(f"/v1/problems/{problem_id}/resolve", json={"resolution": "Fixed"})
    assert resolved_once.status_code == 200
    document = await document_of(notifier)
    for action, body, slug in (
        ("merge", {"problem_id": str(uuid.uuid4())}, "problem-not-active"),
        ("split", {"ticket_ids": [str(uuid.uuid4())]}, "problem-not-active"),
        ("resolve", {"resolution": "Fixed again"}, "problem-not-open"),
    ):
        response = await notifier.client.post(f"/v1/problems/{problem_id}/{action}", json=body)
        assert (response.status_code, response.json()["type"]) == (409, CONFLICT + slug), action
        conforms(document, f"/v1/problems/{{problem_id}}/{action}", "POST", response, problem_id=problem_id)


@pytest.mark.parametrize("field", ["since", "until"])
@pytest.mark.parametrize(
    "value", ["0.5", "0", "-1", "1700000000", "1e9", "2026-11-24", "2026-11-24T08:00Z", "2026-11-24T08:00:00+0100"]
)
async def test_a_time_filter_that_is_not_a_date_time_with_its_zone_is_a_422_naming_it(
    notifier: Notifier, field: str, value: str
) -> None:
    response = await notifier.client.get("/v1/problems", params={field: value})
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [f"query.{field}"]


@pytest.mark.parametrize("value", ["2026-11-24T08:00:00Z", "2026-11-24T09:00:00.250+01:00", "2026-11-24t08:00:00z"])
async def test_a_time_filter_written_as_a_date_time_with_its_zone_is_read(notifier: Notifier, value: str) -> None:
    await an_open_problem(notifier)
    response = await notifier.client.get("/v1/problems", params={"since": "2000-01-01T00:00:00Z", "until": value})
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert len((await notifier.client.get("/v1/problems", params={"since": value})).json()["items"]) == 1


async def test_a_deleted_subscription_answers_204_and_is_gone(notifier: Notifier) -> None:
    created = (await notifier.client.post("/v1/subscriptions", json=subscription())).json()
    path = f"/v1/subscriptions/{created['id']}"

    deleted = await notifier.client.delete(path)

    assert (deleted.status_code, deleted.content) == (204, b"")
    read, again = await notifier.client.get(path), await notifier.client.delete(path)
    assert (read.status_code, again.status_code) == (404, 404)
    assert (await notifier.client.get("/v1/subscriptions")).json()["items"] == []
    [kept] = (await notifier.client.get("/v1/subscriptions", params={"include_inactive": "true"})).json()["items"]
    assert (kept["id"], kept["active"]) == (created["id"], False)
    document = await document_of(notifier)
    conforms(document, "/v1/subscriptions/{subscription_id}", "DELETE", deleted, subscription_id=created["id"])
    conforms(document, "/v1/subscriptions/{subscription_id}", "GET", read, subscription_id=created["id"])


async def test_a_subscription_takes_the_event_types_its_document_lists(notifier: Notifier) -> None:
    document = await document_of(notifier)
    body = resolved(
        document, document["paths"]["/v1/subscriptions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    )
    items = resolved(document, body["properties"]["event_types"]["items"])
    assert items["enum"] == list(get_args(SubscribableType)) == list(SUBSCRIBABLE_TYPES)
    everything = subscription(event_types=items["enum"])
    assert (await notifier.client.post("/v1/subscriptions", json=everything)).status_code == 201


async def test_an_id_in_a_path_that_is_no_uuid_names_nothing(notifier: Notifier) -> None:
    for path in ("/v1/problems/not-a-problem", "/v1/subscriptions/0", "/v1/reports/x/", "/v1/tickets/x/similar"):
        response = await notifier.client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


async def test_every_operation_shows_examples_of_its_body_and_parameters(notifier: Notifier) -> None:
    document = await document_of(notifier)
    missing = []
    for method, path, operation in api_operations(document):
        if not any(_shown(document, operation)):
            missing.append(f"{method} {path}: no example at all")
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            if not examples_of(document, content):
                missing.append(f"{method} {path} request {media_type}")
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            if parameter["in"] == "path" and schema.get("format") == "uuid" and not schema.get("examples"):
                missing.append(f"{method} {path} {parameter['name']}")
        for status, response in operation["responses"].items():
            for content in response.get("content", {}).values():
                name = content["schema"].get("$ref", "").rsplit("/", 1)[-1]
                if status.startswith("2") and name not in ANSWERS_WITH_NULLS and not examples_of(document, content):
                    missing.append(f"{method} {path} {status}")
    assert len(api_operations(document)) >= 19
    assert missing == []


def _shown(document: dict[str, Any], operation: dict[str, Any]) -> list[Any]:
    """Every example an operation shows of its own: of its body, its parameters and its successful answers."""
    contents = list(operation.get("requestBody", {}).get("content", {}).values())
    contents += [
        c for s, r in operation["responses"].items() if s.startswith("2") for c in r.get("content", {}).values()
    ]
    parameters = [p["schema"] for p in operation.get("parameters", [])]
    return [e for c in contents for e in examples_of(document, c)] + [
        e for schema in parameters for s in [schema, *schema.get("anyOf", [])] for e in s.get("examples", [])
    ]


async def test_every_example_is_valid_for_what_it_illustrates(notifier: Notifier) -> None:
    document = await document_of(notifier)
    checked, invalid = invalid_examples(document)
    assert checked >= 40
    assert invalid == []


async def test_the_body_examples_are_accepted_by_the_service(notifier: Notifier) -> None:
    document = await document_of(notifier)
    schemas = document["components"]["schemas"]
    [create] = schemas["SubscriptionCreate"]["examples"]
    assert (await notifier.client.post("/v1/subscriptions", json=create)).status_code == 201
    [template] = schemas["TemplateUpdate"]["examples"]
    assert (await notifier.client.put("/v1/templates/acknowledgement", json=template)).status_code == 200
    problem_id = await an_open_problem(notifier)
    [resolve] = schemas["ResolveRequest"]["examples"]
    response = await notifier.client.post(
        f"/v1/problems/{problem_id}/resolve", json={k: v for k, v in resolve.items() if k != "article_id"}
    )
    assert response.status_code == 200, response.text
