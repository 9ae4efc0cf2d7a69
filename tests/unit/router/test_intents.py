"""Teaching the classifier through the API, and tickets arriving with their intent and its needs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.router.classification import service as intent_service
from tests.conftest import wait_until
from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness

EXAMPLES = {
    "card_arrival": [
        "my new card has not arrived yet",
        "when will my card be delivered",
        "still waiting for the card you sent",
        "card delivery is taking too long",
    ],
    "declined_card_payment": [
        "my card payment was declined",
        "the shop refused my card",
        "why was my card rejected at checkout",
        "payment with card did not go through",
    ],
    "refund_request": [
        "I want my money back for this order",
        "please refund my purchase",
        "how do I get a refund",
        "return the money for the broken item",
    ],
}


async def trained(router: RouterHarness) -> dict[str, Any]:
    examples = [{"text": text, "intent": intent} for intent, texts in EXAMPLES.items() for text in texts]
    added = await router.post("/v1/intents/examples", {"examples": examples})
    assert added.status_code == 201
    assert added.json()["intents"] == dict.fromkeys(EXAMPLES, 4)
    started = await router.post("/v1/intents/train", {})
    assert started.status_code == 202
    assert started.headers["location"].startswith("/v1/intents/models/")

    async def ready() -> dict[str, Any] | None:
        model: dict[str, Any] = (await router.client.get(started.headers["location"])).json()
        return model if model["status"] != "training" else None

    model = await wait_until(ready, timeout=60, every=0.2)
    assert model["status"] == "ready", model
    return model


async def test_a_trained_model_classifies_paraphrases_and_tickets_get_their_intents_needs(
    router: RouterHarness,
) -> None:
    model = await trained(router)
    assert model["example_count"] == 12
    classified = (await router.post("/v1/classify", {"text": "the card I ordered never came"})).json()
    assert classified["alternatives"][0]["intent"] == "card_arrival"
    assert classified["model_id"] == model["id"]
    profile = await router.client.put(
        "/v1/intents/refund_request/profile",
        json={"required_skills": {"refunds": 2}, "likely_resolution": "refund", "priority": "high"},
    )
    assert profile.status_code == 200
    ticket = (
        await router.post("/v1/tickets", ticket_request(subject="refund please", description="I want my money back"))
    ).json()
    assert ticket["intent"] == "refund_request"
    assert ticket["priority"] == "high"  # raised by the intent's profile
    routing = (await router.client.get(f"/v1/tickets/{ticket['id']}/routing")).json()
    assert routing["required_skills"] == {"refunds": 2}
    assert routing["likely_resolution"] == "refund"
    intents = {i["intent"]: i for i in (await router.client.get("/v1/intents")).json()["items"]}
    assert intents["refund_request"]["profile"]["likely_resolution"] == "refund"


async def test_without_a_model_every_ticket_is_unknown(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    assert ticket["intent"] is None
    classified = (await router.post("/v1/classify", {"text": "anything"})).json()
    assert (classified["intent"], classified["model_id"]) == (None, None)


async def test_training_needs_two_intents(router: RouterHarness) -> None:
    await router.post("/v1/intents/examples", {"examples": [{"text": "hello", "intent": "greeting"}]})
    response = await router.post("/v1/intents/train", {})
    assert response.status_code == 409
    assert response.json()["type"].endswith("/not-enough-examples")


async def test_bad_examples_are_refused_naming_the_field(router: RouterHarness) -> None:
    response = await router.post("/v1/intents/examples", {"examples": [{"text": "  ", "intent": "has space"}]})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"body.examples.0.text", "body.examples.0.intent"} <= fields


async def test_a_bulk_body_wrong_everywhere_gets_a_short_answer_that_counts_the_faults(router: RouterHarness) -> None:
    examples = [{"text": f"example {n}", "intent": "not valid?"} for n in range(500)]
    response = await router.post("/v1/intents/examples", {"examples": examples})
    assert response.status_code == 422
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == [f"body.examples.{n}.intent" for n in range(100)]
    assert problem["errors_total"] == 500
    assert problem["detail"].endswith("; and 495 more")


async def test_profiles_are_read_once_per_refresh_and_a_change_here_is_seen_at_once(router: RouterHarness) -> None:
    profiles = router.components.profiles
    database = router.runtime.database
    await router.client.put("/v1/intents/card_arrival/profile", json={"required_skills": {"cards": 1}})
    async with database.session() as session:
        first = await profiles.get(session, "card_arrival")
        assert first is not None
        assert first.required_skills == {"cards": 1}
        # Changed behind its back, as another replica would: the view holds until its refresh.
        await intent_service.set_profile(
            session=session,
            intent="card_arrival",
            required_skills={"cards": 3},
            likely_resolution=None,
            priority=None,
            now=datetime.now(UTC),
        )
        await session.commit()
        assert await profiles.get(session, "card_arrival") == first
        profiles.refresh_seconds = 0.0
        changed = await profiles.get(session, "card_arrival")
        assert changed is not None
        assert changed.required_skills == {"cards": 3}
        assert await profiles.get(session, "no_such_intent") is None
        assert await profiles.get(session, None) is None
    # Through this replica's API: the next ticket sees it without waiting for a refresh.
    profiles.refresh_seconds = 3600
    await router.client.put("/v1/intents/card_arrival/profile", json={"required_skills": {"refunds": 2}})
    async with database.session() as session:
        latest = await profiles.get(session, "card_arrival")
        assert latest is not None
        assert latest.required_skills == {"refunds": 2}
