"""Known issues drafted in words that are no one customer's, redrafted until a person writes them (issue 22)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.knowledge.known_issues.drafting import draft_symptoms, draft_title, shared_phrases
from services.knowledge.known_issues.models import KnownIssue
from shared.events.catalogue import KnownIssueUpdated
from tests.knowledge_factories import problem_detected, problem_updated
from tests.unit.knowledge.conftest import Knowledge

# Three customers' reports of one outage: "app crashes" and "update" are in all three; the rest (a name,
# an order number, an email, a phone, a link, a phrase only one customer wrote) is one person's.
REPORTS = [
    "Hi, my app crashes after the update. Order 88412-B, Jolene Whitcombe, jolene.w@example.org",
    "Since yesterday's update the app crashes on launch; my hamster Biscuit watched it happen twice",
    "The app crashes every time after the update, call me on +44 7700 900123 or see https://imgur.example/x9",
]
ONE_PERSONS = [
    "jolene",
    "whitcombe",
    "88412",
    "example.org",
    "hamster",
    "biscuit",
    "7700",
    "900123",
    "imgur",
    "launch",
    "yesterday",
    "every time",
]


def test_a_draft_shows_the_words_three_customers_share_and_nothing_one_wrote() -> None:
    problem = problem_detected(
        representative_reports=REPORTS,
        summary_text=REPORTS[1][:60],
        intents=["app_crash"],
        products=["mobile-app"],
        customer_count=14,
        report_count=17,
    )

    title, symptoms = draft_title(problem), draft_symptoms(problem)

    assert shared_phrases(REPORTS) == ["app crashes", "update"]
    assert title == "Many customers report: app crashes, update (mobile-app)"
    assert "at least 10 customers in at least 10 reports" in symptoms
    assert "Intents: app_crash." in symptoms
    assert "Products: mobile-app." in symptoms
    drafted = (title + "\n" + symptoms).lower()
    assert not [word for word in ONE_PERSONS if word in drafted]
    assert REPORTS[1][:60].lower() not in drafted  # the summary, one customer's words, is not used


def test_two_customers_sharing_a_word_is_not_enough_and_the_draft_names_the_problem() -> None:
    reports = ["Biscuit the hamster broke my screen", "My hamster chewed the cable", "Screen flickers"]
    problem = problem_detected(representative_reports=reports, intents=["hardware"], products=["phone"])

    assert shared_phrases(reports) == []
    assert draft_title(problem) == "Problem reported by many customers: hardware, phone"
    assert "hamster" not in draft_symptoms(problem).lower()


def test_a_term_counts_once_per_report() -> None:
    # One customer repeating a word three times is still one customer.
    assert shared_phrases(["refund refund refund", "no refund yet", "where is my money"]) == []


async def test_the_announced_draft_carries_no_single_customers_words(knowledge: Knowledge) -> None:
    await knowledge.deliver(problem_detected(representative_reports=REPORTS, products=["mobile-app"]))

    [updated] = await knowledge.published(KnownIssueUpdated)
    announced = (updated.title + "\n" + updated.symptoms).lower()
    assert "app crashes" in announced
    assert not [word for word in ONE_PERSONS if word in announced]


async def test_a_title_ops_wrote_is_not_redrafted_by_the_next_problem_event(knowledge: Knowledge) -> None:
    problem = problem_detected(representative_reports=REPORTS)
    await knowledge.deliver(problem)
    [first] = await knowledge.published(KnownIssueUpdated)
    read = await knowledge.client.get(f"/v1/known-issues/{first.known_issue_id}")
    assert read.json()["drafted"] is True
    edited = await knowledge.client.patch(
        f"/v1/known-issues/{first.known_issue_id}", json={"revision": 1, "title": "Crash on start in 4.2"}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["drafted"] is False

    other_reports = ["Checkout button does nothing", "The checkout button is dead", "checkout button broken"]
    await knowledge.deliver(
        problem_updated(problem, joined=uuid.uuid4(), representative_reports=other_reports, products=["web"])
    )

    *_, last = await knowledge.published(KnownIssueUpdated)
    assert (last.revision, last.title, last.symptoms) == (3, "Crash on start in 4.2", first.symptoms)
    assert last.affected_products == ["web"]


async def test_a_verbatim_draft_from_before_is_rewritten_on_the_next_problem_event(knowledge: Knowledge) -> None:
    problem = problem_detected(representative_reports=REPORTS)
    now = datetime.now(UTC)
    verbatim = KnownIssue(
        id=uuid.uuid4(),
        problem_id=problem.problem_id,
        title=REPORTS[0][:120],
        symptoms="\n".join(f"- {report}" for report in REPORTS),
        affected_products=[],
        status="investigating",
        revision=4,
        drafted=True,  # what the migration marks a problem's known issue that has no fix
        created_at=now,
        updated_at=now,
    )
    async with knowledge.runtime.database.session() as session, session.begin():
        session.add(verbatim)

    await knowledge.deliver(problem_updated(problem, joined=uuid.uuid4()))

    [updated] = await knowledge.published(KnownIssueUpdated)
    assert (updated.known_issue_id, updated.revision) == (verbatim.id, 5)
    assert updated.title == "Many customers report: app crashes, update (debit-card)"
    announced = (updated.title + "\n" + updated.symptoms).lower()
    assert not [word for word in ONE_PERSONS if word in announced]
