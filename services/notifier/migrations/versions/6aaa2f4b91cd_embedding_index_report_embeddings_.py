"""embedding index: report embeddings, detection models, report buckets

Revision ID: 6aaa2f4b91cd
Revises: 5a1507c566ec
Create Date: 2026-11-22 23:02:15.314529
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "6aaa2f4b91cd"
down_revision: str | Sequence[str] | None = "5a1507c566ec"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "detection_models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "encoder", sa.BigInteger(), nullable=False, comment="fingerprint of the encoder (embedding.fingerprint)"
        ),
        sa.Column("encoder_name", sa.String(length=200), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("buckets", sa.Integer(), nullable=False),
        sa.Column("centroids", sa.LargeBinary(), nullable=True, comment="float16, buckets x dimension"),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("trained_on", sa.Integer(), nullable=False, comment="reports in the window when learned"),
        sa.Column("created_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("activated_at", shared.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("filled_to_opened_at", shared.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("filled_to_ticket_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("detection_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_detection_models_status"), ["status"], unique=False)

    # The vector rides in the postings' primary key index (INCLUDE): a bucket probe is an index-only scan.
    op.create_table(
        "report_buckets",
        sa.Column("model_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("opened_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False, comment="embedding.Meaning bytes"),
        sa.PrimaryKeyConstraint("model_id", "bucket", "opened_at", "ticket_id", postgresql_include=["vector"]),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("embedding", sa.LargeBinary(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_reports_cluster_id"))
        batch_op.create_index("ix_reports_cluster_opened_at", ["cluster_id", "opened_at"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # Like `features`: the 388-byte vector stays in the row, so re-scoring candidates costs no TOAST lookup.
        op.execute("ALTER TABLE reports ALTER COLUMN embedding SET STORAGE MAIN")


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_cluster_opened_at")
        batch_op.create_index(batch_op.f("ix_reports_cluster_id"), ["cluster_id"], unique=False)
        batch_op.drop_column("embedding")

    op.drop_table("report_buckets")
    with op.batch_alter_table("detection_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_detection_models_status"))

    op.drop_table("detection_models")
