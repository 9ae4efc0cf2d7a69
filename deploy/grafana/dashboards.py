"""firstcall's Grafana dashboards, written as JSON that Grafana imports or provisions as it is.

`python deploy/grafana/dashboards.py` writes deploy/grafana/dashboards/*.json; `--check` exits 1 when one
is stale. One dashboard for the whole pipeline and one per service, the helpdesk bridge included. Every query
reads series that deploy/prometheus/prometheus.yml (or the ServiceMonitor) labels with `job` = the service; the
datasource is a variable, so the same file works in any Grafana. tests/integration/test_prometheus.py runs
every query against a real Prometheus scraping the services.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[tuple[str, str], ...]  # (expression, legend)
    unit: str = "short"
    kind: str = "timeseries"


def p95(histogram: str, matchers: str = "", by: str = "") -> str:
    """The 95th percentile of a histogram over the rate interval (by `le` and `by`)."""
    return f"histogram_quantile(0.95, sum by (le{by}) (rate({histogram}_bucket{{{matchers}}}[{RATE}])))"


def http_panels(job: str) -> list[Panel]:
    j = f'job="{job}"'
    return [
        Panel(
            "Requests by status",
            "Requests answered per second, by status code (503s include requests shed for lack of capacity).",
            ((f"sum by (status) (rate(firstcall_http_requests_total{{{j}}}[{RATE}]))", "{{status}}"),),
            "reqps",
        ),
        Panel(
            "Request latency p95 by route",
            "How long the slowest twentieth of requests took, by route template.",
            ((p95("firstcall_http_request_duration_seconds", j, ", route"), "{{route}}"),),
            "s",
        ),
        Panel(
            "In flight and shed",
            "Requests being served now, and requests refused with 503 per second (add replicas when it rises).",
            (
                (f"sum(firstcall_http_in_flight{{{j}}})", "in flight"),
                (f"sum(rate(firstcall_http_shed_total{{{j}}}[{RATE}]))", "shed per second"),
            ),
        ),
    ]


def event_panels(job: str) -> list[Panel]:
    j = f'job="{job}"'
    return [
        Panel(
            "Events handled by outcome",
            "Events taken from Kafka per second: handled, duplicate (inbox), ignored, retried, dead_lettered.",
            ((f"sum by (outcome) (rate(firstcall_events_handled_total{{{j}}}[{RATE}]))", "{{outcome}}"),),
            "ops",
        ),
        Panel(
            "Handler latency p95 by event type",
            "Time to handle one event, its transaction included.",
            ((p95("firstcall_event_handler_duration_seconds", j, ", type"), "{{type}}"),),
            "s",
        ),
        *lag_panels(j),
        Panel(
            "Outbox and bus",
            "Events committed but not yet on Kafka, and whether the last publish succeeded (1) or failed (0).",
            (
                (f"max(firstcall_outbox_pending{{{j}}})", "outbox pending"),
                (f"min(firstcall_bus_up{{{j}}})", "bus up"),
                (f"sum(rate(firstcall_events_published_total{{{j}}}[{RATE}]))", "published per second"),
            ),
        ),
    ]


def lag_panels(matchers: str = "") -> list[Panel]:
    return [
        Panel(
            "Consumer lag by group and topic",
            "Records not yet committed by each consumer group (each partition counted once across replicas).",
            (
                (
                    f"sum by (group, topic) (max by (group, topic, partition) (firstcall_consumer_lag_records{{{matchers}}}))",
                    "{{group}} {{topic}}",
                ),
            ),
        ),
        Panel(
            "Oldest unhandled event",
            "Age of the oldest record each group has not handled yet (0 when it has caught up).",
            ((f"max by (group) (firstcall_consumer_oldest_unhandled_age_seconds{{{matchers}}})", "{{group}}"),),
            "s",
        ),
    ]


def process_panels(job: str) -> list[Panel]:
    j = f'job="{job}"'
    return [
        Panel(
            "CPU and memory per process",
            "CPU seconds used per second, and resident memory, for each replica.",
            (
                (f"rate(process_cpu_seconds_total{{{j}}}[{RATE}])", "cpu {{instance}}"),
                (f"process_resident_memory_bytes{{{j}}} / 2^30", "GiB {{instance}}"),
            ),
        ),
        Panel(
            "Python garbage collections",
            "Collections per second by generation; a rise in generation 2 shows as latency spikes.",
            ((f"sum by (generation) (rate(python_gc_collections_total{{{j}}}[{RATE}]))", "gen {{generation}}"),),
            "ops",
        ),
    ]


def router_panels() -> list[Panel]:
    return [
        Panel(
            "Tickets opened per minute by channel",
            "New tickets from contact-center software, by channel.",
            ((f"sum by (channel) (rate(firstcall_tickets_opened_total[{RATE}])) * 60", "{{channel}}"),),
        ),
        Panel(
            "First-contact resolution (last hour)",
            "Share of tickets resolved in the last hour without a transfer (a reopen revokes it).",
            (
                (
                    'sum(increase(firstcall_tickets_resolved_total{first_contact="true"}[1h]))'
                    " / sum(increase(firstcall_tickets_resolved_total[1h]))",
                    "FCR",
                ),
            ),
            "percentunit",
        ),
        Panel(
            "Transfers by reason (last hour)",
            "Every transfer is a customer passed on: the reasons say what the first agent lacked.",
            (("sum by (reason) (increase(firstcall_ticket_transfers_total[1h]))", "{{reason}}"),),
        ),
        Panel(
            "Time to assignment",
            "From opening to the first agent, median and 90th percentile.",
            (
                (
                    f"histogram_quantile(0.5, sum by (le) (rate(firstcall_time_to_assignment_seconds_bucket[{RATE}])))",
                    "p50",
                ),
                (
                    f"histogram_quantile(0.9, sum by (le) (rate(firstcall_time_to_assignment_seconds_bucket[{RATE}])))",
                    "p90",
                ),
            ),
            "s",
        ),
        Panel(
            "Queue depth by channel",
            "Open tickets waiting for an agent (every replica counts the same queue, hence max).",
            (("max by (channel) (firstcall_queue_depth)", "{{channel}}"),),
        ),
        Panel(
            "SLA breaches (last hour)",
            "First responses that missed their due time, by priority and what the router did about it.",
            (("sum by (priority, action) (increase(firstcall_sla_breaches_total[1h]))", "{{priority}} {{action}}"),),
        ),
        Panel(
            "Resolutions by type and outcome",
            "Returns, credits, refunds and answers per minute: executed, or waiting for a supervisor's approval.",
            ((f"sum by (type, outcome) (rate(firstcall_resolutions_total[{RATE}])) * 60", "{{type}} {{outcome}}"),),
        ),
    ]


def suggestion_latency() -> Panel:
    return Panel(
        "Suggestion latency p95",
        "Time knowledge takes to handle a TicketOpened: search, rank and store the agent's suggestions.",
        ((p95("firstcall_event_handler_duration_seconds", _OPENED.format(job="knowledge")), "suggestion"),),
        "s",
    )


def detection_latency() -> Panel:
    return Panel(
        "Detection latency p95",
        "Time the notifier takes to handle a TicketOpened: index the report, find its duplicates, cluster.",
        ((p95("firstcall_event_handler_duration_seconds", _OPENED.format(job="notifier")), "detection"),),
        "s",
    )


_OPENED = 'job="{job}", type="firstcall.ticket.opened"'


def knowledge_panels() -> list[Panel]:
    return [
        suggestion_latency(),
        Panel(
            "Search latency p95",
            "GET /v1/search as agents and the router's fallback call it.",
            ((p95("firstcall_http_request_duration_seconds", 'job="knowledge", route="/v1/search"'), "search"),),
            "s",
        ),
        readiness("knowledge"),
    ]


def notifier_panels() -> list[Panel]:
    return [
        detection_latency(),
        problems_open(),
        notifications(),
        Panel(
            "Delivery latency p95 by channel",
            "Time a webhook receiver or the SMTP server took to answer.",
            ((p95("firstcall_notifier_delivery_duration_seconds", 'job="notifier"', ", channel"), "{{channel}}"),),
            "s",
        ),
        Panel(
            "Reports leaving the detection window",
            "Reports unindexed per minute as they grow older than the duplicate window.",
            ((f"sum(rate(firstcall_notifier_reports_unindexed_total[{RATE}])) * 60", "unindexed"),),
        ),
        readiness("notifier"),
    ]


def problems_open() -> Panel:
    return Panel(
        "Problems open by severity",
        "Clusters of reports from different customers that are not resolved yet; major ones grow fast.",
        (("max by (severity) (firstcall_notifier_problems_open)", "{{severity}}"),),
        kind="stat",
    )


def notifications() -> Panel:
    return Panel(
        "Notifications sent and dead (last hour)",
        "Webhook and email deliveries that arrived, and those given up after every attempt.",
        (
            (
                'sum by (channel, outcome) (increase(firstcall_notifier_delivery_attempts_total{outcome=~"delivered|dead"}[1h]))',
                "{{channel}} {{outcome}}",
            ),
        ),
    )


def readiness(job: str) -> Panel:
    return Panel(
        "Components ready",
        "1 when the encoder or index is ready; 0 while it is being built (detection or search work with less).",
        ((f'min by (component) (firstcall_component_ready{{job="{job}"}})', "{{component}}"),),
    )


def outbox_by_service() -> Panel:
    return Panel(
        "Outbox pending by service",
        "Events committed but not yet on Kafka; they leave when the bus takes them.",
        (("max by (job) (firstcall_outbox_pending)", "{{job}}"), ("min by (job) (firstcall_bus_up)", "bus up {{job}}")),
    )


def pipeline_panels() -> list[Panel]:
    router = {panel.title: panel for panel in router_panels()}
    return [
        router["Tickets opened per minute by channel"],
        router["First-contact resolution (last hour)"],
        router["Transfers by reason (last hour)"],
        router["Time to assignment"],
        router["Queue depth by channel"],
        suggestion_latency(),
        detection_latency(),
        problems_open(),
        notifications(),
        *lag_panels(),
        outbox_by_service(),
        Panel(
            "Dead letters by group (last hour)",
            "Events a consumer group gave up on; they wait in firstcall.dlt.<group> to be replayed.",
            (('sum by (group) (increase(firstcall_events_handled_total{outcome="dead_lettered"}[1h]))', "{{group}}"),),
        ),
    ]


def helpdesk_panels() -> list[Panel]:
    j = 'job="helpdesk"'
    return [
        Panel(
            "Writes to the helpdesk per minute",
            "Tickets, comments and changes the bridge carries to the helpdesk, by kind and outcome (done, "
            "superseded, dropped, failed, postponed, waiting).",
            (
                (
                    f"sum by (kind, outcome) (rate(firstcall_helpdesk_effects_total{{{j}}}[{RATE}])) * 60",
                    "{{kind}} {{outcome}}",
                ),
            ),
        ),
        Panel(
            "Writes waiting",
            "Writes to the helpdesk not carried out yet; it grows while the helpdesk or the router is away.",
            ((f"max(firstcall_helpdesk_effects_pending{{{j}}})", "waiting"),),
        ),
        Panel(
            "Write outcomes (last hour)",
            "What became of the writes: failed and dropped ones need a look (the bridge's /v1/sync answers why).",
            ((f"sum by (outcome) (increase(firstcall_helpdesk_effects_total{{{j}}}[1h]))", "{{outcome}}"),),
        ),
        Panel(
            "Changes read back per minute",
            "Agents' changes read from the helpdesk: applied to firstcall, the bridge's own (skipped), waiting.",
            ((f"sum by (outcome) (rate(firstcall_helpdesk_actions_total{{{j}}}[{RATE}])) * 60", "{{outcome}}"),),
        ),
        Panel(
            "Read-back cursor lag",
            "How far behind the helpdesk's clock the bridge reads agents' changes (a few poll intervals is normal).",
            ((f"max(firstcall_helpdesk_cursor_lag_seconds{{{j}}})", "behind"),),
            "s",
        ),
        Panel(
            "Helpdesk and router reachable",
            "1 when the last call to that side succeeded, 0 when it failed (writes wait meanwhile).",
            ((f"min by (side) (firstcall_helpdesk_reachable{{{j}}})", "{{side}}"),),
        ),
    ]


def bridge_event_panels() -> list[Panel]:
    """The bridge publishes no event (it acts through the router's API): the outbox panel is the bus alone."""
    j = 'job="helpdesk"'
    kept = [panel for panel in event_panels("helpdesk") if panel.title != "Outbox and bus"]
    bus = Panel(
        "Bus",
        "Whether the last operation on Kafka succeeded (1) or failed (0).",
        ((f"min(firstcall_bus_up{{{j}}})", "bus up"),),
    )
    return [*kept, bus]


def service_panels(job: str, own: list[Panel]) -> list[Panel]:
    return [*own, *http_panels(job), *event_panels(job), *process_panels(job)]


def dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard by file name."""
    return {
        "pipeline": dashboard("firstcall-pipeline", "firstcall: pipeline", pipeline_panels()),
        "router": dashboard("firstcall-router", "firstcall: router", service_panels("router", router_panels())),
        "knowledge": dashboard(
            "firstcall-knowledge", "firstcall: knowledge", service_panels("knowledge", knowledge_panels())
        ),
        "notifier": dashboard(
            "firstcall-notifier", "firstcall: notifier", service_panels("notifier", notifier_panels())
        ),
        "helpdesk": dashboard(
            "firstcall-helpdesk",
            "firstcall: helpdesk bridge",
            [*helpdesk_panels(), *http_panels("helpdesk"), *bridge_event_panels(), *process_panels("helpdesk")],
        ),
    }


def dashboard(uid: str, title: str, panels: list[Panel]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["firstcall"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                }
            ]
        },
        "panels": [render(panel, number) for number, panel in enumerate(panels)],
    }


def render(panel: Panel, number: int) -> dict[str, Any]:
    """A panel in Grafana's JSON, two to a row."""
    return {
        "id": number + 1,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": 12 * (number % 2), "y": 8 * (number // 2)},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
        "targets": [
            {"refId": chr(ord("A") + n), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
            for n, (expr, legend) in enumerate(panel.queries)
        ],
    }


def as_json(board: dict[str, Any]) -> str:
    """Indented JSON with each panel on one line: short files whose diffs show which panel changed."""
    panels = board["panels"]
    head = json.dumps({**board, "panels": []}, indent=2)
    lines = ",\n".join("    " + json.dumps(panel) for panel in panels)
    return head.replace('"panels": []', '"panels": [\n' + lines + "\n  ]") + "\n"


def queries() -> dict[str, list[str]]:
    """Every panel query, by "dashboard / panel title"."""
    return {
        f"{name} / {panel['title']}": [target["expr"] for target in panel["targets"]]
        for name, board in dashboards().items()
        for panel in board["panels"]
    }


def main(argv: list[str]) -> int:
    stale = []
    for name, board in dashboards().items():
        path, text = OUT / f"{name}.json", as_json(board)
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print(f"stale: {', '.join(stale)}: run python deploy/grafana/dashboards.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
