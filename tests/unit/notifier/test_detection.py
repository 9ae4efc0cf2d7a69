"""Duplicate detection on fixed texts: paraphrases (even without a shared word) and typos match,
unrelated reports and the same customer's own reports do not count, and the window bounds what is
compared."""

from __future__ import annotations

import gc
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notifier.detection.embedding import MeaningEncoder, report_text
from services.notifier.detection.service import TUNED, DetectionConfig, understand
from services.notifier.detection.similarity import ReportVector, similarity
from services.notifier.detection.text import content_words, spelling_vector, term_counts, weigh, word_terms
from services.notifier.reports import service as report_service
from tests.notifier_factories import UNRELATED_REPORTS, report
from tests.unit.notifier.conftest import Notifier

LEXICAL = TUNED["none"]
MINILM = TUNED["minilm"]
# The two encoders the notifier is meant to run with, each at its own tuned weight and threshold.
ENCODERS = pytest.mark.parametrize("encoder", ["minilm", "mpnet"])


def vector(subject: str, description: str = "", encoder: str = "none") -> ReportVector:
    meaning = MeaningEncoder.named(encoder)
    return ReportVector(
        weigh(term_counts(subject, description)),
        spelling_vector(subject, description),
        meaning.encode([report_text(subject, description)])[0] if meaning else None,
    )


@ENCODERS
def test_a_paraphrase_of_the_same_problem_scores_above_the_threshold(encoder: str) -> None:
    tuned = TUNED[encoder]
    subjects = ("Checkout fails with payment error", "When I pay at checkout I get a payment error.")
    others = ("Payment error at checkout", "The checkout page shows an error when I pay.")
    assert similarity(vector(*subjects), vector(*others)) >= LEXICAL.threshold
    first, second = vector(*subjects, encoder=encoder), vector(*others, encoder=encoder)
    assert similarity(first, second, meaning_weight=tuned.meaning_weight) >= tuned.threshold


@ENCODERS
def test_a_paraphrase_sharing_no_word_is_close_in_meaning_only(encoder: str) -> None:
    tuned = TUNED[encoder]
    texts = ("My card keeps getting declined at checkout", "Payment refused when I try to buy something")
    declined, refused = (vector(text, encoder=encoder) for text in texts)
    address = vector(*UNRELATED_REPORTS[0], encoder=encoder)
    assert not set(word_terms(texts[0])) & set(word_terms(texts[1]))
    assert similarity(declined, refused) < 0.05
    close = similarity(declined, refused, meaning_weight=tuned.meaning_weight)
    assert close > 2 * similarity(declined, address, meaning_weight=tuned.meaning_weight)


@ENCODERS
def test_a_report_with_typos_still_matches_the_correctly_spelled_one(encoder: str) -> None:
    tuned = TUNED[encoder]
    right = vector("Password reset email never arrives", encoder=encoder)
    typos = vector("Pasword reset emial never arives", encoder=encoder)
    assert similarity(right, typos) >= LEXICAL.threshold
    # The encoder's tokenizer splits misspelt words oddly; the words still vouch for the pair.
    assert similarity(right, typos, meaning_weight=tuned.meaning_weight) >= similarity(right, typos)


@ENCODERS
def test_an_unrelated_report_scores_far_below_the_threshold(encoder: str) -> None:
    tuned = TUNED[encoder]
    checkout = vector("Checkout fails with payment error", "Payment error at checkout.", encoder=encoder)
    address = vector("Change my delivery address", "I moved and need my parcel sent elsewhere.", encoder=encoder)
    assert similarity(checkout, address) < 0.15
    assert similarity(checkout, address, meaning_weight=tuned.meaning_weight) < tuned.threshold / 2


def test_vectors_of_another_encoder_are_not_compared_only_the_words() -> None:
    minilm = vector("Payment refused when I try to buy something", encoder="minilm")
    wordllama = vector("My card keeps getting declined at checkout", encoder="wordllama")
    words_only = similarity(minilm, wordllama)
    assert similarity(minilm, wordllama, meaning_weight=MINILM.meaning_weight) == words_only


def test_identifiers_are_split_at_camel_case_and_kept_whole() -> None:
    assert {"filesystem", "file", "system"} <= set(content_words("FileSystem crashed"))
    assert "#fs.s3a.connection.ssl.enabled" in word_terms("set fs.s3a.connection.ssl.enabled=true")


