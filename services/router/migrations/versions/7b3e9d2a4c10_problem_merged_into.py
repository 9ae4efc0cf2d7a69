"""the problem ops merged a problem into, so late events about it land on the survivor

Revision ID: 7b3e9d2a4c10
Revises: 5c1d2e3f4a6b
Create Date: 2026-11-23 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7b3e9d2a4c10"
down_revision: str | Sequence[str] | None = "5c1d2e3f4a6b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("problems", sa.Column("merged_into_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.drop_column("merged_into_id")
