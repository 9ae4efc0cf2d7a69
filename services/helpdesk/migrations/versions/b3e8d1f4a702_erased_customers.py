"""erased customers: late events about them are skipped

Revision ID: b3e8d1f4a702
Revises: a9e425086974
Create Date: 2026-12-07 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "b3e8d1f4a702"
down_revision: str | Sequence[str] | None = "a9e425086974"
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
