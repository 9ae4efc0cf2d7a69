"""money stored in ten-thousandths instead of hundredths, for currencies with 3 and 4 minor units

Amounts were integers of cents (shared.db.Money), which cannot hold 1.234 KWD. They are now integers of
ten-thousandths (services.router.money.StoredMoney); the values already stored are multiplied by 100.

Revision ID: 34fdb1e71554
Revises: 645029f90f4a
Create Date: 2026-12-07 13:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "34fdb1e71554"
down_revision: str | Sequence[str] | None = "645029f90f4a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY_COLUMNS = (
    ("orders", "total"),
    ("order_items", "unit_price"),
    ("ledger_entries", "amount"),
    ("approvals", "amount"),
)


def upgrade() -> None:
    for table, column in MONEY_COLUMNS:
        op.execute(sa.text(f"UPDATE {table} SET {column} = {column} * 100"))


def downgrade() -> None:
    # Amounts finer than a cent (only in currencies with 3 or 4 minor units) lose their last digits.
    for table, column in MONEY_COLUMNS:
        op.execute(sa.text(f"UPDATE {table} SET {column} = {column} / 100"))
