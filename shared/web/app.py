"""The FastAPI application every service is built on: lifespan, middleware, errors, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.ext.asyncio import AsyncSession

from shared import blas, heap, tracing
from shared.errors import install_problem_handlers
from shared.runtime import ServiceRuntime
from shared.web.admission import AdmissionMiddleware
from shared.web.conditional import NotModifiedMiddleware
from shared.web.json_guard import JsonGuardMiddleware
from shared.web.middleware import BodyLimitMiddleware, CorrelationAndMetricsMiddleware
from shared.web.openapi import install_openapi, readable_operation_id

# What /readyz answers, ready or not (a JSON report, not a problem: probes and people read it).
_READINESS = {"application/json": {"schema": {"type": "object", "additionalProperties": True}}}


def create_service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    version: str = "1.0.0",
    manage_runtime: bool = True,
) -> FastAPI:
    """A service's app; with `manage_runtime` its lifespan starts and stops the runtime."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            blas.use_one_thread()  # before the models load: their products must not leave a thread spinning
            heap.reuse_freed_memory()  # shared/heap.py: no page fault per large temporary array
            await runtime.start()
            heap.settle()  # the service's long-lived state is built: keep it out of full collections
        try:
            yield
        finally:
            if manage_runtime:
                await runtime.stop()

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        generate_unique_id_function=readable_operation_id,  # `listTickets`, not `list_tickets_v1_tickets_get`
        # A server span per request when the service traces (shared/tracing.py); off otherwise.
        telemetry=tracing.telemetry(runtime.name, runtime.settings),
    )
    install_openapi(app)  # each operation's real error statuses, derived from the routes (shared/web/openapi.py)
    app.state.runtime = runtime
    app.add_middleware(NotModifiedMiddleware)  # innermost: it sees the ETag the route set
    app.add_middleware(JsonGuardMiddleware)  # inside the body limit: what it buffers is bounded
    app.add_middleware(BodyLimitMiddleware, max_bytes=runtime.settings.max_body_bytes)
    # Inside the metrics middleware, so shed requests are counted and logged with their 503.
    app.add_middleware(
        AdmissionMiddleware,
        max_in_flight=runtime.settings.http_max_in_flight,
        queue_timeout=runtime.settings.http_queue_timeout_ms / 1000,
        metrics=runtime.metrics,
    )
    app.add_middleware(CorrelationAndMetricsMiddleware, service=runtime.name, metrics=runtime.metrics)
    install_problem_handlers(app)
    app.include_router(_operations_router())
    for router in routers:
        app.include_router(router)
    return app


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: database reachable (503 if not); bus reported, degraded while down",
        responses={
            200: {"content": _READINESS},
            503: {"description": "The database is unreachable", "content": _READINESS},
        },
    )
    async def readyz(runtime: RuntimeDep) -> JSONResponse:
        ready, report = await runtime.readiness()
        return JSONResponse(report, status_code=200 if ready else 503)

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
    )
    async def get_metrics(runtime: RuntimeDep) -> Response:
        return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return router


async def get_runtime(request: Request) -> ServiceRuntime:
    """async, so FastAPI calls it inline instead of hopping to a worker thread on every request."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A session for one request; views commit through service functions, never implicitly."""
    async with runtime.database.session() as session:
        yield session


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
