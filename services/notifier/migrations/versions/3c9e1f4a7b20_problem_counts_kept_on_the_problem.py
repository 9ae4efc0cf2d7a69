"""problem counts kept on the problem; reports indexed by cluster and customer

Revision ID: 3c9e1f4a7b20
Revises: 700402ec94f7
Create Date: 2026-11-25 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c9e1f4a7b20"
down_revision: str | Sequence[str] | None = "700402ec94f7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("customer_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("intents", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("products", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_reports_cluster_customer", ["cluster_id", "customer_id", "opened_at"], unique=False)
    _count_existing_problems()


def _count_existing_problems() -> None:
    """Count the members of the problems already there, once (from now on each join moves the counts)."""
    op.execute(
        "UPDATE problems SET"
        " report_count = (SELECT count(*) FROM reports WHERE reports.cluster_id = problems.id),"
        " customer_count = (SELECT count(DISTINCT customer_id) FROM reports WHERE reports.cluster_id = problems.id)"
    )
    problems = sa.table(
        "problems", sa.column("id", sa.Uuid()), sa.column("intents", sa.JSON()), sa.column("products", sa.JSON())
    )
    reports = sa.table(
        "reports",
        sa.column("cluster_id", sa.Uuid()),
        sa.column("intent", sa.String()),
        sa.column("product", sa.String()),
    )
    bind = op.get_bind()
    facets: dict[object, tuple[set[str], set[str]]] = {}
    rows = bind.execute(
        sa.select(reports.c.cluster_id, reports.c.intent, reports.c.product)
        .where(reports.c.cluster_id.is_not(None))
        .where(sa.or_(reports.c.intent.is_not(None), reports.c.product.is_not(None)))
        .distinct()
    )
    for cluster_id, intent, product in rows:
        intents, products = facets.setdefault(cluster_id, (set(), set()))
        intents.update([intent] if intent else [])
        products.update([product] if product else [])
    for cluster_id, (intents, products) in facets.items():
        bind.execute(
            problems.update()
            .where(problems.c.id == cluster_id)
            .values(intents=sorted(intents), products=sorted(products))
        )


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_cluster_customer")
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.drop_column("products")
        batch_op.drop_column("intents")
        batch_op.drop_column("customer_count")
        batch_op.drop_column("report_count")
