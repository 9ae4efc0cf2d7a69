"""Later events reach the RT tickets concerned: a supervisor's decision, a known issue's fix, a handoff."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from shared.events.catalogue import (
    AccountOwnerChanged,
    Event,
    KnowledgeSuggested,
    KnownIssueRef,
    KnownIssueUpdated,
    SuggestedArticle,
)
from tests.conftest import wait_until
from tests.notifier_factories import OUTAGE_REPORTS
from tests.unit.helpdesk.conftest import Desk


async def publish(desk: Desk, *events: Event) -> None:
    for event in events:
        await desk.bus.publish(event.topic.name, [event.to_cloudevent()])
    await desk.carry_out_effects()


async def test_a_supervisors_approval_is_visible_in_rt_and_resolves_the_ticket_there(desk: Desk) -> None:
    await desk.agent("Grace")
    supervisor = await desk.agent("Sam", role="supervisor", status="away")
    ticket = await desk.open_ticket()
    await desk.carry_out_effects()
    rt_id = await desk.rt_ticket_of(ticket)
    desk.rt.set_fields(rt_id, "grace", resolution="credit", amount="80.00", currency="EUR", reason="goodwill")
    await desk.read_rt()
    [approval] = (await desk.router.get("/v1/approvals", params={"status": "pending"})).json()["items"]
    decided = await desk.router.post(
        f"/v1/approvals/{approval['id']}/decision", json={"approved": True, "supervisor_id": supervisor["id"]}
    )
    assert decided.status_code == 200, decided.text
    await desk.carry_out_effects()

    comments = desk.rt.comments(rt_id)
    assert any("The supervisor approved: the resolution is carried out." in c for c in comments)
    assert desk.rt.tickets[rt_id].status == "resolved"


async def test_a_known_issue_suggested_late_and_its_fix_later_both_reach_the_ticket(desk: Desk) -> None:
    await desk.agent("Grace")
    ticket = await desk.open_ticket()
    await desk.carry_out_effects()
    rt_id = await desk.rt_ticket_of(ticket)
    issue_id, now = uuid.uuid4(), datetime.now(UTC)
    issue = KnownIssueRef(known_issue_id=issue_id, title="3-D Secure outage", status="investigating")
    article = SuggestedArticle(
        article_id=uuid.uuid4(), article_version=1, title="Card declined", snippet="Check the limit", score=0.9
    )
    await publish(
        desk,
        KnowledgeSuggested(ticket_id=uuid.UUID(ticket["id"]), articles=[article], known_issue=issue, computed_at=now),
    )
    assert desk.rt.tickets[rt_id].fields["known issue"] == "3-D Secure outage (investigating)"
    assert any(
        f"Card declined: http://127.0.0.1:8001/v1/articles/{article.article_id}" in c for c in desk.rt.comments(rt_id)
    )

    await publish(desk, _fixed(issue_id, now))
    assert desk.rt.tickets[rt_id].fields["known issue"] == "3-D Secure outage (fix available)"
    assert any("fix: bank patched the ACS (version 2.1)" in c for c in desk.rt.comments(rt_id))


async def test_an_account_handoff_briefing_is_put_on_the_customers_open_tickets(desk: Desk) -> None:
    ticket = await desk.open_ticket()
    await desk.carry_out_effects()
    handoff = AccountOwnerChanged(
        customer_id=uuid.UUID(ticket["customer_id"]),
        previous_owner_id=None,
        owner_id=uuid.uuid4(),
        briefing="Ada: 3 years a customer, 2 credits this year, one open card issue.",
        changed_at=datetime.now(UTC),
    )
    await publish(desk, handoff)

    comments = desk.rt.comments(await desk.rt_ticket_of(ticket))
    assert any("Ada: 3 years a customer, 2 credits this year" in c for c in comments)


def _fixed(issue_id: uuid.UUID, now: datetime, **overrides: Any) -> KnownIssueUpdated:
    fields: dict[str, Any] = {
        "known_issue_id": issue_id,
        "revision": 2,
        "problem_id": None,
        "title": "3-D Secure outage",
        "symptoms": "declined at checkout",
        "status": "fix_available",
        "fix": "bank patched the ACS",
        "fix_version": "2.1",
        "updated_at": now,
    }
    fields.update(overrides)
    return KnownIssueUpdated(**fields)


async def test_customers_reporting_one_outage_in_their_words_each_hear_of_the_problem_and_its_fix(desk: Desk) -> None:
    tickets = [
        await desk.open_ticket(customer={"email": f"outage-{i}@example.com"}, subject=subject, description=text)
        for i, (subject, text) in enumerate(OUTAGE_REPORTS)
    ]
    await desk.carry_out_effects()
    rt_ids = [await desk.rt_ticket_of(ticket) for ticket in tickets]

    async def problem() -> str | None:
        report = (await desk.notifier.get(f"/v1/reports/{tickets[0]['id']}")).json()
        return str(report["problem_id"]) if report.get("problem_id") else None

    problem_id = await wait_until(problem, timeout=30)
    await desk.carry_out_effects()
    members = [rt_id for rt_id in rt_ids if desk.rt.tickets[rt_id].fields.get("problem")]
    assert len(members) >= 3
    for rt_id in members:
        told = [c for c in desk.rt.comments(rt_id) if "This ticket is part of a problem" in c]
        assert len(told) == 1

    resolved = await desk.notifier.post(
        f"/v1/problems/{problem_id}/resolve", json={"resolution": "The payment provider renewed its certificate."}
    )
    assert resolved.status_code == 200, resolved.text
    await desk.carry_out_effects()
    for rt_id in members:
        assert desk.rt.tickets[rt_id].fields["problem"] == "resolved: The payment provider renewed its certificate."
        assert sum("problem this ticket belongs to is resolved" in c for c in desk.rt.comments(rt_id)) == 1
