"""GET /v1/insights: feedback with its owner and decision, and the gap between FCR as firstcall counts it
and as customers answered it."""

from __future__ import annotations

from services.notifier.feedback.insights import fcr_figures
from services.notifier.feedback.models import TicketQuestion
from tests.unit.notifier.conftest import NotifierFactory
from tests.unit.notifier.test_feedback import OWNERS, WRONG_EMAIL, heard, voice
from tests.unit.notifier.test_one_question import answer, resolved_ticket


def answered(counted: bool, said: bool) -> TicketQuestion:
    return TicketQuestion(counted_first_contact=counted, resolved_first_contact=said, disputed=counted and not said)


def test_the_gap_is_firstcalls_rate_minus_the_customers() -> None:
    figures = fcr_figures([answered(True, True), answered(True, False), answered(False, False), answered(True, True)])
    assert (figures["fcr_rate_firstcall"], figures["fcr_rate_customers"], figures["gap"]) == (0.75, 0.5, 0.25)
    assert figures["disputed"] == 1
    assert fcr_figures([])["gap"] is None


async def test_insights_show_decided_feedback_and_the_fcr_gap(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(feedback_owners=OWNERS, question_enabled=True)
    [cluster] = await heard(notifier, [voice(subject, words) for subject, words in WRONG_EMAIL])
    decision = {"decision": "accepted", "change": "the email says to use the website", "reason": "it was wrong"}
    assert (await notifier.client.post(f"/v1/feedback/{cluster['id']}/decision", json=decision)).status_code == 200
    opened = await resolved_ticket(notifier, first_contact=True)
    assert (await answer(notifier, opened.ticket_id, {"resolved": False})).status_code == 200
    response = await notifier.client.get("/v1/insights")
    assert response.status_code == 200, response.text
    insight = response.json()
    [top] = insight["top_feedback"]
    assert (top["owner"], top["customers"], top["status"], top["decision"]) == (
        "billing-communications",
        5,
        "decided",
        "accepted",
    )
    fcr = insight["first_contact"]
    assert (fcr["fcr_rate_firstcall"], fcr["fcr_rate_customers"], fcr["gap"], fcr["disputed"]) == (1.0, 0.0, 1.0, 1)
    assert fcr["by_channel"]["email"]["disputed"] == 1
    assert insight["feedback_waiting_for_a_decision"] == 0
    await notifier.runtime.extensions["feedback_escalator"].check()
    scraped = (await notifier.client.get("/metrics")).text
    assert 'firstcall_notifier_feedback_clusters{decision="accepted",owned="true",status="decided"} 1.0' in scraped
    assert (
        'firstcall_notifier_first_contact_answers{answered_first_contact="false",counted_first_contact="true"} 1.0'
        in scraped
    )


async def test_a_range_that_ends_before_it_starts_is_refused_naming_the_field(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    response = await notifier.client.get(
        "/v1/insights", params={"from": "2026-12-08T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    )
    assert response.status_code == 422
    assert "query.from" in response.text
