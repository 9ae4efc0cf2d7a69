"""The migration that comes with the shared text analyser rebuilds the detection terms of every indexed
report as intake would have written them (docs/decisions/0039-one-text-analyser.md)."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from services.notifier.bootstrap import MIGRATIONS
from shared.migrations import alembic_config, upgrade_to_head
from tests.notifier_factories import outage, report
from tests.unit.notifier.conftest import Notifier

BEFORE = "c3f8a1e5d702"


async def index_rows(notifier: Notifier) -> dict[str, Any]:
    async with notifier.runtime.database.engine.connect() as conn:
        return {
            "terms": sorted((await conn.execute(text("SELECT term, ticket_id, weight FROM report_terms"))).all()),
            "stats": sorted((await conn.execute(text("SELECT term, reports FROM term_stats"))).all()),
            "features": sorted((await conn.execute(text("SELECT ticket_id, features FROM reports"))).all()),
        }


async def test_terms_of_the_old_analyser_are_rebuilt_as_intake_writes_them(notifier: Notifier) -> None:
    crash = report("FileSystem.listStatus crashes", "Listing a directory crashed the NameNode twice today.")
    await notifier.publish(*outage(4), crash)
    written = await index_rows(notifier)
    assert written["terms"]
    database = notifier.runtime.database
    async with database.engine.begin() as conn:
        # What the analyser before left: other hashes for the same words, and counts of them.
        await conn.execute(text("UPDATE report_terms SET term = term + 1"))
        await conn.execute(text("UPDATE term_stats SET term = term + 1 WHERE term <> 0"))
        await conn.execute(text("UPDATE reports SET features = X'00' WHERE features IS NOT NULL"))
    config = alembic_config(MIGRATIONS, database.url.render_as_string(hide_password=False))

    def downgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, BEFORE)

    async with database.engine.begin() as conn:
        await conn.run_sync(downgrade)
    await upgrade_to_head(database, MIGRATIONS)

    assert await index_rows(notifier) == written
