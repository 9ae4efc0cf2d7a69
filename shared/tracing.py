"""OpenTelemetry traces: one trace from an HTTP request through the outbox and the bus to every consumer.

Off unless an OTLP endpoint is configured (FIRSTCALL_OTEL_EXPORTER_OTLP_ENDPOINT, or the standard
OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). Then each service gets a tracer provider
of its own, named after it even when embedded mode runs three services in one process, exporting in batches
over OTLP/HTTP. Off, nothing is created: no provider, no span, the SDK not even imported.

Spans follow OpenTelemetry's messaging conventions (docs/decisions/0008-tracing.md): FastAPI's own server
span per request; a `create <topic>` producer span per event staged in the outbox, whose context the event
carries as the CloudEvents distributed-tracing extension (`traceparent`, `tracestate`); a `send <topic>`
span per batch the relay publishes, linked to the events' contexts; a `process <topic>` consumer span per
delivery attempt, child of the event's context (one trace end to end) and linked to it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from shared.events.envelope import CloudEvent, EncodedEvent

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

    from shared.settings import ServiceSettings

SCOPE = "firstcall"
STANDARD_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_PROPAGATOR = TraceContextTextMapPropagator()
_providers: dict[str, TracerProvider] = {}
_tracers: dict[str, Tracer] = {}


def configure(service: str, settings: ServiceSettings) -> TracerProvider | None:
    """The service's tracer provider: the one installed already, or a new OTLP one if an endpoint is set."""
    if service in _providers:
        return _providers[service]
    # A stand-in runtime (tests/unit/test_blas.py) carries only the settings the app reads besides: no endpoint.
    endpoint: str | None = getattr(settings, "otel_exporter_otlp_endpoint", None)
    if endpoint is None and not any(os.environ.get(name) for name in STANDARD_ENDPOINTS):
        return None
    # Imported here, not above: a second of imports that a service without tracing never pays.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    # Without an endpoint of ours the exporter reads the standard variables itself (and their headers).
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces") if endpoint else OTLPSpanExporter()
    return install(service, BatchSpanProcessor(exporter))


def telemetry(service: str, settings: ServiceSettings) -> TelemetryConfig:
    """FastAPI's own request spans, into the service's provider when it traces; otherwise FastAPI's telemetry
    is off entirely. Metrics and logs stay Prometheus and JSON lines (shared/metrics.py, shared/logs.py)."""
    found = configure(service, settings)
    return {
        "tracing": found is not None,
        "tracer_provider": found,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
    }


def install(service: str, *processors: SpanProcessor) -> TracerProvider:
    """Give `service` a tracer provider of its own, feeding these span processors (tests: an in-memory one)."""
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415 (as in configure)
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider  # noqa: PLC0415

    provider = SdkTracerProvider(
        resource=Resource.create({"service.name": f"firstcall-{service}", "service.namespace": "firstcall"})
    )
    for processor in processors:
        provider.add_span_processor(processor)
    _providers[service] = provider
    _tracers.pop(service, None)
    return provider


def uninstall(service: str) -> None:
    """Export what is pending and stop tracing `service`."""
    provider = _providers.pop(service, None)
    _tracers.pop(service, None)
    shutdown = getattr(provider, "shutdown", None)
    if shutdown is not None:
        shutdown()


def provider(service: str) -> TracerProvider | None:
    return _providers.get(service)


def tracer(service: str | None) -> Tracer | None:
    """The service's tracer, or None when it does not trace (then callers create nothing at all)."""
    if service is None:
        return None
    found = _tracers.get(service)
    if found is None and (installed := _providers.get(service)) is not None:
        found = _tracers[service] = installed.get_tracer(SCOPE)
    return found


def stamp(service: str | None, envelopes: Iterable[tuple[str, CloudEvent]]) -> list[CloudEvent]:
    """The (topic, envelope) pairs' envelopes, each carrying the context of a `create` span of its own
    (a child of the current span: the request or the handling that produced it)."""
    found = tracer(service)
    if found is None:
        return [envelope for _, envelope in envelopes]
    stamped = []
    for topic, envelope in envelopes:
        with found.start_as_current_span(
            f"create {topic}", kind=SpanKind.PRODUCER, attributes=_message(topic, envelope, "create")
        ):
            carrier: dict[str, str] = {}
            _PROPAGATOR.inject(carrier)
        update: dict[str, Any] = {name: carrier[name] for name in ("traceparent", "tracestate") if name in carrier}
        stamped.append(envelope.model_copy(update=update))
    return stamped


@contextlib.contextmanager
def sending(service: str, topic: str, events: list[EncodedEvent], system: str) -> Iterator[None]:
    """A `send` span around one batch's publish, linked to each event's creation (a batch has no one parent)."""
    found = tracer(service)
    if found is None:
        yield
        return
    links = [Link(context) for event in events if (context := _span_context(dict(event.headers))) is not None]
    attributes: dict[str, AttributeValue] = {
        "messaging.system": system,
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.destination.name": topic,
        "messaging.batch.message_count": len(events),
    }
    with found.start_as_current_span(f"send {topic}", kind=SpanKind.PRODUCER, attributes=attributes, links=links):
        yield


@contextlib.contextmanager
def processing(
    service: str, event: CloudEvent, *, topic: str, group: str, partition: int, offset: int, system: str
) -> Iterator[None]:
    """A `process` span around one delivery attempt: a child of the event's creation, and linked to it."""
    found = tracer(service)
    if found is None:
        yield
        return
    carrier = {"traceparent": event.traceparent or "", "tracestate": event.tracestate or ""}
    parent = _PROPAGATOR.extract(carrier, context=Context())
    created = trace.get_current_span(parent).get_span_context()
    attributes: dict[str, AttributeValue] = {**_message(topic, event, "process")} | {
        "messaging.system": system,
        "messaging.consumer.group.name": group,
        "messaging.destination.partition.id": str(partition),
        "messaging.kafka.offset": offset,
    }
    links = [Link(created)] if created.is_valid else []
    with found.start_as_current_span(
        f"process {topic}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes, links=links
    ):
        yield


def current_context() -> dict[str, str]:
    """The current span's W3C trace context (`traceparent`, `tracestate`), for work that goes on later from a
    row (a notification sent by a worker); empty when nothing is traced."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


@contextlib.contextmanager
def resumed(service: str, carrier: dict[str, str], name: str) -> Iterator[None]:
    """A span of `service` continuing the trace whose context `current_context` kept (a child of it)."""
    found = tracer(service)
    if found is None:
        yield
        return
    with found.start_as_current_span(name, context=_PROPAGATOR.extract(carrier, context=Context())):
        yield


def _message(topic: str, event: CloudEvent, operation: str) -> dict[str, str]:
    attributes = {
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
        "messaging.destination.name": topic,
        "messaging.message.id": event.id,
        "cloudevents.event_id": event.id,
        "cloudevents.event_source": event.source,
        "cloudevents.event_type": event.type,
        "cloudevents.event_subject": event.subject,
    }
    if event.correlationid:
        attributes["firstcall.correlation_id"] = event.correlationid
    return attributes


def _span_context(headers: dict[str, bytes]) -> trace.SpanContext | None:
    traceparent = headers.get("ce_traceparent")
    if traceparent is None:
        return None
    carrier = {"traceparent": traceparent.decode("latin-1")}
    if (tracestate := headers.get("ce_tracestate")) is not None:
        carrier["tracestate"] = tracestate.decode("latin-1")
    context = trace.get_current_span(_PROPAGATOR.extract(carrier, context=Context())).get_span_context()
    return context if context.is_valid else None
