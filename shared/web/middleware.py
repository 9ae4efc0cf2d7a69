"""ASGI middleware: correlation ids and request metrics.

Written as plain ASGI (not BaseHTTPMiddleware) so they add microseconds, not a task per request.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logs import CORRELATION_HEADER, new_correlation_id, set_correlation_id, set_service
from shared.metrics import ServiceMetrics

_HEADER = CORRELATION_HEADER.lower().encode()
MAX_CORRELATION_ID = 128


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
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (_HEADER, cid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            # The route template, never the raw path: ids in paths would explode the label cardinality.
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.http_requests.labels(method, template, str(status)).inc()
            self.metrics.http_latency.labels(method, template).observe(time.perf_counter() - started)
            set_correlation_id(None)
