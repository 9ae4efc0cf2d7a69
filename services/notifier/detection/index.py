"""The inverted index in the database: add a report, find candidates for a report, forget old reports.

Finding candidates never scans the window: it reads, for each of the query's most telling terms, the
`postings_per_term` most recent postings of the window (an index range scan on (term, opened_at)) or, for
the duplicate view of a report, as many opened last before it and first after it (two), and sums the
weights per report. The work per query is bounded by terms x postings, whatever the window holds.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.detection.models import DOCUMENT_COUNT_TERM, ReportTerm, TermStat
from services.notifier.detection.text import SparseVector
from shared.db import driver_fetch, one_of

# Detection reads the index and writes to it in one transaction; on PostgreSQL replicas take turns
# through this transaction-scoped lock, so each sees every report committed before it (no missed pair).
DETECTION_LOCK_KEY = 0x0F1257CA21
PRUNE_LOCK_KEY = 0x0F1257CA22
UPKEEP_LOCK_KEY = 0x0F1257CA23


@dataclass(frozen=True)
class Window:
    """The stretch of time a report is compared over. With `around` (the duplicate view, asked about a report
    at any time later), the lookups read the postings on both sides of that time; without it (intake, the
    report just opened, with few or no reports after it), the window's newest, one range scan each: a
    second scan per term and bucket cost detection 0.1-0.6 ms at its median under the lock."""

    start: datetime
    end: datetime
    around: datetime | None = None


def range_scans(columns: Sequence[Any], opened_at: Any, where: Sequence[Any], window: Window, count: int) -> list[Any]:
    """SQLite's form of `window_postings`, for one term or bucket: the `count` newest rows matching `where`
    in the window or, around a time, the `count` opened last before it and the `count` opened first after."""
    sides = (
        [((opened_at >= window.start, opened_at <= window.end), opened_at.desc())]
        if window.around is None
        else [
            ((opened_at >= window.start, opened_at <= window.around), opened_at.desc()),
            ((opened_at > window.around, opened_at <= window.end), opened_at.asc()),
        ]
    )
    return [
        select(*scan.c)
        for scan in (
            select(*columns).where(*where, *bounds).order_by(order).limit(count).subquery() for bounds, order in sides
        )
    ]


def window_postings(columns: str, table: str, where: str, *, around: str | None) -> str:
    """The inner lookup of a LATERAL scan (PostgreSQL): the $5 newest `table` rows matching `where` in the
    window ($3 start, $4 end) or, `around` a time (the statement's parameter holding it, "$7"), the $5
    opened last before it and the $5 opened first after it (two index range scans; no sort)."""
    if around is None:
        return f"""
            SELECT {columns} FROM {table}
            WHERE {where} AND opened_at >= $3 AND opened_at <= $4 ORDER BY opened_at DESC LIMIT $5
        """
    return f"""
        (SELECT {columns} FROM {table}
         WHERE {where} AND opened_at >= $3 AND opened_at <= {around} ORDER BY opened_at DESC LIMIT $5)
        UNION ALL
        (SELECT {columns} FROM {table}
         WHERE {where} AND opened_at > {around} AND opened_at <= $4 ORDER BY opened_at LIMIT $5)
    """


def is_postgres(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def lock_detection(session: AsyncSession) -> None:
    """Serialise detection across replicas until the caller's transaction ends (no-op on SQLite)."""
    if is_postgres(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DETECTION_LOCK_KEY})


async def try_lock(session: AsyncSession, key: int) -> bool:
    """Whether this replica does a piece of housekeeping now (one at a time; always on SQLite)."""
    if not is_postgres(session):
        return True
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(key, type_=Boolean))))


async def inverse_frequencies(session: AsyncSession, terms: Iterable[int], *, adding: bool) -> dict[int, float]:
    """Smoothed inverse document frequency of each term; `adding` counts the report being indexed."""
    wanted = [DOCUMENT_COUNT_TERM, *terms]
    found = one_of(TermStat.term, wanted, BigInteger(), sqlite=not is_postgres(session))
    counts = dict((await session.execute(select(TermStat.term, TermStat.reports).where(found))).all())
    return rarities(counts, wanted[1:], adding=adding)


def rarities(counts: Mapping[int, int], terms: Iterable[int], *, adding: bool) -> dict[int, float]:
    """`inverse_frequencies` from the term statistics' rows read (term -> reports, the document count
    under DOCUMENT_COUNT_TERM; a term without a row is in no report)."""
    extra = 1 if adding else 0
    documents = counts.get(DOCUMENT_COUNT_TERM, 0) + extra
    return {t: math.log((documents + 1) / (counts.get(t, 0) + extra + 1)) + 1.0 for t in terms}


