"""problem summary authors: whose words a problem's summary is, so that erasing them erases it

Revision ID: a9c2e5f17b04
Revises: f4a8d1c6b302
Create Date: 2026-12-07 22:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a9c2e5f17b04"
down_revision: str | Sequence[str] | None = "f4a8d1c6b302"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "problems",
        sa.Column(
            "summary_author_id",
            sa.Uuid(),
            nullable=True,
            comment="the customer whose words the summary is; NULL when not known",
        ),
    )


def downgrade() -> None:
    op.drop_column("problems", "summary_author_id")
