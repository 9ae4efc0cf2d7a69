"""known issues: whether title and symptoms are still the machine's draft

Revision ID: a7c3e5f19b24
Revises: d4a9b2f6e813
Create Date: 2026-12-07 22:00:00.000000

Drafts no longer quote customers (decision 0031): a draft is remade on its problem's next event, unless a
person wrote its title or symptoms. Rows from before cannot tell, so every known issue of a problem not yet
fixed counts as a draft (its symptoms were redrafted on every problem event already; a title ops edited is
redrafted once: docs/knowledge.md); one with a fix, or with no problem, is a person's.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7c3e5f19b24"
down_revision: str | Sequence[str] | None = "d4a9b2f6e813"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "known_issues",
        sa.Column(
            "drafted",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
            comment="title and symptoms are the machine's draft from the problem, redrafted on its next event; "
            "false once a person wrote them",
        ),
    )
    op.execute(
        sa.text("UPDATE known_issues SET drafted = true WHERE problem_id IS NOT NULL AND status <> 'fix_available'")
    )


def downgrade() -> None:
    op.drop_column("known_issues", "drafted")
