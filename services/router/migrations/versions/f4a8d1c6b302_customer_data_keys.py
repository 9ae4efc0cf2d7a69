"""customer data keys: each customer's key for sealing personal fields in events, stored wrapped

Revision ID: f4a8d1c6b302
Revises: c3f1a7d92e40
Create Date: 2026-12-07 18:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "f4a8d1c6b302"
down_revision: str | Sequence[str] | None = "c3f1a7d92e40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_data_keys",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column(
            "wrapped_key",
            sa.LargeBinary(length=64),
            nullable=True,
            comment="nonce | AES-GCM(key-encryption key, data key); NULL once erased",
        ),
        sa.Column("created_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", shared.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("customer_id"),
    )


def downgrade() -> None:
    op.drop_table("customer_data_keys")
