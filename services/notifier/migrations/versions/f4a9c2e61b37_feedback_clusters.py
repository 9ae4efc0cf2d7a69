"""feedback clusters and their voices, kept apart from problems; the one question after a resolution

Revision ID: f4a9c2e61b37
Revises: e7b2d4a9c150
Create Date: 2026-12-07 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "f4a9c2e61b37"
down_revision: str | Sequence[str] | None = "e7b2d4a9c150"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = shared.db.UtcDateTime(timezone=True)
    op.create_table(
        "feedback_clusters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("summary_text", sa.Text(), nullable=False, comment="the first voice's words"),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column(
            "unowned", sa.Boolean(), nullable=False, comment="no mapping named an owner: the default owner has it"
        ),
        sa.Column("owned_by", sa.String(length=120), nullable=True, comment="the mapping that named the owner"),
        sa.Column("voice_count", sa.Integer(), nullable=False),
        sa.Column("customer_count", sa.Integer(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("intents", sa.JSON(), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("last_voice_at", when, nullable=False),
        sa.Column("decision_due_at", when, nullable=False),
        sa.Column("escalated_at", when, nullable=True),
        sa.Column("escalated_to", sa.String(length=100), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True, comment="accepted, already_done or declined"),
        sa.Column("change", sa.Text(), nullable=True),
        sa.Column("change_due", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", when, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feedback_clusters_status_created", "feedback_clusters", ["status", "created_at"])
    op.create_index("ix_feedback_clusters_last_voice", "feedback_clusters", ["last_voice_at"])
    op.create_index("ix_feedback_clusters_owner", "feedback_clusters", ["owner"])
    op.create_index("ix_feedback_clusters_decision_due_at", "feedback_clusters", ["decision_due_at"])
    op.create_index("ix_feedback_clusters_decided_at", "feedback_clusters", ["decided_at"])
    op.create_table(
        "feedback_voices",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("cluster_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False, comment="subject and description, as the customer wrote them"),
        sa.Column("intent", sa.String(length=100), nullable=True),
        sa.Column("product", sa.String(length=100), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("features", sa.LargeBinary(), nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", when, nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["feedback_clusters.id"]),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_feedback_voices_cluster_received", "feedback_voices", ["cluster_id", "received_at"])
    op.create_index("ix_feedback_voices_received", "feedback_voices", ["received_at"])
    op.create_index("ix_feedback_voices_customer_id", "feedback_voices", ["customer_id"])
    op.create_table(
        "ticket_questions",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("intent", sa.String(length=100), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column(
            "counted_first_contact",
            sa.Boolean(),
            nullable=False,
            comment="firstcall counted it resolved at first contact",
        ),
        sa.Column("asked_at", when, nullable=False),
        sa.Column("answered_at", when, nullable=True),
        sa.Column("resolved_first_contact", sa.Boolean(), nullable=True, comment="the customer's own answer"),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("disputed", sa.Boolean(), nullable=False, comment="counted first contact, answered no"),
        sa.Column("followed_up_as", sa.String(length=20), nullable=True, comment="feedback or report: the free text"),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_ticket_questions_asked", "ticket_questions", ["asked_at"])
    op.create_index("ix_ticket_questions_answered", "ticket_questions", ["answered_at"])
    op.create_index("ix_ticket_questions_customer_id", "ticket_questions", ["customer_id"])


def downgrade() -> None:
    op.drop_table("ticket_questions")
    op.drop_table("feedback_voices")
    op.drop_table("feedback_clusters")
