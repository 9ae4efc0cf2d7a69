"""A synthetic window of reports for the notifier's scale benchmark, loaded into PostgreSQL in bulk.

Words: drawn from a Zipf distribution over a 30,000-word vocabulary, as natural text is, opened over the
last 7 days, term-indexed exactly as the consumer indexes them. Meanings: a sentence encoder reads random
letter strings as one blur (every such report would be a near-duplicate of every other), so the vectors
come from real reports instead: the GitBugs/Hadoop and StackFAQ texts, split in two. One part (the pool)
is encoded once, and each bulk-loaded report gets the normalised sum of two pooled vectors plus a little
noise: encoding a million texts would take hours, and such mixtures are as far apart as real reports are
(mean cosine 0.2, 99th percentile 0.53, against 0.13 and 0.52 between the real texts). The other part
(the probes) gives the new reports of the measurement their meaning, encoded live: texts the window has
not seen, some of them true duplicates of each other. The embedding index itself is left to the
notifier's maintenance, as in a live window.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import uuid
from collections import Counter
from datetime import datetime, timedelta

import asyncpg
import numpy as np
from numpy.typing import NDArray
from sqlalchemy.engine import make_url

from bench.notifier_quality import EVALDATA, hadoop, stackfaq
from services.notifier.detection.embedding import Meaning, MeaningEncoder, report_text
from services.notifier.detection.models import DOCUMENT_COUNT_TERM
from services.notifier.detection.similarity import ReportVector
from services.notifier.detection.text import spelling_vector, term_counts, weigh
from tests.stack import drop_database_on

VOCABULARY = 30_000
CHUNK = 20_000
WINDOW = timedelta(days=7)
NOISE = 0.02  # per dimension, on a mixture of two pooled vectors
PROBES = 400  # real texts kept out of the pool per window size (a warm-up and a measurement)


class Corpus:
    """Synthetic reports whose word frequencies follow Zipf's law, reproducibly."""

    def __init__(self, seed: int = 42) -> None:
        # One vocabulary for every corpus (new reports speak the window's language); `seed` varies the texts.
        vocabulary_rng = np.random.default_rng(42)
        self.rng = np.random.default_rng(seed)
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
        words = {
            "".join(vocabulary_rng.choice(letters, size=int(vocabulary_rng.integers(4, 10))))
            for _ in range(VOCABULARY * 2)
        }
        self.words = np.array(sorted(words)[:VOCABULARY])
        ranks = np.arange(1, len(self.words) + 1)
        self.p = (1 / ranks**1.07) / np.sum(1 / ranks**1.07)

    def report(self) -> tuple[str, str]:
        subject = " ".join(self.rng.choice(self.words, size=6, p=self.p))
        description = " ".join(self.rng.choice(self.words, size=int(self.rng.integers(10, 40)), p=self.p))
        return subject, description


def real_texts(probes: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(pool, probes): the benchmark datasets' reports, shuffled reproducibly, `probes` of them held out."""
    reports, _ = hadoop()
    texts = [(summary, description) for summary, description, _ in reports.values()]
    if (EVALDATA / "stackfaq").exists():
        texts += [(paraphrase, "") for _, paraphrase in stackfaq()]
    random.Random(3).shuffle(texts)
    return texts[probes:], texts[:probes]


class MeaningPool:
    """Embeddings for bulk-loaded reports: mixtures of two pooled encodings of real reports, with noise."""

    def __init__(self, encoder: MeaningEncoder | None, texts: list[tuple[str, str]]) -> None:
        self.encoder = encoder
        self.rng = np.random.default_rng(7)
        self.units: NDArray[np.float32] = np.zeros((0, 0), np.float32)
        if encoder is not None:
            self.units = encoder.encoder.encode([report_text(subject, description) for subject, description in texts])

    def draw(self) -> bytes | None:
        if self.encoder is None:
            return None
        mixed = self.units[self.rng.integers(len(self.units), size=2)].sum(axis=0)
        mixed += self.rng.normal(0.0, NOISE, mixed.shape).astype(np.float32)
        mixed /= np.linalg.norm(mixed)
        return Meaning.quantize(mixed, self.encoder.fingerprint).to_bytes()


async def connect(url: str) -> asyncpg.Connection:
    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, password=parsed.password, database=parsed.database
    )


