"""What keeping ticket texts out of events costs a consumer: one GET /v1/tickets/{id} per event (in-process).

Run from the repository: `.venv/bin/python bench/erasure_costs/fetch_cost.py`.
"""

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from services.router import bootstrap
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from tests.factories import ADMIN, service_settings, ticket_request


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = service_settings("router", data_dir=Path(tmp), sla_check_seconds=3600)
        bus = InMemoryBus(physical_topics(settings))
        runtime = bootstrap.build_runtime(settings, bus=bus)  # type: ignore[arg-type]
        await runtime.start()
        app = bootstrap.create_app(runtime, manage_runtime=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r", headers=ADMIN) as c:
            ids = [(await c.post("/v1/tickets", json=ticket_request())).json()["id"] for _ in range(20)]
            for i in ids:
                await c.get(f"/v1/tickets/{i}")
            runs = []
            for _ in range(5):
                t = time.perf_counter()
                for _ in range(10):
                    for i in ids:
                        await c.get(f"/v1/tickets/{i}")
                runs.append((time.perf_counter() - t) / 200 * 1000)
        print(
            f"GET /v1/tickets/{{id}} in-process (SQLite, no network): median {statistics.median(runs):.2f} ms, runs {[round(r, 2) for r in runs]}"
        )
        await runtime.stop()
        await bus.stop()


if __name__ == "__main__":
    asyncio.run(main())
