"""detection terms rebuilt with the shared text analyser (Snowball stems)

Revision ID: e7b2d4a9c150
Revises: c3f8a1e5d702
Create Date: 2026-12-07 16:30:00.000000

The word terms of a report are hashes of its stems, and the stems changed (shared/text/analyser.py,
ANALYSER_VERSION 2): a report indexed before would share no term with one indexed after that words it the
same way. So every report still indexed (`features` set: erased ones have none) is read again in the order
it was received, its words weighed with the rarities of the reports before it as intake did, and its postings,
the term statistics and its stored lexical vector (`features`) are written anew. The meaning (`embedding`,
the bucket postings) does not depend on the words and stays. docs/decisions/0039-one-text-analyser.md.
"""

from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import shared.db
from services.notifier.detection.index import rarities
from services.notifier.detection.models import DOCUMENT_COUNT_TERM
from services.notifier.detection.similarity import ReportVector
from services.notifier.detection.text import spelling_vector, term_counts, weigh

revision: str = "e7b2d4a9c150"
down_revision: str | Sequence[str] | None = "c3f8a1e5d702"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000  # reports read, and rewritten, per round trip

reports = sa.table(
    "reports",
    sa.column("ticket_id", sa.Uuid()),
    sa.column("opened_at", shared.db.UtcDateTime()),
    sa.column("received_at", shared.db.UtcDateTime()),
    sa.column("subject", sa.String()),
    sa.column("text", sa.Text()),
    sa.column("features", sa.LargeBinary()),
)
report_terms = sa.table(
    "report_terms",
    sa.column("term", sa.BigInteger()),
    sa.column("opened_at", shared.db.UtcDateTime()),
    sa.column("ticket_id", sa.Uuid()),
    sa.column("weight", sa.Float()),
)
term_stats = sa.table("term_stats", sa.column("term", sa.BigInteger()), sa.column("reports", sa.Integer()))


def description_of(subject: str, text: str) -> str:
    """The description a report was given: `text` is the subject and the description on lines of their own."""
    if subject and text.startswith(subject):
        return text[len(subject) :].lstrip("\n")
    return text


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # In a rolling upgrade, replicas still on the old code go on indexing reports while this runs: one
        # indexed between the delete below and this revision's read of it would get its postings twice (a
        # unique violation the fault tier met). Intake waits for the rewrite instead; reads go on.
        bind.execute(sa.text("LOCK TABLE reports, report_terms, term_stats IN SHARE ROW EXCLUSIVE MODE"))
    bind.execute(sa.delete(report_terms))
    bind.execute(sa.delete(term_stats))
    stats: Counter[int] = Counter()
    after: tuple[Any, Any] | None = None
    while True:
        columns = (reports.c.ticket_id, reports.c.opened_at, reports.c.received_at, reports.c.subject, reports.c.text)
        query = sa.select(*columns).where(reports.c.features.is_not(None))
        if after is not None:
            query = query.where(sa.tuple_(reports.c.received_at, reports.c.ticket_id) > sa.tuple_(*after))
        rows = bind.execute(query.order_by(reports.c.received_at, reports.c.ticket_id).limit(BATCH)).all()
        if not rows:
            break
        postings: list[dict[str, Any]] = []
        features: list[dict[str, Any]] = []
        for ticket_id, opened_at, _, subject, text in rows:
            description = description_of(subject or "", text or "")
            counts = term_counts(subject or "", description)
            words = weigh(counts, rarities(stats, counts, adding=True))
            stats[DOCUMENT_COUNT_TERM] += 1
            stats.update(counts.keys())
            vector = ReportVector(words, spelling_vector(subject or "", description))
            features.append({"id": ticket_id, "blob": vector.to_bytes()})
            postings.extend(
                {"term": term, "opened_at": opened_at, "ticket_id": ticket_id, "weight": weight}
                for term, weight in zip(words.terms.tolist(), words.weights.tolist(), strict=True)
            )
        bind.execute(
            sa.update(reports).where(reports.c.ticket_id == sa.bindparam("id")).values(features=sa.bindparam("blob")),
            features,
        )
        for start in range(0, len(postings), BATCH * 10):
            bind.execute(sa.insert(report_terms), postings[start : start + BATCH * 10])
        after = (rows[-1].received_at, rows[-1].ticket_id)
    terms = sorted(stats.items())
    for start in range(0, len(terms), BATCH * 10):
        bind.execute(sa.insert(term_stats), [{"term": t, "reports": n} for t, n in terms[start : start + BATCH * 10]])


def downgrade() -> None:
    # The stems of the analyser before are gone with its code: the terms stay as this revision wrote them,
    # and reports indexed after a downgrade meet those before it less often until the window renews.
    pass
