"""rate limit counts shared by the replicas

Revision ID: 700402ec94f7
Revises: 6aaa2f4b91cd
Create Date: 2026-11-24 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "700402ec94f7"
down_revision: str | Sequence[str] | None = "6aaa2f4b91cd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counts",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False, comment="unix seconds, a multiple of 60"),
        sa.Column("replica_id", sa.String(length=32), nullable=False, comment="one process; new at every start"),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "window_start", "replica_id"),
    )
    op.create_index("ix_rate_limit_counts_window_start", "rate_limit_counts", ["window_start"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rate_limit_counts_window_start", table_name="rate_limit_counts")
    op.drop_table("rate_limit_counts")
