"""feedback links: feedback clusters decided in RT

Revision ID: c4f7a2e9d318
Revises: b3e8d1f4a702
Create Date: 2026-12-07 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "c4f7a2e9d318"
down_revision: str | Sequence[str] | None = "b3e8d1f4a702"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback_links",
        sa.Column("cluster_id", sa.Uuid(), nullable=False, comment="the notifier's feedback cluster"),
        sa.Column("rt_ticket_id", sa.BigInteger(), nullable=True, comment="null until created in RT"),
        sa.Column("owner", sa.String(length=100), nullable=False, comment="the owner team, as the notifier named it"),
        sa.Column("queue", sa.String(length=200), nullable=True),
        sa.Column("voice_count", sa.Integer(), nullable=False, comment="voices the notifier had at the last look"),
        sa.Column("voices_shown", sa.Integer(), nullable=False, comment="voices written into the RT ticket so far"),
        sa.Column("decision_shown", sa.Boolean(), nullable=False, comment="the decision is shown in RT"),
        sa.Column(
            "rt_last_change_id",
            sa.BigInteger(),
            nullable=False,
            comment="RT transactions up to this id are read back (or were the bridge's own)",
        ),
        sa.Column(
            "rt_last_updated", shared.db.UtcDateTime(timezone=True), nullable=True, comment="RT LastUpdated when read"
        ),
        sa.Column("created_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cluster_id"),
        sa.UniqueConstraint("rt_ticket_id"),
    )


def downgrade() -> None:
    op.drop_table("feedback_links")
