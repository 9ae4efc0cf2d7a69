"""Admission control: a process at capacity answers 503 at once instead of everything late."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shared.metrics import ServiceMetrics
from shared.web.admission import AdmissionMiddleware


class SlowApp:
    """Endpoints that hold their slot until the test lets them go."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0
        self._arrivals = asyncio.Condition()

    async def work(self, _: Request) -> PlainTextResponse:
        async with self._arrivals:
            self.started += 1
            self._arrivals.notify_all()
        await self.release.wait()
        return PlainTextResponse("done")

    async def healthz(self, _: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def until_started(self, count: int) -> None:
        async with asyncio.timeout(2), self._arrivals:
            await self._arrivals.wait_for(lambda: self.started >= count)


def admitting(slow: SlowApp, metrics: ServiceMetrics, *, max_in_flight: int, queue_timeout: float) -> httpx.AsyncClient:
    routes = [Route("/work", slow.work), Route("/healthz", slow.healthz), Route("/v1/agents/me/events", slow.work)]
    app = Starlette(routes=routes)
    guarded = AdmissionMiddleware(app, max_in_flight=max_in_flight, queue_timeout=queue_timeout, metrics=metrics)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded), base_url="http://test")


def sample(metrics: ServiceMetrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(name)


async def test_a_request_past_capacity_gets_503_with_retry_after_and_nothing_runs() -> None:
    slow, metrics = SlowApp(), ServiceMetrics("test")
    async with admitting(slow, metrics, max_in_flight=2, queue_timeout=0.05) as client:
        running = [asyncio.create_task(client.get("/work")) for _ in range(2)]
        await slow.until_started(2)

        refused = await client.get("/work")

        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/overloaded")
        assert slow.started == 2, "a shed request never reaches the endpoint"
        assert sample(metrics, "firstcall_http_shed_total") == 1
        slow.release.set()
        assert [r.status_code for r in await asyncio.gather(*running)] == [200, 200]
        assert sample(metrics, "firstcall_http_in_flight") == 0


async def test_a_waiting_request_takes_the_slot_freed_within_the_queue_timeout() -> None:
    slow, metrics = SlowApp(), ServiceMetrics("test")
    async with admitting(slow, metrics, max_in_flight=1, queue_timeout=5.0) as client:
        first = asyncio.create_task(client.get("/work"))
        await slow.until_started(1)
        waiting = asyncio.create_task(client.get("/work"))
        await asyncio.sleep(0.05)
        assert slow.started == 1, "the second request waits for the slot"

        slow.release.set()

        assert (await first).status_code == 200
        assert (await waiting).status_code == 200
        assert sample(metrics, "firstcall_http_shed_total") == 0


async def test_probes_are_answered_even_at_capacity() -> None:
    slow, metrics = SlowApp(), ServiceMetrics("test")
    async with admitting(slow, metrics, max_in_flight=1, queue_timeout=0.01) as client:
        running = asyncio.create_task(client.get("/work"))
        await slow.until_started(1)

        assert (await client.get("/healthz")).status_code == 200

        slow.release.set()
        await running


async def test_open_event_streams_take_no_request_slot() -> None:
    slow, metrics = SlowApp(), ServiceMetrics("test")
    async with admitting(slow, metrics, max_in_flight=2, queue_timeout=0.05) as client:
        streams = [asyncio.create_task(client.get("/v1/agents/me/events")) for _ in range(2)]
        await slow.until_started(2)
        ordinary = asyncio.create_task(client.get("/work"))
        await slow.until_started(3)  # admitted although two streams are open and the limit is 2

        slow.release.set()
        assert [r.status_code for r in await asyncio.gather(*streams, ordinary)] == [200, 200, 200]
        assert sample(metrics, "firstcall_http_shed_total") == 0


@pytest.mark.parametrize("abandoned", [1, 3])
async def test_slots_are_returned_when_waiting_callers_give_up(abandoned: int) -> None:
    slow, metrics = SlowApp(), ServiceMetrics("test")
    async with admitting(slow, metrics, max_in_flight=1, queue_timeout=5.0) as client:
        first = asyncio.create_task(client.get("/work"))
        await slow.until_started(1)
        waiters = [asyncio.create_task(client.get("/work")) for _ in range(abandoned)]
        await asyncio.sleep(0.02)
        for waiter in waiters:
            waiter.cancel()
        slow.release.set()
        await first

        after = await client.get("/work")

        assert after.status_code == 200, "a cancelled waiter must not keep a slot"
