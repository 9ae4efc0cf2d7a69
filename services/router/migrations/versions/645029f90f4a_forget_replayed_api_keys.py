"""forget the issued API keys that idempotency records kept in plain text for replays

Until now a POST /v1/api-keys stored its whole answer, the key included, to replay it to a retry for 24
hours. Retries now get a 409 naming the key and the record holds no key; the records written before go.

Revision ID: 645029f90f4a
Revises: 7b3e9d2a4c10
Create Date: 2026-12-07 12:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "645029f90f4a"
down_revision: str | Sequence[str] | None = "7b3e9d2a4c10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The scope is "<caller's key id> POST /v1/api-keys" (services/router/api/deps.py idempotency_scope).
    op.execute(sa.text("DELETE FROM idempotency_keys WHERE scope LIKE '% POST /v1/api-keys'"))


def downgrade() -> None:
    """Nothing to restore: the deleted keys must not come back."""
