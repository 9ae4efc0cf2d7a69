"""the detection lock and the reads that follow it in one call; bucket postings carry a sketch

Revision ID: 1f6d3b8e2c47
Revises: 9d41c7e2a5b8
Create Date: 2026-11-24 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1f6d3b8e2c47"
down_revision: str | Sequence[str] | None = "9d41c7e2a5b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A report's intake takes the detection lock, checks that its ticket is not recorded yet and reads the term
# statistics and live bucket models it is indexed with: three round trips under a lock that serialises every
# replica's intake, one with this function (detection.service.lock_and_read). The reads are a statement of
# their own after PERFORM: a VOLATILE function takes a fresh snapshot per statement under READ COMMITTED, so
# they see what the lock's previous holder committed, as a separate statement from the client would.
LOCK_AND_READ = """
CREATE OR REPLACE FUNCTION detection_lock_and_read(
    lock_key bigint, ticket uuid, wanted_terms bigint[], model_encoder bigint, live text[]
) RETURNS TABLE (
    part text, term bigint, reports integer, model_id integer, status text, buckets integer,
    created_at timestamptz
)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN QUERY
        SELECT 'recorded'::text, NULL::bigint, NULL::integer, NULL::integer, NULL::text, NULL::integer,
            NULL::timestamptz
        FROM reports AS r WHERE r.ticket_id = ticket
        UNION ALL
        SELECT 'term', s.term, s.reports, NULL, NULL, NULL, NULL
        FROM term_stats AS s WHERE s.term = ANY(wanted_terms)
        UNION ALL
        SELECT 'model', NULL, NULL, m.id, m.status::text, m.buckets, m.created_at
        FROM detection_models AS m WHERE m.encoder = model_encoder AND m.status = ANY(live);
END
$$
"""
SKETCH = "embedding.Meaning.sketch (Meaning bytes in postings written before sketches)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite keeps no comments, and its intake reads with the ORM (no lock to take)
    # Postings written from now on hold a sketch of the vector, those already there the whole vector: the
    # probe scores each by its length (embedding.sketch_cosines) until the window passes the old ones by.
    op.alter_column("report_buckets", "vector", existing_type=sa.LargeBinary(), comment=SKETCH)
    op.execute(LOCK_AND_READ)


def downgrade() -> None:
    # Postings written as sketches stay: the code before this revision reads them as whole vectors, so a
    # downgrade also needs the embedding index rebuilt (its models retired; the upkeep learns a new one).
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS detection_lock_and_read(bigint, uuid, bigint[], bigint, text[])")
    op.alter_column("report_buckets", "vector", existing_type=sa.LargeBinary(), comment="embedding.Meaning bytes")
