"""Known issues: drafted from problems, fixed on resolution, edited over HTTP with revisions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.knowledge.known_issues.models import KnownIssue
from shared.events.catalogue import KnowledgeSuggested, KnownIssueUpdated
from tests.factories import ticket_opened
from tests.knowledge_factories import problem_detected, problem_resolved, problem_updated, problem_updated_v1
from tests.unit.knowledge.conftest import Knowledge


def known_issue_request(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Statements missing for March",
        "symptoms": "The Documents tab shows no statement for March.",
        "affected_products": ["savings"],
    }
    body.update(overrides)
    return body


async def test_a_detected_problem_becomes_a_known_issue_that_is_announced(knowledge: Knowledge) -> None:
    problem = problem_detected()
    await knowledge.deliver(problem)
    [updated] = await knowledge.published(KnownIssueUpdated)
    assert (updated.problem_id, updated.status, updated.revision) == (problem.problem_id, "investigating", 1)
    # Drafts quote no customer (two reports share no word with a third): the problem's facts only.
    assert "declined" not in updated.title + updated.symptoms
    assert "Products: debit-card." in updated.symptoms
    assert updated.affected_products == ["debit-card"]
    listed = (await knowledge.client.get("/v1/known-issues")).json()["items"]
    assert [item["id"] for item in listed] == [str(updated.known_issue_id)]


async def test_a_resolved_problem_moves_its_known_issue_to_fix_available(knowledge: Knowledge) -> None:
    problem = problem_detected()
    await knowledge.deliver(problem, problem_resolved(problem.problem_id))
    first, second = await knowledge.published(KnownIssueUpdated)
    assert (second.status, second.revision, second.fix_version) == ("fix_available", 2, "4.2.1")
    assert second.known_issue_id == first.known_issue_id


async def test_a_problem_resolved_before_knowledge_saw_it_still_gets_a_known_issue(knowledge: Knowledge) -> None:
    await knowledge.deliver(problem_resolved(uuid.uuid4()))
    [updated] = await knowledge.published(KnownIssueUpdated)
    assert (updated.status, updated.revision) == ("fix_available", 1)


async def test_tickets_grouped_into_a_problem_learn_its_known_issue(knowledge: Knowledge) -> None:
    ticket = ticket_opened(subject="Cannot pay", description="Something odd")
    await knowledge.deliver(ticket)
    problem = problem_detected(ticket_ids=[ticket.ticket_id])
    await knowledge.deliver(problem)
    first, second = await knowledge.published(KnowledgeSuggested)
    assert first.known_issue is None
    assert second.known_issue is not None
    assert second.known_issue.problem_id == problem.problem_id
    late = ticket_opened(subject="Payment trouble", description="Nothing works")
    await knowledge.deliver(late)
    await knowledge.deliver(problem_updated(problem, joined=late.ticket_id))
    suggestion = (await knowledge.client.get(f"/v1/tickets/{late.ticket_id}/suggestions")).json()
    assert suggestion["known_issue"]["problem_id"] == str(problem.problem_id)


async def test_an_update_of_version_1_still_on_the_topic_gives_its_tickets_the_known_issue(
    knowledge: Knowledge,
) -> None:
    tickets = [ticket_opened(subject="Payment trouble", description="Nothing works") for _ in range(2)]
    await knowledge.deliver(*tickets)
    problem = problem_detected()
    await knowledge.deliver(problem, problem_updated_v1(problem, ticket_ids=[t.ticket_id for t in tickets]))
    for ticket in tickets:
        suggestion = (await knowledge.client.get(f"/v1/tickets/{ticket.ticket_id}/suggestions")).json()
        assert suggestion["known_issue"]["problem_id"] == str(problem.problem_id)


async def test_a_ticket_grouped_before_knowledge_saw_it_opened_still_gets_the_known_issue(
    knowledge: Knowledge,
) -> None:
    ticket = ticket_opened(subject="Payment trouble", description="Nothing works")
    problem = problem_detected(ticket_ids=[ticket.ticket_id])
    await knowledge.deliver(problem)
    await knowledge.deliver(ticket)
    [suggested] = await knowledge.published(KnowledgeSuggested)
    assert suggested.known_issue is not None
    assert suggested.known_issue.problem_id == problem.problem_id


async def test_a_redelivered_problem_drafts_one_known_issue(knowledge: Knowledge) -> None:
    problem = problem_detected()
    for _ in range(2):
        await knowledge.bus.publish(problem.topic.name, [problem.to_cloudevent()])
    await knowledge.deliver(problem_updated(problem, joined=uuid.uuid4()))
    assert await knowledge.count(KnownIssue) == 1
    assert [e.revision for e in await knowledge.published(KnownIssueUpdated)] == [1]


async def test_an_edit_bumps_the_revision_and_announces_it(knowledge: Knowledge) -> None:
    created = (await knowledge.client.post("/v1/known-issues", json=known_issue_request())).json()
    response = await knowledge.client.patch(
        f"/v1/known-issues/{created['id']}",
        json={"revision": 1, "status": "workaround_available", "workaround": "Download it from the web bank."},
    )
    assert response.status_code == 200
    assert (response.json()["revision"], response.json()["status"]) == (2, "workaround_available")
    assert [e.revision for e in await knowledge.published(KnownIssueUpdated)] == [1, 2]
    hits = (await knowledge.client.get("/v1/search", params={"q": "march statement missing"})).json()["results"]
    assert hits[0]["kind"] == "known_issue"
    assert hits[0]["version"] == 2


async def test_an_edit_of_a_stale_revision_is_a_409(knowledge: Knowledge) -> None:
    created = (await knowledge.client.post("/v1/known-issues", json=known_issue_request())).json()
    await knowledge.client.patch(f"/v1/known-issues/{created['id']}", json={"revision": 1, "title": "New title"})
    response = await knowledge.client.patch(f"/v1/known-issues/{created['id']}", json={"revision": 1, "title": "x"})
    assert response.status_code == 409
    assert response.json()["current_revision"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (known_issue_request(status="workaround_available"), "body.workaround"),
        (known_issue_request(status="fix_available"), "body.fix"),
        (known_issue_request(status="solved"), "body.status"),
        (known_issue_request(title=""), "body.title"),
        (known_issue_request(symptoms=None), "body.symptoms"),
        (known_issue_request(colour="red"), "body.colour"),
    ],
)
async def test_an_invalid_known_issue_is_a_422_and_writes_nothing(
    knowledge: Knowledge, body: dict[str, Any], field: str
) -> None:
    response = await knowledge.client.post("/v1/known-issues", json=body)
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]
    assert await knowledge.count(KnownIssue) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": None}, "body.title"),
        ({"symptoms": None}, "body.symptoms"),
        ({"affected_products": None}, "body.affected_products"),
        ({"status": None}, "body.status"),
        ({"revision": None}, "body.revision"),
        ({"revision": 2**31}, "body.revision"),
        ({"revision": 2**64}, "body.revision"),
        ({"affected_products": ["p"] * 51}, "body.affected_products"),
    ],
)
async def test_an_edit_with_a_null_or_out_of_bounds_value_is_a_422_and_writes_nothing(
    knowledge: Knowledge, change: dict[str, Any], field: str
) -> None:
    created = (await knowledge.client.post("/v1/known-issues", json=known_issue_request())).json()
    response = await knowledge.client.patch(f"/v1/known-issues/{created['id']}", json={"revision": 1, **change})
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert (await knowledge.client.get(f"/v1/known-issues/{created['id']}")).json() == created


async def test_a_null_workaround_clears_it(knowledge: Knowledge) -> None:
    created = (
        await knowledge.client.post("/v1/known-issues", json=known_issue_request(workaround="Use the web bank."))
    ).json()
    response = await knowledge.client.patch(
        f"/v1/known-issues/{created['id']}", json={"revision": 1, "workaround": None}
    )
    assert response.status_code == 200
    assert (response.json()["revision"], response.json()["workaround"]) == (2, None)


async def test_an_unknown_known_issue_is_a_404(knowledge: Knowledge) -> None:
    assert (await knowledge.client.get(f"/v1/known-issues/{uuid.uuid4()}")).status_code == 404