async def add(session: AsyncSession, *, ticket_id: uuid.UUID, opened_at: datetime, words: SparseVector) -> None:
    """Post a report under each of its terms and count it in the term statistics (SQLite: on PostgreSQL a
    new report is written with its postings in one statement, see detection.service)."""
    terms = words.terms.tolist()
    if terms:
        await session.execute(
            insert(ReportTerm),
            [
                {"term": term, "opened_at": opened_at, "ticket_id": ticket_id, "weight": weight}
                for term, weight in zip(terms, words.weights.tolist(), strict=True)
            ],
        )
    await _count(session, [DOCUMENT_COUNT_TERM, *terms], +1)


async def remove(session: AsyncSession, postings: Sequence[tuple[uuid.UUID, datetime, Sequence[int]]]) -> None:
    """Take reports (ticket id, opened_at, terms) out of the postings and the statistics."""
    keys = [(term, opened_at, ticket_id) for ticket_id, opened_at, terms in postings for term in terms]
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        await session.execute(
            delete(ReportTerm).where(tuple_(ReportTerm.term, ReportTerm.opened_at, ReportTerm.ticket_id).in_(chunk))
        )
    counts: dict[int, int] = {DOCUMENT_COUNT_TERM: len(postings)}
    for _, _, terms in postings:
        for term in terms:
            counts[term] = counts.get(term, 0) + 1
    for term, n in counts.items():
        await session.execute(update(TermStat).where(TermStat.term == term).values(reports=TermStat.reports - n))
    await session.execute(delete(TermStat).where(TermStat.reports <= 0, TermStat.term != DOCUMENT_COUNT_TERM))


async def candidates(
    session: AsyncSession,
    *,
    query: SparseVector,
    window: Window,
    exclude: uuid.UUID | None,
    query_terms: int,
    postings_per_term: int,
    limit: int,
) -> list[tuple[uuid.UUID, float]]:
    """Reports sharing the query's most telling terms, by partial cosine, best first."""
    if len(query.terms) == 0:
        return []
    order = query.weights.argsort()[::-1][:query_terms]
    terms, weights = query.terms[order].tolist(), query.weights[order].tolist()
    if is_postgres(session):
        sql, around = (_LOOKUP, ()) if window.around is None else (_LOOKUP_AROUND, (window.around,))
        rows = await driver_fetch(
            session, sql, terms, weights, window.start, window.end, postings_per_term, limit, exclude, *around
        )
        return [(ticket_id, float(score)) for ticket_id, score in rows]
    # SQLite has no LATERAL: every term's range scans in one UNION ALL.
    scans = [
        scan
        for term, weight in zip(terms, weights, strict=True)
        for scan in range_scans(
            (ReportTerm.ticket_id, (ReportTerm.weight * literal(weight)).label("score")),
            ReportTerm.opened_at,
            (ReportTerm.term == term, ReportTerm.ticket_id.is_distinct_from(exclude)),
            window,
            postings_per_term,
        )
    ]
    hits = union_all(*scans).subquery()
    total = func.sum(hits.c.score).label("total")
    statement = select(hits.c.ticket_id, total).group_by(hits.c.ticket_id).order_by(total.desc()).limit(limit)
    return [(ticket_id, float(score)) for ticket_id, score in (await session.execute(statement)).all()]


# PostgreSQL: one statement of fixed shape (prepared once), per term index-only range scans on the covering
# primary key (`window_postings`), the report asked about ($7) left out there, so that its own posting takes
# no place of a term's budget; one statement for intake, one for the duplicate view (around $8).
_LOOKUP, _LOOKUP_AROUND = (
    f"""
    SELECT p.ticket_id, sum(p.weight * q.w) AS total
    FROM unnest($1::bigint[], $2::float8[]) AS q(term, w)
    CROSS JOIN LATERAL ({
        window_postings(
            "ticket_id, weight", "report_terms", "term = q.term AND ticket_id IS DISTINCT FROM $7::uuid", around=around
        )
    }) AS p
    GROUP BY p.ticket_id
    ORDER BY total DESC
    LIMIT $6
    """
    for around in (None, "$8")
)


async def _count(session: AsyncSession, terms: Sequence[int], delta: int) -> None:
    make = pg_insert if is_postgres(session) else sqlite_insert
    statement = make(TermStat)
    statement = statement.on_conflict_do_update(
        index_elements=[TermStat.term], set_={"reports": TermStat.reports + statement.excluded.reports}
    )
    await session.execute(statement, [{"term": term, "reports": delta} for term in terms])
