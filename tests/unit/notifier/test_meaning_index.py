"""The embedding index: vectors stored in int8 keep their cosines, centroids learned from the reports
split them where they differ, and the maintenance re-learns the buckets as the window grows, with every
report of the window still found, before, during and after the switch to a new model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from sqlalchemy import event, func, select

from services.notifier.detection import centroids, embedding, upkeep
from services.notifier.detection import service as detection_service
from services.notifier.detection.buckets import ACTIVE, BUILDING, BucketModel
from services.notifier.detection.embedding import Meaning
from services.notifier.detection.models import DetectionModel, ReportBucket
from services.notifier.detection.service import DetectionConfig
from services.notifier.detection.similarity import ReportVector, similarity
from services.notifier.detection.text import spelling_vector, term_counts, weigh
from services.notifier.reports import service as report_service
from services.notifier.reports.models import Report
from shared.events.catalogue import TicketOpened
from tests.notifier_factories import OUTAGE_REPORTS, numbered_reports, report
from tests.unit.notifier.conftest import Notifier, NotifierFactory

SMALL_BUCKETS = {"detection_encoder": "wordllama", "index_reports_per_bucket": 4}


def vector_of(event: TicketOpened) -> ReportVector:
    """Words and n-grams only, with the window's term rarities unknown (as a lone report has them)."""
    counts = term_counts(event.subject, event.description)
    return ReportVector(weigh(counts), spelling_vector(event.subject, event.description))


def unit_rows(count: int, dimension: int, seed: int) -> NDArray[np.float32]:
    rows = np.random.default_rng(seed).normal(size=(count, dimension)).astype(np.float32)
    return np.asarray(rows / np.linalg.norm(rows, axis=1, keepdims=True), np.float32)


def test_a_vector_stored_in_int8_keeps_its_cosines() -> None:
    a, b = unit_rows(2, 384, seed=1)
    stored_a, stored_b = (Meaning.from_bytes(Meaning.quantize(v, encoder=7).to_bytes()) for v in (a, b))
    assert stored_a.encoder == 7
    assert abs(float(stored_a.unit() @ stored_b.unit()) - float(a @ b)) < 0.01
    assert abs(float(stored_a.unit() @ a) - 1.0) < 0.01


