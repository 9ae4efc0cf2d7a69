"""merge records (to undo a merge exactly) and fixes offered to a resolved problem's tickets

Revision ID: b4e7c2a91d30
Revises: edaf05c158f1
Create Date: 2026-12-07 15:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "b4e7c2a91d30"
down_revision: str | Sequence[str] | None = "edaf05c158f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_merges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("survivor_display_name", sa.String(length=200), nullable=True),
        sa.Column("survivor_owner_agent_id", sa.Uuid(), nullable=True),
        sa.Column("merged_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", shared.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(length=100), nullable=True),
        sa.Column("undo_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["merged_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["survivor_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_customer_merges_survivor_id", "customer_merges", ["survivor_id"])
    op.create_index("ix_customer_merges_merged_id", "customer_merges", ["merged_id"])
    op.create_table(
        "customer_merge_moves",
        sa.Column("merge_id", sa.Uuid(), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["merge_id"], ["customer_merges.id"]),
        sa.PrimaryKeyConstraint("merge_id", "table_name", "row_id"),
    )
    op.create_table(
        "offered_resolutions",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("problem_id", sa.Uuid(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("fix_version", sa.String(length=100), nullable=True),
        sa.Column("article_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False, comment="offered, accepted or auto_resolved"),
        sa.Column("offered_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", shared.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True, comment="the API key, or router:problem-fix"),
        sa.PrimaryKeyConstraint("ticket_id", "problem_id"),
    )


def downgrade() -> None:
    op.drop_table("offered_resolutions")
    op.drop_table("customer_merge_moves")
    op.drop_index("ix_customer_merges_merged_id", table_name="customer_merges")
    op.drop_index("ix_customer_merges_survivor_id", table_name="customer_merges")
    op.drop_table("customer_merges")
