"""ASGI middleware: correlation ids, request metrics, and the request-body limit.

Written as plain ASGI (not BaseHTTPMiddleware) so they add microseconds, not a task per request.
"""

from __future__ import annotations

import logging
import time

import orjson
from opentelemetry import trace
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import PROBLEM_BASE, PROBLEM_JSON
from shared.logs import CORRELATION_HEADER, new_correlation_id, set_correlation_id, set_service
from shared.metrics import ServiceMetrics

_HEADER = CORRELATION_HEADER.lower().encode()
# Probes and scrapes arrive every few seconds and would drown the lines that matter.
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
access_log = logging.getLogger("firstcall.access")
MAX_CORRELATION_ID = 128
_STAGED = "response_headers"


def stage_response_headers(request: Request, headers: dict[str, str]) -> None:
    """Headers for whatever answer this request gets: a success, a problem, or a replayed response."""
    staged: dict[str, str] = getattr(request.state, _STAGED, {})
    setattr(request.state, _STAGED, staged | headers)


class CorrelationAndMetricsMiddleware:
    """Bind the caller's correlation id (or a new one) to the request, echo it, and time the request."""

    def __init__(self, app: ASGIApp, *, service: str, metrics: ServiceMetrics) -> None:
        self.app, self.service, self.metrics = app, service, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(_HEADER, b"").decode("latin-1")[:MAX_CORRELATION_ID]
        cid = incoming or new_correlation_id()
        set_correlation_id(cid)
        set_service(self.service)
        # The request's span (FastAPI's, when the service traces; a no-op otherwise) names the id the logs carry.
        trace.get_current_span().set_attribute("firstcall.correlation_id", cid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    *_staged_headers(scope, message),
                    (_HEADER, cid.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            # The route template, never the raw path: ids in paths would explode the label cardinality.
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            elapsed = time.perf_counter() - started
            self.metrics.http_requests.labels(method, template, str(status)).inc()
            self.metrics.http_latency.labels(method, template).observe(elapsed)
            if template not in _QUIET_ROUTES:
                access_log.info(
                    "%s %s %d",
                    method,
                    scope["path"],
                    status,
                    extra={"route": template, "status": status, "duration_ms": round(elapsed * 1000, 2)},
                )
            set_correlation_id(None)


def _staged_headers(scope: Scope, message: Message) -> list[tuple[bytes, bytes]]:
    """The staged headers the response does not already carry (an endpoint's own value wins)."""
    staged: dict[str, str] = scope.get("state", {}).get(_STAGED, {})
    if not staged:
        return []
    present = {name.lower() for name, _ in message.get("headers", [])}
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in staged.items()
        if name.lower().encode("latin-1") not in present
    ]


class BodyLimitMiddleware:
    """Refuse request bodies over `max_bytes` with a 413 problem, before they are buffered.

    A declared Content-Length is refused up front; a streamed body is cut off once it passes the limit
    by raising HTTPException from `receive`, which FastAPI hands to the problem+json handlers.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._detail())
            return message

        await self.app(scope, limited_receive, send)

    def _detail(self) -> str:
        return f"Request body too large: the limit is {self.max_bytes} bytes"

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = orjson.dumps(
            {
                "type": PROBLEM_BASE + "payload-too-large",
                "title": self._detail(),
                "status": 413,
                "instance": scope.get("path", ""),
            }
        )
        headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
