"""The bridge's own metric families, on the service's registry (beside the shared ones)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from shared.metrics import ServiceMetrics


class HelpdeskMetrics:
    def __init__(self, base: ServiceMetrics) -> None:
        registry = base.registry
        self.effects = Counter(
            "firstcall_helpdesk_effects_total",
            "Writes to the helpdesk by kind and outcome (done, superseded, dropped, failed, postponed, waiting)",
            ["kind", "outcome"],
            registry=registry,
        )
        self.effects_pending = Gauge(
            "firstcall_helpdesk_effects_pending", "Writes to the helpdesk waiting to be carried out", registry=registry
        )
        self.actions = Counter(
            "firstcall_helpdesk_actions_total",
            "Changes read back from the helpdesk by outcome (applied, own, waiting)",
            ["outcome"],
            registry=registry,
        )
        self.cursor_lag = Gauge(
            "firstcall_helpdesk_cursor_lag_seconds",
            "How far the read-back cursor is behind the helpdesk's clock",
            registry=registry,
        )
        self.reachable = Gauge(
            "firstcall_helpdesk_reachable", "1 when the last call to that side succeeded", ["side"], registry=registry
        )
