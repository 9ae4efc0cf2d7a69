"""How long the erasure sweep takes on a router database holding N tickets (PostgreSQL).

Run from the repository with the stack up: `.venv/bin/python bench/erasure_costs/sweep_cost.py 100000`.
"""

import asyncio
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from shared.db import Database
from shared.migrations import upgrade_to_head
from shared.redaction import spellings, sweep
from tests.stack import create_database, drop_database


async def main(n: int) -> None:
    name = f"fc_bench_sweep_{uuid.uuid4().hex[:6]}"
    db = Database(await create_database(name))
    try:
        await upgrade_to_head(db, Path("services/router/migrations"))
        async with db.engine.begin() as c:
            await c.execute(
                text(
                    "INSERT INTO customers (id, created_at) SELECT gen_random_uuid(), now() FROM generate_series(1, 1000)"
                )
            )
            await c.execute(
                text("""
              INSERT INTO tickets (id, customer_id, channel, subject, description, priority, priority_rank, status,
                                   attributes, required_skills, transfers, opened_at, updated_at, sla_paused_seconds)
              SELECT gen_random_uuid(), (SELECT id FROM customers OFFSET (g % 1000) LIMIT 1), 'phone',
                     'Card payment declined ' || g, repeat('My card was declined at checkout although I have funds. ', 9) || g,
                     'normal', 2, 'open', '{"product": "debit-card"}', '{}', 0, now(), now(), 0
              FROM generate_series(1, :n) g"""),
                {"n": n},
            )
            await c.execute(text("ANALYZE"))
            size = await c.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
        values = spellings(emails=["ada@example.com"], phones=["+442079460958"], names=["Ada Lovelace"])
        times = []
        for _ in range(3):
            async with db.session() as s:
                started = time.perf_counter()
                await sweep(s, values)
                times.append(time.perf_counter() - started)
                await s.rollback()
        print(
            f"tickets={n} db={size} values={len(values)} sweep_s={sorted(times)[1]:.2f} (runs {[round(t, 2) for t in times]})"
        )
    finally:
        await db.dispose()
        await drop_database(name)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
