"""The notifier's own metric families, on the service's registry (beside the shared ones)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from shared.metrics import ServiceMetrics


class NotifierMetrics:
    def __init__(self, base: ServiceMetrics) -> None:
        registry = base.registry
        self.set_ready = base.set_ready
        self.problems_open = Gauge(
            "firstcall_notifier_problems_open",
            "Problems not resolved yet (forming or open), by severity",
            ["severity"],
            registry=registry,
        )
        self.deliveries = Counter(
            "firstcall_notifier_delivery_attempts_total",
            "Delivery attempts, by channel and outcome (delivered, failed, rejected, dead, deferred, suppressed)",
            ["channel", "outcome"],
            registry=registry,
        )
        self.delivery_latency = Histogram(
            "firstcall_notifier_delivery_duration_seconds",
            "Time a receiver or SMTP server took to answer",
            ["channel"],
            registry=registry,
        )
        self.pruned = Counter(
            "firstcall_notifier_reports_unindexed_total",
            "Reports taken out of the index as they left the window",
            registry=registry,
        )
