"""A real Prometheus (Debian's binary) scrapes the three services and the helpdesk bridge (on Request
Tracker), on Kafka and PostgreSQL, under a little traffic: every Grafana panel's query returns series, and so
does every vector selector of every alert rule (an alert that should not fire need not fire). Also: the Kafka
consumer's lag on /metrics.

The services run in this process, each served by uvicorn on a socket of its own; Prometheus runs from
deploy/prometheus/prometheus.yml with their addresses and a one-second scrape.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from aiokafka import AIOKafkaProducer

from services.embedded import SERVICES
from shared.bus.kafka import KafkaBus, KafkaConsumer
from shared.bus.port import Subscription
from shared.events.envelope import CloudEvent
from shared.events.topics import TICKETS
from shared.metrics import PartitionProgress
from shared.runtime import ServiceRuntime
from tests.conftest import wait_until
from tests.factories import ADMIN, agent_request, service_settings, ticket_opened, ticket_request
from tests.integration.conftest import prefixed_topics
from tests.integration.helpdesk.conftest import bridge_settings
from tests.notifier_factories import OUTAGE_REPORTS
from tests.stack import KAFKA, create_database, drop_database
from tests.unit.notifier.receivers import WebhookReceiver, webhook_receiver
from tests.unit.test_metrics_names import ROOT, load

pytestmark = pytest.mark.integration
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
RATE_INTERVAL = "30s"  # what Grafana's $__rate_interval becomes here: 30 one-second scrapes
# Selectors that match only when something fails, which this traffic does not make happen: checked as
# the metric alone, which must carry the label they match on.
ONLY_ON_FAILURE = {'firstcall_http_requests_total{status=~"5.."}': "status"}
SETTINGS: dict[str, dict[str, Any]] = {
    # Every first response is overdue at once and the sweep looks twice a second: SLA breaches happen.
    "router": {"sla_minutes": dict.fromkeys(("urgent", "high", "normal", "low"), 0), "sla_check_seconds": 0.5},
    "knowledge": {},
    # Plain-http local receivers; deliveries give up after two quick attempts; any growth makes a problem major.
    "notifier": {
        "webhook_allow_http": True,
        "delivery_max_attempts": 2,
        "delivery_backoff_initial_seconds": 0.05,
        "delivery_poll_interval_ms": 100,
        "crisis_customers_per_hour": 0.01,
    },
}


# The helpdesk bridge too, on the real Request Tracker and acting through the router served here: its
# dashboard is checked like the services'.
JOBS = (*SERVICES, "helpdesk")


async def settings_of(name: str, urls: dict[str, str], tmp_path: Path, database_url: str, prefix: str) -> Any:
    if name != "helpdesk":
        return service_settings(
            name,
            data_dir=tmp_path,
            database_url=database_url,
            bus="kafka",
            kafka_bootstrap_servers=KAFKA,
            kafka_topic_prefix=prefix,
            outbox_poll_interval_ms=100,
            **SETTINGS[name],
        )
    async with httpx.AsyncClient(headers=ADMIN, timeout=30) as client:
        issued = await client.post(f"{urls['router']}/v1/api-keys", json={"name": "bridge", "scopes": ["agent"]})
    assert issued.status_code == 201, issued.text
    return bridge_settings(
        tmp_path, database_url, prefix, router_url=urls["router"], router_api_key=issued.json()["key"]
    )


def listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
async def served(topic_prefix: str, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """The three services and the bridge on Kafka and fresh databases, each on its own port: name -> base URL."""
    run = uuid.uuid4().hex[:8]
    databases = {name: f"fc_prom_{run}_{name}" for name in JOBS}
    runtimes: list[ServiceRuntime] = []
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
    urls: dict[str, str] = {}
    try:
        for name in JOBS:
            bootstrap = importlib.import_module(f"services.{name}.bootstrap")
            settings = await settings_of(name, urls, tmp_path, await create_database(databases[name]), topic_prefix)
            runtime = bootstrap.build_runtime(settings)
            await runtime.start()
            runtimes.append(runtime)
            sock = listening_socket()
            server = uvicorn.Server(uvicorn.Config(bootstrap.create_app(runtime, manage_runtime=False), lifespan="off"))
            servers.append((server, asyncio.create_task(server.serve(sockets=[sock]))))
            urls[name] = f"http://127.0.0.1:{sock.getsockname()[1]}"
        yield urls
    finally:
        for server, task in servers:
            server.should_exit = True
            await task
        for runtime in runtimes:
            await runtime.stop()
        for name in databases.values():
            await drop_database(name)


@pytest.fixture
def prometheus(served: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Debian's Prometheus scraping `served` every second with the shipped rules; its base URL."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: install Debian's prometheus package (deploy/prometheus.sh install)"
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(PROMETHEUS_CONFIG.parent / rules) for rules in config["rule_files"]]
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [served[job["job_name"]].removeprefix("http://")]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    with listening_socket() as probe:  # a free port, released for Prometheus to take
        port = probe.getsockname()[1]
    with (tmp_path / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


async def traffic(urls: dict[str, str], topic_prefix: str, dead_end: WebhookReceiver, ops: WebhookReceiver) -> None:
    """Agents, an outage five customers report (a problem, escalated, notified), a transfer, a
    resolution, a search, an SLA breach, a failing webhook and a malformed record on the bus."""
    async with httpx.AsyncClient(headers=ADMIN, timeout=30) as client:
        router, notifier = urls["router"], urls["notifier"]
        for receiver in (ops, dead_end):
            body = {"url": receiver.url, "event_types": ["problem.detected"], "secret": receiver.secret}
            assert (await client.post(f"{notifier}/v1/subscriptions", json=body)).status_code == 201
        for _ in range(2):
            assert (await client.post(f"{router}/v1/agents", json=agent_request())).status_code == 201
        tickets = []
        for i, (subject, description) in enumerate(OUTAGE_REPORTS):
            customer = {"email": f"prometheus-{i}@example.com", "name": f"Customer {i}"}
            body = ticket_request(customer=customer, subject=subject, description=description, channel="chat")
            response = await client.post(f"{router}/v1/tickets", json=body)
            assert response.status_code == 201, response.text
            tickets.append(response.json())
        assigned = [t for t in tickets if t.get("agent_id")]
        assert len(assigned) >= 2, tickets
        moved = {"reason": "missing_skill", "agent_id": assigned[0]["agent_id"]}
        assert (await client.post(f"{router}/v1/tickets/{assigned[0]['id']}/transfers", json=moved)).status_code == 201
        answer = {"type": "answer", "reason": "explained", "agent_id": assigned[1]["agent_id"]}
        response = await client.post(f"{router}/v1/tickets/{assigned[1]['id']}/resolutions", json=answer)
        assert response.status_code == 201, response.text
        assert (await client.get(f"{urls['knowledge']}/v1/search", params={"q": "checkout"})).status_code == 200
    await publish_malformed_record(topic_prefix + TICKETS.name)


async def publish_malformed_record(topic: str) -> None:
    """Not a CloudEvent: the knowledge and notifier groups dead-letter it at once."""
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"not an event", key=b"poison")
    finally:
        await producer.stop()


async def query(client: httpx.AsyncClient, base: str, expression: str) -> list[dict[str, Any]]:
    response = await client.get(f"{base}/api/v1/query", params={"query": expression})
    assert response.status_code == 200, (expression, response.text)
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def expressions_to_check() -> dict[str, str]:
    """What must return series: every panel query, every rule selector (failure-only ones by metric)."""
    dashboards = load(ROOT / "deploy" / "grafana" / "dashboards.py")
    monitoring = load(ROOT / "deploy" / "prometheus" / "monitoring.py")
    wanted = {
        f"{panel} #{n}": expr.replace("$__rate_interval", RATE_INTERVAL)
        for panel, exprs in dashboards.queries().items()
        for n, expr in enumerate(exprs)
    }
    for rule, expression in monitoring.expressions().items():
        for selector in monitoring.vector_selectors(expression):
            wanted[f"{rule}: {selector}"] = selector.split("{")[0] if selector in ONLY_ON_FAILURE else selector
    return wanted


async def missing_series(base: str, wanted: dict[str, str]) -> list[str]:
    async with httpx.AsyncClient(timeout=10) as client:
        return [name for name, expression in wanted.items() if not await query(client, base, expression)]


async def test_every_panel_query_and_alert_selector_returns_series(
    served: dict[str, str], prometheus: str, topic_prefix: str
) -> None:
    async with webhook_receiver("ops-shared-secret-0001") as ops, webhook_receiver("dead-shared-secret-01") as dead:
        dead.fail_next = 10_000
        await traffic(served, topic_prefix, dead, ops)
        await wait_until(ops.arrived, timeout=60)
        wanted = expressions_to_check()
        with contextlib.suppress(AssertionError):
            await wait_until(lambda: _none_missing(prometheus, wanted), timeout=60, every=1)
        missing = await missing_series(prometheus, wanted)
        assert not missing, "no series for:\n" + "\n".join(missing)
        async with httpx.AsyncClient(timeout=10) as client:
            for selector, label in ONLY_ON_FAILURE.items():
                series = await query(client, prometheus, selector.split("{")[0])
                assert all(label in s["metric"] for s in series), selector
            lag = await query(client, prometheus, "count by (job, group) (firstcall_consumer_lag_records)")
        assert {(s["metric"]["job"], s["metric"]["group"]) for s in lag} == {
            (name, topic_prefix + name) for name in JOBS
        }


async def _none_missing(base: str, wanted: dict[str, str]) -> bool:
    return not await missing_series(base, wanted)


@pytest.fixture
async def bus(topic_prefix: str) -> AsyncIterator[KafkaBus]:
    bus = KafkaBus(bootstrap_servers=KAFKA, client_id="lag", topics=prefixed_topics(topic_prefix))
    await bus.start(wait_seconds=30)
    yield bus
    await bus.stop()


async def test_a_kafka_consumer_reports_lag_and_age_while_its_handler_holds_a_record(
    bus: KafkaBus, topic_prefix: str
) -> None:
    release, held = asyncio.Event(), asyncio.Event()

    async def handler(_: CloudEvent) -> None:
        held.set()
        await release.wait()

    group, topic = f"{topic_prefix}lag", topic_prefix + TICKETS.name
    subscription = Subscription(group, [topic], handler, topic_prefix + "firstcall.dlt.knowledge", service="lag")
    consumer = bus.consumer(subscription)
    assert isinstance(consumer, KafkaConsumer)
    await consumer.start()
    try:
        ticket_id = uuid.uuid4()
        await bus.publish(topic, [ticket_opened(ticket_id=ticket_id).to_cloudevent() for _ in range(3)])
        await asyncio.wait_for(held.wait(), 60)
        progress = await wait_until(lambda: _lagging(consumer, 3), timeout=30)
        assert progress.oldest_unhandled_ms is not None  # the record in hand
        release.set()
        await wait_until(lambda: _caught_up(consumer), timeout=30)
    finally:
        release.set()
        await consumer.stop()


async def _lagging(consumer: KafkaConsumer, lag: int) -> PartitionProgress | None:
    return next((progress for progress in consumer.progress() if progress.lag == lag), None)


async def _caught_up(consumer: KafkaConsumer) -> bool:
    progress = consumer.progress()
    return bool(progress) and all(p.lag == 0 and p.oldest_unhandled_ms is None for p in progress)
