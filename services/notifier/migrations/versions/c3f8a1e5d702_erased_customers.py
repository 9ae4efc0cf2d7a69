"""erased customers: late events about them are skipped

Revision ID: c3f8a1e5d702
Revises: 4d7a2c9e1b63
Create Date: 2026-12-07 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "c3f8a1e5d702"
down_revision: str | Sequence[str] | None = "4d7a2c9e1b63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erased_customers",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("erased_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )


def downgrade() -> None:
    op.drop_table("erased_customers")
