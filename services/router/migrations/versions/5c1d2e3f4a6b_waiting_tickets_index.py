"""an index of the waiting tickets only, by channel, for queue positions and the queue's head

Revision ID: 5c1d2e3f4a6b
Revises: 00eed6ce597c
Create Date: 2026-11-23 02:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1d2e3f4a6b"
down_revision: str | Sequence[str] | None = "00eed6ce597c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("status = 'open' AND agent_id IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_tickets_waiting",
        "tickets",
        ["channel", "priority_rank", "queued_at"],
        unique=False,
        postgresql_where=WAITING,
        sqlite_where=WAITING,
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_waiting", table_name="tickets")
