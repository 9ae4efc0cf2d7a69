"""Feedback as its own kind of ticket: acknowledged in the customer's words and resolved at first contact."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.router.feedback.acknowledgement import acknowledgement, quote_of
from tests.conftest import wait_until
from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness, running_router
from tests.unit.router.test_intents import EXAMPLES

SUBJECT = "Your email gives wrong instructions"
WORDS = "The email says to call you, but you can't fix this by calling: you have to use the website."
FEEDBACK_EXAMPLES = [
    "your email gives the wrong instructions",
    "the letter tells me to call but calling cannot fix it",
    "you should change how the website explains this",
    "the instructions in your message are wrong, it should say to use the website",
]


def feedback_ticket(**overrides: Any) -> dict[str, Any]:
    return ticket_request(subject=SUBJECT, description=WORDS, channel="email", **overrides)


@pytest.fixture
async def listening(tmp_path: Path) -> AsyncIterator[RouterHarness]:
    """A router that knows the intent `procedure_feedback`, configured as feedback (a suggestion)."""
    async with running_router(tmp_path, feedback_intents={"procedure_feedback": "suggestion"}) as harness:
        await _train(harness)
        yield harness


async def _train(router: RouterHarness) -> None:
    texts = {**EXAMPLES, "procedure_feedback": FEEDBACK_EXAMPLES}
    examples = [{"text": text, "intent": intent} for intent, group in texts.items() for text in group]
    assert (await router.post("/v1/intents/examples", {"examples": examples})).status_code == 201
    location = (await router.post("/v1/intents/train", {})).headers["location"]

    async def ready() -> bool:
        return bool((await router.client.get(location)).json()["status"] == "ready")

    await wait_until(ready, timeout=120, every=0.2)


def test_the_acknowledgement_quotes_the_customer_and_promises_the_decision() -> None:
    text = acknowledgement(kind="suggestion", subject=SUBJECT, description=WORDS, customer_name="Ada")
    assert text.startswith("Ada, thank you. You suggested: “Your email gives wrong instructions: The email says")
    assert "you have to use the website." in text
    assert "their decision and the reason" in text


def test_a_long_message_is_quoted_up_to_a_word_and_marked_cut() -> None:
    quoted = quote_of("Procedure", "word " * 200, limit=40)
    assert quoted.endswith("…")
    assert len(quoted) <= 41
    assert not quoted.endswith(" …")


def test_a_description_that_repeats_the_subject_is_quoted_once() -> None:
    assert quote_of("Wrong email", "Wrong email: it says to call.") == "Wrong email: it says to call."


async def test_feedback_intent_is_acknowledged_and_resolved_as_it_is_opened(listening: RouterHarness) -> None:
    await listening.agent()
    response = await listening.post("/v1/tickets", feedback_ticket())
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert (ticket["status"], ticket["agent_id"], ticket["assignment"]) == ("resolved", None, None)
    assert ticket["attributes"]["feedback"] == "suggestion"
    heard = (await listening.client.get(f"/v1/tickets/{ticket['id']}/feedback")).json()
    assert (heard["kind"], heard["recognised_by"]) == ("suggestion", "intent")
    assert WORDS in heard["acknowledgement"]
    received = await listening.published("firstcall.feedback.received")
    assert [e.data["acknowledgement"] for e in received] == [heard["acknowledgement"]]
    assert received[0].data["description"] == WORDS
    resolved = await listening.published("firstcall.ticket.resolved")
    assert [(e.data["first_contact"], e.data["resolution_note"]) for e in resolved] == [
        (True, heard["acknowledgement"])
    ]
    stats = (await listening.client.get("/v1/stats")).json()
    assert stats["groups"]["all"]["first_contact_resolved"] == 1, stats


async def test_an_agent_marks_a_ticket_as_feedback_and_it_is_resolved_by_them(router: RouterHarness) -> None:
    agent = await router.agent()
    ticket = (await router.post("/v1/tickets", feedback_ticket())).json()
    assert ticket["agent_id"] == agent["id"]
    response = await router.post(f"/v1/tickets/{ticket['id']}/feedback", {"kind": "complaint", "agent_id": agent["id"]})
    assert response.status_code == 201, response.text
    outcome = response.json()
    assert outcome["ticket_status"] == "resolved"
    assert (outcome["feedback"]["recognised_by"], outcome["feedback"]["agent_id"]) == ("agent", agent["id"])
    assert "You told us: “Your email gives wrong instructions" in outcome["feedback"]["acknowledgement"]
    marked = await router.published("firstcall.ticket.marked_feedback")
    assert [(e.data["kind"], e.data["agent_id"]) for e in marked] == [("complaint", agent["id"])]
    assert len(await router.published("firstcall.feedback.received")) == 1
    again = await router.post(f"/v1/tickets/{ticket['id']}/feedback", {"kind": "complaint", "agent_id": agent["id"]})
    assert (again.status_code, again.json()["type"].rsplit("/", 1)[-1]) == (409, "already-feedback")


async def test_a_ticket_that_is_not_feedback_has_none(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    assert (await router.client.get(f"/v1/tickets/{ticket['id']}/feedback")).status_code == 404


async def test_an_unknown_kind_is_refused_naming_the_field(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    response = await router.post(f"/v1/tickets/{ticket['id']}/feedback", {"kind": "rant"})
    assert response.status_code == 422
    assert "body.kind" in response.text