def database_url(template: str, name: str) -> str:
    """The URL of database `name` on the server the services' URL template points at."""
    return make_url(template.replace("{service}", "x")).set(database=name).render_as_string(hide_password=False)


async def create_database(template: str, name: str) -> str:
    admin = await connect(database_url(template, "postgres"))
    try:
        await drop_database_on(admin, name)
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return database_url(template, name)


async def drop_database(template: str, name: str) -> None:
    admin = await connect(database_url(template, "postgres"))
    try:
        await drop_database_on(admin, name)
    finally:
        await admin.close()


async def bulk_load(
    url: str, corpus: Corpus, pool: MeaningPool, *, count: int, idf: dict[int, float], now: datetime
) -> None:
    """Append `count` term-indexed reports with COPY, as the consumer would have indexed them one by one."""
    connection = await connect(url)
    try:
        for start in range(0, count, CHUNK):
            reports: list[tuple[object, ...]] = []
            postings: list[tuple[int, datetime, uuid.UUID, float]] = []
            seen: Counter[int] = Counter()
            for _ in range(min(CHUNK, count - start)):
                subject, description = corpus.report()
                vector = ReportVector(
                    weigh(term_counts(subject, description), idf), spelling_vector(subject, description)
                )
                ticket_id = uuid.uuid4()
                opened = now - WINDOW * float(corpus.rng.random())
                text = f"{subject}\n{description}"
                reports.append(
                    (ticket_id, uuid.uuid4(), "web", text, opened, now, subject, vector.to_bytes(), pool.draw())
                )
                terms = vector.words.terms.tolist()
                postings.extend(
                    (int(t), opened, ticket_id, float(w))
                    for t, w in zip(terms, vector.words.weights.tolist(), strict=True)
                )
                seen.update(terms)
            columns = ["ticket_id", "customer_id", "channel", "text", "opened_at", "received_at", "subject"]
            await connection.copy_records_to_table(
                "reports", records=reports, columns=[*columns, "features", "embedding"]
            )
            await connection.copy_records_to_table(
                "report_terms", records=postings, columns=["term", "opened_at", "ticket_id", "weight"]
            )
            seen[DOCUMENT_COUNT_TERM] = len(reports)
            await connection.executemany(
                "INSERT INTO term_stats (term, reports) VALUES ($1, $2) "
                "ON CONFLICT (term) DO UPDATE SET reports = term_stats.reports + EXCLUDED.reports",
                list(seen.items()),
            )
        await connection.execute("VACUUM ANALYZE")  # what autovacuum does for a live window
    finally:
        await connection.close()


async def vacuum(url: str) -> None:
    """What autovacuum does for a live window (after the maintenance filled a model)."""
    connection = await connect(url)
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def write_out(url: str) -> str:
    """Let the machine finish writing a bulk load before anything is timed; what was done, for the table.

    A live window is written a report at a time; a bulk-loaded one leaves PostgreSQL's checkpoint and the
    kernel's writeback gigabytes to write, for minutes, over the first measurements (docs/decisions/0027).
    CHECKPOINT needs the pg_checkpoint role (deploy/postgres.sh grants it on the local cluster); os.sync()
    then flushes what the kernel holds (the local cluster's files)."""
    connection = await connect(url)
    try:
        await connection.execute("CHECKPOINT")
        done = "checkpoint and sync"
    except asyncpg.InsufficientPrivilegeError:
        done = "sync only (this role may not CHECKPOINT)"
    finally:
        await connection.close()
    await asyncio.to_thread(os.sync)
    return done


def rarity(corpus: Corpus, sample: int = 20_000) -> dict[int, float]:
    """Inverse document frequencies estimated on a sample (the corpus is stationary)."""
    df: Counter[int] = Counter()
    for _ in range(sample):
        df.update(term_counts(*corpus.report()).keys())
    return {t: math.log((sample + 1) / (n + 1)) + 1.0 for t, n in df.items()}
