"""deliveries keep the trace context they were decided in, so the send continues the ticket's trace

Revision ID: a1c5e9d3f270
Revises: f4a9c2e61b37
Create Date: 2026-12-07 17:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c5e9d3f270"
down_revision: str | Sequence[str] | None = "f4a9c2e61b37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not batch mode: SQLite adds and drops a column in place (3.35+), while a batch copy
# of `deliveries` would be refused by the foreign key of `delivery_attempts`.


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("traceparent", sa.String(length=55), nullable=True))
    op.add_column("deliveries", sa.Column("tracestate", sa.String(length=512), nullable=True))


def downgrade() -> None:
    op.drop_column("deliveries", "tracestate")
    op.drop_column("deliveries", "traceparent")
