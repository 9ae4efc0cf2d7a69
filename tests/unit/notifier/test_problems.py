"""A cluster becomes a problem at N distinct customers, grows, escalates when it grows fast, and ops can
list, inspect, merge, split and resolve it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.problems import clustering
from tests.notifier_factories import OUTAGE_REPORTS, UNRELATED_REPORTS, outage, report
from tests.unit.notifier.conftest import Notifier, NotifierFactory, staged_events


async def problem_of(notifier: Notifier, ticket_id: uuid.UUID) -> str | None:
    problem_id: str | None = (await notifier.client.get(f"/v1/reports/{ticket_id}")).json()["problem_id"]
    return problem_id


async def test_three_customers_with_the_same_problem_make_a_problem_with_its_picture(notifier: Notifier) -> None:
    reports = outage(3)
    reports[0] = reports[0].model_copy(update={"intent": "payment_failed", "attributes": {"product": "webshop"}})
    await notifier.publish(*reports)

    [detected] = await staged_events(notifier, "problem.detected")
    assert detected["customer_count"] == detected["report_count"] == 3
    assert set(detected["ticket_ids"]) == {str(r.ticket_id) for r in reports}
    assert detected["summary_text"] in {subject for subject, _ in OUTAGE_REPORTS}
    assert detected["intents"] == ["payment_failed"]
    assert detected["products"] == ["webshop"]
    assert datetime.fromisoformat(detected["first_seen"]) == reports[0].opened_at
    assert datetime.fromisoformat(detected["last_seen"]) == reports[-1].opened_at
    assert detected["growth_per_hour"] == 3.0
    assert detected["severity"] == "minor"
    assert 1 <= len(detected["representative_reports"]) <= 3


async def test_two_customers_are_not_yet_a_problem(notifier: Notifier) -> None:
    await notifier.publish(*outage(2))
    assert await staged_events(notifier, "problem.detected") == []
    assert (await notifier.client.get("/v1/problems")).json()["items"] == []


async def test_two_customers_make_a_forming_cluster_that_similar_points_at(notifier: Notifier) -> None:
    first, second = outage(2)
    await notifier.publish(first, second)

    [item] = (await notifier.client.get(f"/v1/tickets/{second.ticket_id}/similar")).json()["items"]
    cluster = (await notifier.client.get(f"/v1/problems/{item['problem_id']}")).json()
    [forming] = (await notifier.client.get("/v1/problems", params={"status": "forming"})).json()["items"]

    assert item["ticket_id"] == str(first.ticket_id)
    assert item["problem_id"] == await problem_of(notifier, second.ticket_id) == forming["id"]
    assert cluster["status"] == "forming"
    assert cluster["customer_count"] == cluster["report_count"] == 2
    assert cluster["detected_at"] is None


async def test_one_customer_reporting_three_times_is_not_a_problem(notifier: Notifier) -> None:
    customer = uuid.uuid4()
    reports = [report(subject, description, customer_id=customer) for subject, description in OUTAGE_REPORTS[:4]]
    await notifier.publish(*reports)
    assert await staged_events(notifier, "problem.detected") == []
    # ...but their reports are grouped, so a third and fourth customer complete the problem.
    await notifier.publish(*outage(2))
    [detected] = await staged_events(notifier, "problem.detected")
    assert detected["customer_count"] == 3
    assert detected["report_count"] == 6


async def test_each_report_joining_a_problem_publishes_problem_updated(notifier: Notifier) -> None:
    first, *rest = outage(5)
    await notifier.publish(first, *rest[:2])
    await notifier.publish(*rest[2:])
    updates = await staged_events(notifier, "problem.updated")
    assert [u["change"] for u in updates] == ["report_joined", "report_joined"]
    assert [u["joined_ticket_id"] for u in updates] == [str(r.ticket_id) for r in rest[2:]]
    assert updates[-1]["customer_count"] == 5


async def test_unrelated_reports_stay_out_of_the_problem(notifier: Notifier) -> None:
    await notifier.publish(*outage(3), *(report(s, d) for s, d in UNRELATED_REPORTS))
    [problem] = (await notifier.client.get("/v1/problems")).json()["items"]
    assert problem["report_count"] == 3


async def test_a_problem_growing_fast_becomes_major_and_is_escalated(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(crisis_customers_per_hour=4)
    await notifier.publish(*outage(5, every=timedelta(minutes=2)))
    [escalated] = await staged_events(notifier, "problem.escalated")
    assert escalated["severity"] == "major"
    assert escalated["growth_per_hour"] >= 4
    [problem] = (await notifier.client.get("/v1/problems", params={"severity": "major"})).json()["items"]
    assert problem["escalated_at"] is not None


async def test_a_slowly_growing_problem_stays_minor(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(crisis_customers_per_hour=4)
    await notifier.publish(*outage(5, every=timedelta(hours=1)))
    assert await staged_events(notifier, "problem.escalated") == []


async def test_problems_are_listed_and_filtered_by_status_and_time(notifier: Notifier) -> None:
    await notifier.publish(*outage(3))
    listed = (await notifier.client.get("/v1/problems", params={"status": "open"})).json()["items"]
    assert len(listed) == 1
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await notifier.client.get("/v1/problems", params={"since": later})).json()["items"] == []
    assert (await notifier.client.get("/v1/problems", params={"status": "resolved"})).json()["items"] == []


async def test_a_time_filter_without_a_time_zone_or_a_huge_offset_is_a_422_naming_it(notifier: Notifier) -> None:
    for params, field in (
        ({"since": "2026-01-01T00:00:00"}, "query.since"),
        ({"until": "2026-01-01"}, "query.until"),
        ({"since": "0001-01-01T00:00:00+05:00"}, "query.since"),
        ({"offset": 2**63}, "query.offset"),
    ):
        response = await notifier.client.get("/v1/problems", params=params)
        assert response.status_code == 422, params
        assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_a_problem_is_shown_with_its_member_tickets(notifier: Notifier) -> None:
    reports = outage(3)
    await notifier.publish(*reports)
    problem_id = await problem_of(notifier, reports[0].ticket_id)
    detail = (await notifier.client.get(f"/v1/problems/{problem_id}")).json()
    assert {m["ticket_id"] for m in detail["members"]} == {str(r.ticket_id) for r in reports}
    assert detail["status"] == "open"
    assert detail["customer_count"] == 3


async def test_an_unknown_problem_is_a_404_problem(notifier: Notifier) -> None:
    response = await notifier.client.get(f"/v1/problems/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_merging_folds_one_problem_into_another(notifier: Notifier) -> None:
    checkout = outage(3)
    login = [report("Cannot log in", "The app rejects my password since the update.") for _ in range(3)]
    await notifier.publish(*checkout, *login)
    target = await problem_of(notifier, checkout[0].ticket_id)
    source = await problem_of(notifier, login[0].ticket_id)
    assert target
    assert source
    assert target != source

    response = await notifier.client.post(
        f"/v1/problems/{target}/merge", json={"problem_id": source}, headers={"Idempotency-Key": "merge-1"}
    )

    assert response.status_code == 200
    assert response.json()["customer_count"] == 6
    assert (await notifier.client.get(f"/v1/problems/{source}")).json()["status"] == "merged"
    updated = (await staged_events(notifier, "problem.updated"))[-1]
    assert updated["change"] == "merged"
    assert updated["merged_problem_ids"] == [source]


async def test_merging_a_problem_into_itself_is_refused_naming_the_field(notifier: Notifier) -> None:
    reports = outage(3)
    await notifier.publish(*reports)
    problem_id = await problem_of(notifier, reports[0].ticket_id)
    response = await notifier.client.post(f"/v1/problems/{problem_id}/merge", json={"problem_id": problem_id})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.problem_id"


async def test_a_split_ticket_is_never_grouped_back_into_the_problem(notifier: Notifier) -> None:
    reports = outage(4)
    await notifier.publish(*reports)
    problem_id = await problem_of(notifier, reports[0].ticket_id)
    wrong = reports[3]

    response = await notifier.client.post(
        f"/v1/problems/{problem_id}/split", json={"ticket_ids": [str(wrong.ticket_id)]}
    )

    assert response.status_code == 200
    assert str(wrong.ticket_id) not in {m["ticket_id"] for m in response.json()["problem"]["members"]}
    assert (await staged_events(notifier, "problem.updated"))[-1]["split_ticket_ids"] == [str(wrong.ticket_id)]
    # A new report as close to the split ticket as to the others joins the problem without bringing it back.
    again = report(wrong.subject, wrong.description)
    await notifier.publish(again)
    assert await problem_of(notifier, again.ticket_id) == problem_id
    assert await problem_of(notifier, wrong.ticket_id) is None


async def test_splitting_a_ticket_that_is_not_a_member_is_refused_naming_it(notifier: Notifier) -> None:
    reports = outage(3)
    await notifier.publish(*reports)
    problem_id = await problem_of(notifier, reports[0].ticket_id)
    response = await notifier.client.post(
        f"/v1/problems/{problem_id}/split", json={"ticket_ids": [str(reports[0].ticket_id), str(uuid.uuid4())]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.ticket_ids.1"


async def test_resolving_publishes_problem_resolved_once(notifier: Notifier) -> None:
    reports = outage(3)
    await notifier.publish(*reports)
    problem_id = await problem_of(notifier, reports[0].ticket_id)
    body = {"resolution": "The payment provider renewed its certificate.", "fix_version": "2.4.1"}

    first = await notifier.client.post(
        f"/v1/problems/{problem_id}/resolve", json=body, headers={"Idempotency-Key": "r1"}
    )
    replay = await notifier.client.post(
        f"/v1/problems/{problem_id}/resolve", json=body, headers={"Idempotency-Key": "r1"}
    )
    again = await notifier.client.post(f"/v1/problems/{problem_id}/resolve", json=body)

    assert first.status_code == replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert again.status_code == 409
    [resolved] = await staged_events(notifier, "problem.resolved")
    assert resolved["fix_version"] == "2.4.1"
    assert len(resolved["ticket_ids"]) == 3


async def test_resolving_with_an_unknown_article_is_refused_naming_the_field(notifier: Notifier) -> None:
    reports = outage(3)
    await notifier.publish(*reports)
    problem_id = await problem_of(notifier, reports[0].ticket_id)
    response = await notifier.client.post(
        f"/v1/problems/{problem_id}/resolve", json={"resolution": "Fixed", "article_id": str(uuid.uuid4())}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.article_id"


async def test_a_report_similar_to_a_resolved_problem_starts_a_new_cluster(notifier: Notifier) -> None:
    reports = outage(3)
    await notifier.publish(*reports)
    problem_id = await problem_of(notifier, reports[0].ticket_id)
    await notifier.client.post(f"/v1/problems/{problem_id}/resolve", json={"resolution": "Fixed"})
    await notifier.publish(*outage(1))
    assert len((await notifier.client.get("/v1/problems", params={"status": "resolved"})).json()["items"]) == 1


async def test_an_active_cluster_behind_resolved_ones_still_takes_the_report(
    notifier: Notifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the nearest cluster is compared here, and the report's nearest neighbours belong to a resolved
    # problem: the active cluster a little farther away must still be found (resolved ones are passed over,
    # they do not use up the places compared).
    monkeypatch.setattr(clustering, "CLUSTERS_COMPARED", 1)
    subject, description = OUTAGE_REPORTS[0]
    old = [report(subject, description) for _ in range(3)]
    await notifier.publish(*old)
    resolved_id = await problem_of(notifier, old[0].ticket_id)
    await notifier.client.post(f"/v1/problems/{resolved_id}/resolve", json={"resolution": "Fixed"})
    forming = outage(3)[1:]
    await notifier.publish(*forming)
    active_id = await problem_of(notifier, forming[0].ticket_id)

    latest = report(subject, description)
    await notifier.publish(latest)

    assert active_id not in (None, resolved_id)
    assert await problem_of(notifier, latest.ticket_id) == active_id