def test_a_stack_frame_is_one_term_its_class_and_method() -> None:
    terms = word_terms(
        "Upload fails\n\tat org.apache.hadoop.ipc.Client.call(Client.java:1476)\n"
        "   at System.IO.File.Open(String path) in C:\\app\\Upload.cs:line 12"
    )
    assert {"#client.call", "#file.open"} <= set(terms)
    assert not {"org", "apache", "ipc", "1476", "#client.java:1476", "#org.apache.hadoop.ipc.client.call"} & set(terms)


def test_reports_failing_in_the_same_method_outscore_ones_sharing_only_the_package_path() -> None:
    def trace(*frames: str) -> str:
        return "\n".join(f"\tat org.apache.hadoop.{f}" for f in frames)

    failing = vector("Job fails", trace("ipc.Client.call(Client.java:1476)", "fs.Path.toUri(Path.java:88)"))
    same_method = vector("Writes stall", trace("ipc.Client.call(Client.java:1502)", "hdfs.Lease.renew(Lease.java:9)"))
    same_package = vector("Reads stall", trace("yarn.Node.heartbeat(Node.java:12)", "mapred.Task.done(Task.java:7)"))
    assert similarity(failing, same_method) > 2 * similarity(failing, same_package)
    assert similarity(failing, same_package) < LEXICAL.threshold / 2  # the path's words made it 0.39


def test_a_pasted_blob_is_read_in_linear_time() -> None:
    started = time.perf_counter()
    word_terms("token: " + "Zm9v" * 1990 + " expired")
    assert time.perf_counter() - started < 0.1  # 0.6 s when the identifier pattern backtracked over it


def test_plural_and_tense_variants_meet_on_one_stem() -> None:
    assert word_terms("crashes")[0] == word_terms("crashing")[0] == word_terms("crashed")[0]


async def test_similar_lists_reports_of_other_customers_best_first(notifier: Notifier) -> None:
    customer = uuid.uuid4()
    mine = report("Checkout fails with payment error", customer_id=customer)
    my_other = report("Checkout payment error again", customer_id=customer)
    theirs = report("Payment error at checkout", "Checkout shows an error when I pay.")
    unrelated = report("Change my delivery address")
    await notifier.publish(mine, my_other, theirs, unrelated)

    response = await notifier.client.get(f"/v1/tickets/{mine.ticket_id}/similar", params={"k": 10})

    assert response.status_code == 200
    items = response.json()["items"]
    assert next(item["ticket_id"] for item in items) == str(theirs.ticket_id)
    assert str(my_other.ticket_id) not in {item["ticket_id"] for item in items}
    assert all(0 < item["score"] <= 1 for item in items)


async def test_similar_finds_a_paraphrase_sharing_no_word_among_unrelated_reports(notifier: Notifier) -> None:
    declined = report("My card keeps getting declined at checkout")
    unrelated = [report(subject, description) for subject, description in UNRELATED_REPORTS]
    refused = report("Payment refused when I try to buy something")
    await notifier.publish(declined, *unrelated, refused)

    items = (await notifier.client.get(f"/v1/tickets/{refused.ticket_id}/similar")).json()["items"]

    assert items[0]["ticket_id"] == str(declined.ticket_id)


async def test_similar_ranks_the_correctly_spelled_report_first_for_one_with_typos(notifier: Notifier) -> None:
    right = report("Password reset email never arrives", "I asked three times and got nothing.")
    unrelated = [report(subject, description) for subject, description in UNRELATED_REPORTS if "assword" not in subject]
    typos = report("Pasword reset emial never arives", "I askd three tims and got nothng.")
    await notifier.publish(right, *unrelated, typos)

    items = (await notifier.client.get(f"/v1/tickets/{typos.ticket_id}/similar")).json()["items"]

    assert items[0]["ticket_id"] == str(right.ticket_id)


@pytest.mark.parametrize("time_share", [0, 1 / 3])
async def test_similar_puts_the_report_opened_nearest_first_of_two_that_read_alike(
    make_notifier: object, time_share: float
) -> None:
    notifier: Notifier = await make_notifier(  # type: ignore[operator]
        duplicate_window_days=60, detection_time_share=time_share
    )
    now = datetime.now(UTC)
    earlier = report("Checkout fails with payment error", "Card payment error.", opened_at=now - timedelta(days=40))
    unrelated = [report(s, d, opened_at=now - timedelta(days=20)) for s, d in UNRELATED_REPORTS]
    nearer = report("Checkout fails with payment error", opened_at=now - timedelta(days=1))
    mine = report("Checkout fails with payment error", "Card payment error.", opened_at=now)
    await notifier.publish(earlier, *unrelated, nearer, mine)

    items = (await notifier.client.get(f"/v1/tickets/{mine.ticket_id}/similar")).json()["items"]

    by_text = [str(earlier.ticket_id), str(nearer.ticket_id)]
    assert [item["ticket_id"] for item in items[:2]] == (by_text[::-1] if time_share else by_text)
    assert items[0]["score"] != items[1]["score"]


