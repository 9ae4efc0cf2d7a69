"""transfers kept for insight (by reason, intent, team, channel), and one row per digest period

Revision ID: d8e3f5a1c942
Revises: a1c5e9d3f270
Create Date: 2026-12-07 18:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "d8e3f5a1c942"
down_revision: str | Sequence[str] | None = "a1c5e9d3f270"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = shared.db.UtcDateTime(timezone=True)
    op.create_table(
        "ticket_transfers",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("transferred_at", when, nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("intent", sa.String(length=100), nullable=True, comment="the intent the ticket was opened with"),
        sa.Column("team", sa.String(length=100), nullable=True, comment="the team of the agent it moved away from"),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("ticket_id", "transferred_at"),
    )
    op.create_index("ix_ticket_transfers_transferred_at", "ticket_transfers", ["transferred_at"])
    op.create_table(
        "digest_periods",
        sa.Column("period_key", sa.String(length=64), nullable=False, comment="the scheduled time, ISO 8601"),
        sa.Column("range_start", when, nullable=False),
        sa.Column("range_end", when, nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False, comment="deliveries staged: addresses, and the webhook"),
        sa.Column("created_at", when, nullable=False),
        sa.PrimaryKeyConstraint("period_key"),
    )


def downgrade() -> None:
    op.drop_table("digest_periods")
    op.drop_index("ix_ticket_transfers_transferred_at", table_name="ticket_transfers")
    op.drop_table("ticket_transfers")
