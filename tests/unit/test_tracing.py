"""One trace per ticket across the three services: the request, the outbox, the bus and every consumer.

Embedded mode (the in-memory bus) with an in-memory span exporter per service; docs/decisions/0008-tracing.md.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from services.embedded import SERVICES, build_embedded
from shared import tracing
from shared.events.envelope import from_kafka
from shared.events.topics import TICKETS
from tests.conftest import wait_until
from tests.factories import ADMIN, service_settings, ticket_request
from tests.notifier_factories import OUTAGE_REPORTS
from tests.unit.conftest import Stack

TIMEOUT = 120.0  # the notifier's encoder loads on a loaded machine


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    for service in SERVICES:
        tracing.install(service, SimpleSpanProcessor(exporter))
    yield exporter
    for service in SERVICES:
        tracing.uninstall(service)


@pytest.fixture
async def traced(spans: InMemorySpanExporter, tmp_path: Path) -> AsyncIterator[Stack]:
    """The embedded stack, its services tracing into `spans` (installed before the apps are built)."""
    settings = [
        service_settings(name, data_dir=tmp_path, **({"detection_encoder": "wordllama"} if name == "notifier" else {}))
        for name in SERVICES
    ]
    bus, runtimes, apps = build_embedded(settings)
    for runtime in runtimes:
        await runtime.start()
    clients = {
        runtime.name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{runtime.name}", headers=ADMIN
        )
        for runtime, app in zip(runtimes, apps, strict=True)
    }
    yield Stack(bus, {runtime.name: runtime for runtime in runtimes}, clients)
    for client in clients.values():
        await client.aclose()
    for runtime in runtimes:
        await runtime.stop()
    await bus.stop()


def service_of(span: ReadableSpan) -> str:
    return str(span.resource.attributes["service.name"]).removeprefix("firstcall-")


def find(found: Sequence[ReadableSpan], *, service: str, kind: SpanKind, event_type: str) -> list[ReadableSpan]:
    return [
        span
        for span in found
        if service_of(span) == service
        and span.kind is kind
        and (span.attributes or {}).get("cloudevents.event_type") == f"firstcall.{event_type}"
    ]


def parent_of(found: Sequence[ReadableSpan], span: ReadableSpan) -> ReadableSpan:
    assert span.parent is not None, f"{span.name} has no parent"
    [parent] = [s for s in found if s.context is not None and s.context.span_id == span.parent.span_id]
    return parent


def linked_to(span: ReadableSpan, other: ReadableSpan) -> bool:
    assert other.context is not None
    return any(link.context.span_id == other.context.span_id for link in span.links)


async def open_outage(stack: Stack) -> list[str]:
    """Three customers report one outage: the notifier makes a problem of it (a detection)."""
    ids = []
    for n, (subject, description) in enumerate(OUTAGE_REPORTS[:3]):
        body = ticket_request(
            customer={"email": f"outage{n}@example.com", "name": f"Customer {n}"},
            subject=subject,
            description=description,
        )
        response = await stack.router.post("/v1/tickets", json=body)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def children(
    found: Sequence[ReadableSpan], parents: Sequence[ReadableSpan], *, service: str, kind: SpanKind, event_type: str
) -> list[ReadableSpan]:
    """The spans `find` gives whose parent is one of `parents` (a retried attempt has a span of its own)."""
    ids = {span.context.span_id for span in parents if span.context is not None}
    kinds = find(found, service=service, kind=kind, event_type=event_type)
    return [span for span in kinds if span.parent is not None and span.parent.span_id in ids]


async def detected_and_suggested(spans: InMemorySpanExporter) -> list[ReadableSpan] | None:
    """Every span, once the router and knowledge have handled the problem the notifier detected, and the
    router the suggestion for the ticket whose report made the problem."""
    found = spans.get_finished_spans()
    detections = find(found, service="notifier", kind=SpanKind.PRODUCER, event_type="problem.detected")
    consumed = [
        children(found, detections, service=service, kind=SpanKind.CONSUMER, event_type="problem.detected")
        for service in ("router", "knowledge")
    ]
    if not all(consumed):
        return None
    created = parent_of(found, parent_of(found, parent_of(found, consumed[0][0])))
    suggesting = children(found, [created], service="knowledge", kind=SpanKind.CONSUMER, event_type="ticket.opened")
    suggested = children(
        found, suggesting, service="knowledge", kind=SpanKind.PRODUCER, event_type="knowledge.suggested"
    )
    taken = children(found, suggested, service="router", kind=SpanKind.CONSUMER, event_type="knowledge.suggested")
    return list(found) if taken else None


async def test_a_tickets_spans_form_one_trace_from_the_request_to_the_detection_and_its_consumers(
    traced: Stack, spans: InMemorySpanExporter
) -> None:
    await open_outage(traced)
    found = await wait_until(lambda: detected_and_suggested(spans), timeout=TIMEOUT)

    [consumed, *_] = find(found, service="router", kind=SpanKind.CONSUMER, event_type="problem.detected")
    detection = parent_of(found, consumed)
    assert linked_to(consumed, detection)
    assert (service_of(detection), detection.kind) == ("notifier", SpanKind.PRODUCER)
    handling = parent_of(found, detection)
    assert (service_of(handling), handling.kind) == ("notifier", SpanKind.CONSUMER)
    assert (handling.attributes or {}).get("cloudevents.event_type") == "firstcall.ticket.opened"
    created = parent_of(found, handling)
    assert linked_to(handling, created)
    assert (service_of(created), created.kind, created.name) == ("router", SpanKind.PRODUCER, f"create {TICKETS.name}")
    request = parent_of(found, created)
    assert (service_of(request), request.kind, request.name) == ("router", SpanKind.SERVER, "POST /v1/tickets")
    assert request.parent is None

    assert children(found, [detection], service="knowledge", kind=SpanKind.CONSUMER, event_type="problem.detected")
    suggesting = children(found, [created], service="knowledge", kind=SpanKind.CONSUMER, event_type="ticket.opened")
    assert all(linked_to(span, created) for span in suggesting)
    suggested = children(
        found, suggesting, service="knowledge", kind=SpanKind.PRODUCER, event_type="knowledge.suggested"
    )
    assert children(found, suggested, service="router", kind=SpanKind.CONSUMER, event_type="knowledge.suggested")
    assert {span.context.trace_id for span in (consumed, suggested[0]) if span.context} == {
        request.context.trace_id if request.context else None
    }
    sends = [span for span in found if span.name.startswith("send ") and linked_to(span, created)]
    assert {(service_of(span), span.kind) for span in sends} == {("router", SpanKind.PRODUCER)}


async def test_an_event_carries_the_trace_context_of_its_creation_as_cloudevents_extension_attributes(
    traced: Stack, spans: InMemorySpanExporter
) -> None:
    response = await traced.router.post(
        "/v1/tickets", json=ticket_request(), headers={"X-Correlation-ID": "ivr-call-9"}
    )
    await traced.runtimes["router"].relay.flush(timeout=60)
    records = [from_kafka(r.value, r.headers) for r in traced.bus.records(TICKETS.name)]
    [opened] = [e for e in records if e.subject == response.json()["id"] and e.type == "firstcall.ticket.opened"]
    [created] = [
        span
        for span in spans.get_finished_spans()
        if (span.attributes or {}).get("cloudevents.event_id") == opened.id and span.kind is SpanKind.PRODUCER
    ]
    assert created.context is not None
    assert opened.traceparent is not None
    assert opened.traceparent.startswith(f"00-{created.context.trace_id:032x}-{created.context.span_id:016x}-")
    request = parent_of(spans.get_finished_spans(), created)
    assert (request.attributes or {}).get("firstcall.correlation_id") == "ivr-call-9"
    assert (created.attributes or {}).get("firstcall.correlation_id") == "ivr-call-9"


async def test_a_service_that_does_not_trace_creates_no_span_and_sends_no_trace_context(stack: Stack) -> None:
    response = await stack.router.post("/v1/tickets", json=ticket_request())
    await stack.runtimes["router"].relay.flush(timeout=60)
    records = [from_kafka(r.value, r.headers) for r in stack.bus.records(TICKETS.name)]
    [opened] = [e for e in records if e.subject == response.json()["id"] and e.type == "firstcall.ticket.opened"]
    assert opened.traceparent is None
    assert all(tracing.tracer(service) is None for service in SERVICES)


@dataclass
class Received:
    path: str
    content_type: str
    body: bytes


@contextlib.contextmanager
def otlp_collector() -> Iterator[tuple[str, list[Received]]]:
    """An HTTP server on a free port that keeps what is posted to it, as an OTLP/HTTP collector would."""
    received: list[Received] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(Received(self.path, self.headers["Content-Type"], body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_a_service_with_an_otlp_endpoint_exports_its_spans_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in tracing.STANDARD_ENDPOINTS:
        monkeypatch.delenv(name, raising=False)
    with otlp_collector() as (endpoint, received):
        settings = service_settings("router", data_dir=tmp_path, otel_exporter_otlp_endpoint=endpoint)
        provider = tracing.configure("router", settings)
        try:
            found = tracing.tracer("router")
            assert found is not None
            with found.start_as_current_span("probe-span"):
                pass
            assert isinstance(provider, SdkTracerProvider)
            assert provider.force_flush()
        finally:
            tracing.uninstall("router")
    [request] = received
    assert request.path == "/v1/traces"
    assert request.content_type == "application/x-protobuf"
    assert b"probe-span" in request.body
    assert b"firstcall-router" in request.body


def test_without_an_endpoint_a_service_has_no_provider_and_fastapi_makes_no_span(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in tracing.STANDARD_ENDPOINTS:
        monkeypatch.delenv(name, raising=False)
    settings = service_settings("knowledge", data_dir=tmp_path)
    assert tracing.configure("knowledge", settings) is None
    assert tracing.telemetry("knowledge", settings)["tracing"] is False
    assert tracing.tracer("knowledge") is None


def test_an_endpoint_that_is_not_an_http_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="otel_exporter_otlp_endpoint"):
        service_settings("router", data_dir=tmp_path, otel_exporter_otlp_endpoint="collector:4318")


def test_work_resumed_later_from_a_kept_context_continues_the_trace_as_a_child(spans: InMemorySpanExporter) -> None:
    found = tracing.tracer("notifier")
    assert found is not None
    with found.start_as_current_span("detection"):
        kept = tracing.current_context()
    with tracing.resumed("notifier", kept, "send notification"):
        pass
    detection, sending = sorted(spans.get_finished_spans(), key=lambda span: span.name)
    assert sending.parent is not None
    assert detection.context is not None
    assert (sending.parent.trace_id, sending.parent.span_id) == (detection.context.trace_id, detection.context.span_id)
    assert tracing.current_context() == {}


async def test_a_customer_notice_is_sent_in_the_trace_of_the_ticket_that_decided_it(
    traced: Stack, spans: InMemorySpanExporter
) -> None:
    # The third report makes the problem, and the problem's acknowledgements to its customers are decided in
    # that report's handling; the worker sends them later, from their rows, continuing that trace.
    await open_outage(traced)

    async def delivered() -> list[ReadableSpan] | None:
        found = spans.get_finished_spans()
        sends = [span for span in found if service_of(span) == "notifier" and span.name.startswith("deliver ")]
        return list(found) if sends else None

    found = await wait_until(delivered, timeout=TIMEOUT)
    send = next(span for span in found if service_of(span) == "notifier" and span.name.startswith("deliver "))
    handling = parent_of(found, send)
    assert (service_of(handling), handling.kind) == ("notifier", SpanKind.CONSUMER)
    assert (handling.attributes or {}).get("cloudevents.event_type") == "firstcall.ticket.opened"
    request = parent_of(found, parent_of(found, handling))
    assert (service_of(request), request.name, request.parent) == ("router", "POST /v1/tickets", None)