def test_a_postings_sketch_estimates_its_cosine_closely_enough_to_choose_what_is_rescored() -> None:
    # The probe ranks its postings by the cosine their sign bits estimate and re-scores the best exactly:
    # the estimate must keep neighbours in order, and a posting from before sketches is scored exactly.
    query, *others = unit_rows(6, 768, seed=4)
    cosines = [0.9, 0.7, 0.5, 0.3, 0.1]
    neighbours = []
    for cosine, other in zip(cosines, others, strict=True):
        away = other - (other @ query) * query
        neighbours.append(cosine * query + np.sqrt(1 - cosine**2) * away / np.linalg.norm(away))
    stored = [Meaning.quantize(np.asarray(vector, np.float32), encoder=7) for vector in neighbours]
    sketches = [meaning.sketch() for meaning in stored]
    assert {len(sketch) for sketch in sketches} == {768 // 8}
    assert embedding.sketches([meaning.to_bytes() for meaning in stored], 768) == sketches

    estimated = embedding.sketch_cosines(sketches, query)
    assert np.argsort(-estimated).tolist() == [0, 1, 2, 3, 4]
    assert np.abs(estimated - np.array(cosines)).max() < 0.1
    mixed = embedding.sketch_cosines([sketches[0], stored[1].to_bytes()], query)
    assert mixed[1] == pytest.approx(float(stored[1].unit() @ query), abs=1e-5)
    assert abs(mixed[0] - estimated[0]) < 1e-6


def test_learned_centroids_put_reports_about_one_thing_in_one_bucket() -> None:
    topics = unit_rows(4, 64, seed=2)
    noise = np.random.default_rng(3).normal(scale=0.05, size=(400, 64)).astype(np.float32)
    rows = topics[np.arange(400) % 4] + noise
    learned = centroids.learn(rows / np.linalg.norm(rows, axis=1, keepdims=True), 4)
    assigned = centroids.nearest(rows, learned)
    assert all(len(set(assigned[topic::4].tolist())) == 1 for topic in range(4))
    assert centroids.ranked(topics[0], learned, 2)[0] == assigned[0]


def test_a_model_posts_a_report_under_its_nearest_bucket_and_probes_the_nearest_ones() -> None:
    # bucket_of and probe share one product of the centroids with the vector (remembered for the last one).
    learned = unit_rows(32, 64, seed=4)
    model = BucketModel(1, ACTIVE, learned)
    for vector in unit_rows(5, 64, seed=5):
        assert model.bucket_of(vector) == int(centroids.nearest(vector[None, :], learned)[0])
        assert model.probe(vector, 4) == centroids.ranked(vector, learned, 4)
        assert model.probe(vector, 4)[0] == model.bucket_of(vector)
    assert BucketModel(2, ACTIVE, None).probe(learned[0], 4) == [0]


def test_the_buckets_grow_with_the_window_up_to_a_maximum() -> None:
    assert centroids.buckets_for(100, 256) == 1
    assert centroids.buckets_for(100_000, 256) == 390
    assert centroids.buckets_for(10_000_000, 256) == centroids.MAX_BUCKETS


async def models(notifier: Notifier) -> list[tuple[str, int, int]]:
    """(status, buckets, postings) of every model, oldest first."""
    async with notifier.runtime.database.session() as session:
        rows = (await session.execute(select(DetectionModel).order_by(DetectionModel.id))).scalars().all()
        found = []
        for model in rows:
            postings = await session.scalar(
                select(func.count()).select_from(ReportBucket).where(ReportBucket.model_id == model.id)
            )
            found.append((model.status, model.buckets, int(postings or 0)))
        return found


async def test_the_first_report_is_searched_in_one_bucket_until_the_window_is_big_enough(
    make_notifier: NotifierFactory,
) -> None:
    notifier = await make_notifier(**SMALL_BUCKETS)
    await notifier.publish(*numbered_reports(3))
    await notifier.runtime.extensions["index_maintenance"].settle()
    assert await models(notifier) == [(ACTIVE, 1, 3)]


async def test_the_maintenance_learns_buckets_as_the_window_grows_and_keeps_every_report(
    make_notifier: NotifierFactory,
) -> None:
    notifier = await make_notifier(**SMALL_BUCKETS)
    maintenance = notifier.runtime.extensions["index_maintenance"]
    reports = numbered_reports(40)
    await notifier.publish(*reports)
    await maintenance.settle()

    assert await models(notifier) == [(ACTIVE, 10, 40)]
    paraphrase = report("Payment keeps failing when I check out", "The card is fine but paying errors.")
    await notifier.publish(paraphrase)
    items = (await notifier.client.get(f"/v1/tickets/{paraphrase.ticket_id}/similar")).json()["items"]
    outage = {str(event.ticket_id) for event in reports if "heck" in event.subject}
    assert items[0]["ticket_id"] in outage


async def test_a_report_arriving_while_a_model_is_built_is_in_the_new_model(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(**SMALL_BUCKETS)
    database = notifier.runtime.database
    reports = numbered_reports(24)
    await notifier.publish(*reports[:12])
    await notifier.runtime.extensions["index_maintenance"].settle()
    await notifier.publish(*reports[12:])
    steps = notifier.runtime.extensions["index_maintenance"].upkeep
    async with database.session() as session:
        sample = await upkeep.step(session=session, upkeep=steps, now=datetime.now(UTC))
        assert isinstance(sample, upkeep.Sample)
        await upkeep.begin_building(
            session=session, encoder=steps.encoder, sample=sample, learned=sample.learn(), now=datetime.now(UTC)
        )
        await session.commit()

    late = report("Checkout payment error again today")
    await notifier.publish(late)
    assert [status for status, _, _ in await models(notifier)] == [ACTIVE, BUILDING]
    await notifier.runtime.extensions["index_maintenance"].settle()

    assert await models(notifier) == [(ACTIVE, 6, 25)]
    items = (await notifier.client.get(f"/v1/tickets/{late.ticket_id}/similar")).json()["items"]
    assert items[0]["score"] > 0.5


async def test_turning_embeddings_off_retires_the_models_and_words_still_match(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(**SMALL_BUCKETS)
    first, second = report(*OUTAGE_REPORTS[0]), report(*OUTAGE_REPORTS[1])
    await notifier.publish(first, second)
    without = upkeep.Upkeep(encoder=None, refresh=timedelta(days=7), reports_per_bucket=4)
    async with notifier.runtime.database.session() as session:
        while await upkeep.step(session=session, upkeep=without, now=datetime.now(UTC)):
            pass
        await session.commit()
        assert await session.scalar(select(func.count()).select_from(DetectionModel)) == 0
        assert await session.scalar(select(func.count()).select_from(ReportBucket)) == 0
        assert await session.scalar(select(func.count()).where(Report.embedding.is_not(None))) == 2

    items = (await notifier.client.get(f"/v1/tickets/{second.ticket_id}/similar")).json()["items"]
    assert [item["ticket_id"] for item in items] == [str(first.ticket_id)]


async def test_reports_encoded_before_the_encoder_changed_are_still_found_by_their_words(
    make_notifier: NotifierFactory,
) -> None:
    notifier = await make_notifier(detection_encoder="wordllama")
    old = report(*OUTAGE_REPORTS[0])
    await notifier.publish(old)
    config = DetectionConfig.from_settings(notifier.settings.model_copy(update={"detection_encoder": "minilm"}))
    new = report(*OUTAGE_REPORTS[1])
    async with notifier.runtime.database.session() as session:
        reading = await detection_service.understand(config=config, subject=new.subject, description=new.description)
        locked = await detection_service.lock_and_read(
            session=session, ticket_id=new.ticket_id, reading=reading, config=config
        )
        stored = await report_service.record_report(session=session, event=new)
        vector = await detection_service.index_report(
            session=session, report=stored, reading=reading, config=config, locked=locked
        )
        matches = await detection_service.neighbours(session=session, report=stored, vector=vector, config=config)

    assert [match.ticket_id for match in matches] == [old.ticket_id]
    assert matches[0].score == round(similarity(vector, vector_of(old)), 4)


async def test_a_report_is_written_once_with_its_vectors(notifier: Notifier) -> None:
    # Its row is INSERTed with the vectors rather than INSERTed and then UPDATEd with them: one statement
    # fewer while the detection lock is held. (Joining a cluster UPDATEs cluster_id, as it should.)
    await notifier.publish(report(*OUTAGE_REPORTS[0]))
    inserts: list[Any] = []
    vector_updates: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("INSERT INTO reports "):
            inserts.append(parameters)
        elif statement.startswith("UPDATE reports SET") and ("features" in statement or "embedding" in statement):
            vector_updates.append(statement)

    engine = notifier.runtime.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await notifier.publish(report(*OUTAGE_REPORTS[1]))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(inserts) == 1
    vectors = [value for value in inserts[0] if isinstance(value, bytes | memoryview) and len(value) > 100]
    assert len(vectors) == 2  # features and embedding
    assert vector_updates == []
