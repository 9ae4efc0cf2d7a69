"""desktop webhooks: subscriptions per agent, team or contact center, and what addresses them

Revision ID: 4d7a2c9e1b63
Revises: 1f6d3b8e2c47
Create Date: 2026-12-07 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "4d7a2c9e1b63"
down_revision: str | Sequence[str] | None = "1f6d3b8e2c47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("secret_nonce", sa.String(length=64), nullable=True))
    op.add_column(
        "subscriptions",
        sa.Column(
            "audience",
            sa.String(length=10),
            server_default="ops",
            nullable=False,
            comment="ops, or a desktop's: agent, team, center",
        ),
    )
    op.add_column(
        "subscriptions",
        sa.Column("agent_id", sa.Uuid(), nullable=True, comment="the agent of an `agent` audience"),
    )
    op.create_index("ix_subscriptions_agent_id", "subscriptions", ["agent_id"], unique=False)
    op.create_index("ix_subscriptions_audience_team", "subscriptions", ["audience", "team"], unique=False)
    op.create_table(
        "desktop_agents",
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("updated_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent_id"),
    )
    op.create_table(
        "desktop_pending_approvals",
        sa.Column("approval_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("requested_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("approval_id"),
    )
    op.create_index(
        "ix_desktop_pending_approvals_requested_at", "desktop_pending_approvals", ["requested_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_desktop_pending_approvals_requested_at", table_name="desktop_pending_approvals")
    op.drop_table("desktop_pending_approvals")
    op.drop_table("desktop_agents")
    op.drop_index("ix_subscriptions_audience_team", table_name="subscriptions")
    op.drop_index("ix_subscriptions_agent_id", table_name="subscriptions")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("agent_id")
        batch.drop_column("audience")
        batch.drop_column("secret_nonce")
