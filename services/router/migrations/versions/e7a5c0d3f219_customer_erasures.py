"""customer erasures: the audit of each right-to-erasure request

Revision ID: e7a5c0d3f219
Revises: b4e7c2a91d30
Create Date: 2026-12-07 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "e7a5c0d3f219"
down_revision: str | Sequence[str] | None = "b4e7c2a91d30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_erasures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_digest", sa.String(length=64), nullable=False, comment="HMAC-SHA256 of the customer id"),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False, comment="the API key that asked"),
        sa.Column("status", sa.String(length=20), nullable=False, comment="pending, then completed"),
        sa.Column("erased", sa.JSON(), nullable=False, comment="rows changed, by table"),
        sa.Column("requested_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", shared.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_digest"),
    )


def downgrade() -> None:
    op.drop_table("customer_erasures")
