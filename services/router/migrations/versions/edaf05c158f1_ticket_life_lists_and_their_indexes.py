"""ticket life (statuses, audit, paused SLA clock), lists and their indexes

Revision ID: edaf05c158f1
Revises: 34fdb1e71554
Create Date: 2026-12-07 13:26:02.214105
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "edaf05c158f1"
down_revision: str | Sequence[str] | None = "34fdb1e71554"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESOLVED = sa.text("status = 'resolved'")
BREACHED = sa.text("sla_breached_at IS NOT NULL")
WAITING = sa.text("status = 'open' AND agent_id IS NULL")


def upgrade() -> None:
    op.create_table(
        "ticket_status_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("trigger", sa.String(length=30), nullable=False, comment="services/router/tickets/life.py Trigger"),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("agent_id", sa.Uuid(), nullable=True, comment="the agent who acted, if one did"),
        sa.Column(
            "actor", sa.String(length=100), nullable=False, comment="the API key, or router:<task> for the router's own"
        ),
        sa.Column("changed_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ticket_status_changes_ticket", "ticket_status_changes", ["ticket_id", "changed_at"])
    op.create_index("ix_ticket_notes_ticket_created", "ticket_notes", ["ticket_id", "created_at", "id"])
    op.drop_index("ix_ticket_notes_ticket_id", table_name="ticket_notes")
    op.add_column("tickets", sa.Column("status_changed_at", shared.db.UtcDateTime(timezone=True), nullable=True))
    op.add_column("tickets", sa.Column("sla_paused_at", shared.db.UtcDateTime(timezone=True), nullable=True))
    op.add_column("tickets", sa.Column("sla_paused_seconds", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column(
        "tickets", sa.Column("cancel_reason", sa.String(length=20), nullable=True, comment="duplicate or spam")
    )
    op.add_column(
        "tickets",
        sa.Column("duplicate_of_id", sa.Uuid(), nullable=True, comment="the ticket a cancelled duplicate repeats"),
    )
    # Tickets from before: their last change is the best known time of their last status change.
    op.execute("UPDATE tickets SET status_changed_at = updated_at WHERE status_changed_at IS NULL")
    op.create_index("ix_tickets_opened_id", "tickets", ["opened_at", "id"])
    op.drop_index("ix_tickets_opened_at", table_name="tickets")
    op.create_index("ix_tickets_updated_id", "tickets", ["updated_at", "id"])
    op.create_index("ix_tickets_status_opened", "tickets", ["status", "opened_at", "id"])
    op.create_index("ix_tickets_breached", "tickets", ["opened_at"], postgresql_where=BREACHED, sqlite_where=BREACHED)
    op.create_index(
        "ix_tickets_resolved_quiet", "tickets", ["updated_at"], postgresql_where=RESOLVED, sqlite_where=RESOLVED
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_resolved_quiet", table_name="tickets")
    op.drop_index("ix_tickets_breached", table_name="tickets")
    op.drop_index("ix_tickets_status_opened", table_name="tickets")
    op.drop_index("ix_tickets_updated_id", table_name="tickets")
    op.create_index("ix_tickets_opened_at", "tickets", ["opened_at"])
    op.drop_index("ix_tickets_opened_id", table_name="tickets")
    columns = ("duplicate_of_id", "cancel_reason", "sla_paused_seconds", "sla_paused_at", "status_changed_at")
    if op.get_bind().dialect.name == "sqlite":
        # The table is rebuilt there: its partial index is put back as written, not as reflected.
        op.drop_index("ix_tickets_waiting", table_name="tickets")
        with op.batch_alter_table("tickets") as batch:
            for column in columns:
                batch.drop_column(column)
        op.create_index(
            "ix_tickets_waiting", "tickets", ["channel", "priority_rank", "queued_at"], sqlite_where=WAITING
        )
    else:
        for column in columns:
            op.drop_column("tickets", column)
    op.create_index("ix_ticket_notes_ticket_id", "ticket_notes", ["ticket_id"])
    op.drop_index("ix_ticket_notes_ticket_created", table_name="ticket_notes")
    op.drop_index("ix_ticket_status_changes_ticket", table_name="ticket_status_changes")
    op.drop_table("ticket_status_changes")
