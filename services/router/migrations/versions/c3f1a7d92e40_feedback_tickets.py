"""feedback tickets: which tickets are feedback, of what kind, and their acknowledgement

Revision ID: c3f1a7d92e40
Revises: e7a5c0d3f219
Create Date: 2026-12-07 16:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "c3f1a7d92e40"
down_revision: str | Sequence[str] | None = "e7a5c0d3f219"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback_tickets",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False, comment="suggestion, complaint or compliment"),
        sa.Column("recognised_by", sa.String(length=10), nullable=False, comment="intent or agent"),
        sa.Column("intent", sa.String(length=100), nullable=True),
        sa.Column("agent_id", sa.Uuid(), nullable=True, comment="the agent who marked it, if one did"),
        sa.Column("acknowledgement", sa.Text(), nullable=False, comment="what the customer was told, quoting them"),
        sa.Column("actor", sa.String(length=100), nullable=False, comment="the API key, or router:feedback"),
        sa.Column("received_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_feedback_tickets_customer_id", "feedback_tickets", ["customer_id"])
    op.create_index("ix_feedback_tickets_received", "feedback_tickets", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_tickets_received", table_name="feedback_tickets")
    op.drop_index("ix_feedback_tickets_customer_id", table_name="feedback_tickets")
    op.drop_table("feedback_tickets")