async def test_the_lookups_read_the_postings_opened_around_the_report_on_both_sides(make_notifier: object) -> None:
    # Words only and the smallest budget: every report shares every term, so the 10 postings read per term on
    # each side of the report decide the candidates: the 10 opened last before it (its own posting, at its
    # time, is not one of them) and the 10 opened first after it, not the window's newest.
    notifier: Notifier = await make_notifier(  # type: ignore[operator]
        duplicate_window_days=30, detection_encoder="none", index_postings_per_term=10
    )
    middle = datetime.now(UTC) - timedelta(days=20)
    subject = "Checkout fails with payment error"
    before = [report(subject, opened_at=middle - timedelta(days=days)) for days in range(1, 16)]
    after = [report(subject, opened_at=middle + timedelta(days=days + 0.5)) for days in range(1, 15)]
    mine = report(subject, opened_at=middle)
    await notifier.publish(*before, mine, *after)

    items = (await notifier.client.get(f"/v1/tickets/{mine.ticket_id}/similar", params={"k": 50})).json()["items"]

    assert {item["ticket_id"] for item in items} == {str(event.ticket_id) for event in before[:10] + after[:10]}


async def test_a_new_reports_own_postings_take_no_place_in_the_lookups_budget(make_notifier: object) -> None:
    # The smallest budget, 10 postings read per term, and 10 earlier reports sharing every term: at intake
    # the new report is the window's newest under each of its terms, so a budget that counted its own
    # postings would read 9 of the others.
    notifier: Notifier = await make_notifier(  # type: ignore[operator]
        detection_encoder="none", index_postings_per_term=10
    )
    subject = "Checkout fails with payment error"
    earlier = [report(subject, opened_at=datetime.now(UTC) - timedelta(hours=hours)) for hours in range(1, 11)]
    await notifier.publish(*earlier)
    new = report(subject)
    config = DetectionConfig.from_settings(notifier.settings)
    async with notifier.runtime.database.session() as session:
        reading = await understand(config=config, subject=new.subject, description=new.description)
        detected = await report_service.detect(session=session, event=new, reading=reading, config=config)

    assert {match.ticket_id for match in detected.matches} == {event.ticket_id for event in earlier}


async def test_reports_outside_the_window_are_not_compared(make_notifier: object) -> None:
    notifier: Notifier = await make_notifier(duplicate_window_days=7)  # type: ignore[operator]
    old = report("Checkout fails with payment error", opened_at=datetime.now(UTC) - timedelta(days=10))
    new = report("Checkout fails with payment error")
    await notifier.publish(old, new)
    response = await notifier.client.get(f"/v1/tickets/{new.ticket_id}/similar")
    assert response.json()["items"] == []


async def test_similar_for_an_unknown_ticket_is_a_404_problem(notifier: Notifier) -> None:
    response = await notifier.client.get(f"/v1/tickets/{uuid.uuid4()}/similar")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_similar_refuses_a_k_out_of_range_naming_the_parameter(notifier: Notifier) -> None:
    response = await notifier.client.get(f"/v1/tickets/{uuid.uuid4()}/similar", params={"k": 0})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.k"


async def test_a_redelivered_ticket_event_is_indexed_once(notifier: Notifier) -> None:
    event = report("Checkout fails with payment error")
    envelope = event.to_cloudevent()
    topic = notifier.settings.topic(event.topic.name)
    await notifier.bus.publish(topic, [envelope])
    await notifier.bus.publish(topic, [envelope])
    await notifier.bus.wait_idle()
    other = report("Payment error at checkout")
    await notifier.publish(other)
    items = (await notifier.client.get(f"/v1/tickets/{other.ticket_id}/similar")).json()["items"]
    assert [item["ticket_id"] for item in items] == [str(event.ticket_id)]


async def test_detection_runs_with_the_garbage_collector_paused(
    notifier: Notifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its runs wait until the locked work is done (shared/heap.py), and the collector is on again after.
    collector_on: list[bool] = []
    detect = report_service.detect

    async def watched(**arguments: Any) -> Any:
        collector_on.append(gc.isenabled())
        return await detect(**arguments)

    monkeypatch.setattr(report_service, "detect", watched)
    await notifier.publish(report("Checkout fails with payment error"))

    assert collector_on == [False]
    assert gc.isenabled()
