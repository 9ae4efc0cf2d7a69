"""What every service's /metrics exposes, judged by promtool, and the alert rules and dashboards that read it.

promtool (Debian's `prometheus` package; `deploy/prometheus.sh install`) is the judge of names: these tests
fail, never skip, without it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.embedded import SERVICES, drain
from services.helpdesk.metrics import HelpdeskMetrics
from shared.bus.memory import InMemoryBus
from shared.bus.port import Subscription
from shared.events.envelope import CloudEvent
from shared.events.topics import TopicSpec
from shared.metrics import ServiceMetrics
from tests.conftest import wait_until
from tests.factories import ticket_opened, ticket_request
from tests.unit.conftest import Stack

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: install Debian's prometheus package (deploy/prometheus.sh install)"
    return subprocess.run([tool, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False)


def load(path: Path) -> ModuleType:
    """A script under deploy/ (not a package) as a module."""
    name = f"firstcall_deploy_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = sys.modules[name] = importlib.util.module_from_spec(spec)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


async def scrapes(stack: Stack) -> dict[str, str]:
    """Each service's /metrics after a ticket went through all three (so labelled series exist)."""
    assert (await stack.router.post("/v1/tickets", json=ticket_request())).status_code == 201
    await drain(stack.bus, list(stack.runtimes.values()), timeout=60)
    return {name: (await stack.clients[name].get("/metrics")).text for name in SERVICES}


async def test_every_services_metrics_pass_promtool_check_metrics(stack: Stack) -> None:
    for service, text in (await scrapes(stack)).items():
        checked = promtool("check", "metrics", stdin=text)
        assert (checked.returncode, checked.stdout + checked.stderr) == (0, ""), service


async def test_every_service_exports_process_runtime_and_consumer_lag_metrics(stack: Stack) -> None:
    for service, text in (await scrapes(stack)).items():
        families = {family.name: family for family in text_string_to_metric_families(text)}
        for name in ("process_cpu_seconds", "process_resident_memory_bytes", "python_gc_collections", "python_info"):
            assert families[name].samples, (service, name)
        lag = families["firstcall_consumer_lag_records"].samples
        assert {sample.labels["group"] for sample in lag} == {service}
        assert all(sample.value == 0 for sample in lag), service  # drained
        ages = families["firstcall_consumer_oldest_unhandled_age_seconds"].samples
        assert [sample.labels for sample in ages] == [sample.labels for sample in lag]


@pytest.fixture
async def held_consumer() -> AsyncIterator[tuple[InMemoryBus, ServiceMetrics, asyncio.Event]]:
    """A consumer group of service "svc" on a two-partition topic whose handler waits until released."""
    bus = InMemoryBus([TopicSpec("in", 2, 0, "in"), TopicSpec("dlt", 1, 0, "dead letters")])
    metrics, release = ServiceMetrics("svc"), asyncio.Event()

    async def handler(_: CloudEvent) -> None:
        await release.wait()

    consumer = bus.consumer(Subscription("svc.group", ["in"], handler, "dlt", service="svc"))
    await consumer.start()
    yield bus, metrics, release
    release.set()
    await consumer.stop()


def samples(metrics: ServiceMetrics, name: str) -> dict[tuple[str, str, str], float]:
    [family] = [f for f in text_string_to_metric_families(metrics.render().decode()) if f.name == name]
    return {(s.labels["group"], s.labels["topic"], s.labels["partition"]): s.value for s in family.samples}


async def test_lag_and_the_oldest_unhandled_age_show_what_a_group_has_not_handled(
    held_consumer: tuple[InMemoryBus, ServiceMetrics, asyncio.Event],
) -> None:
    bus, metrics, release = held_consumer
    ticket_id = uuid.uuid4()  # one key, so one partition
    await bus.publish("in", [ticket_opened(ticket_id=ticket_id).to_cloudevent() for _ in range(3)])
    [partition] = {str(record.partition) for record in bus.records("in")}
    other = "1" if partition == "0" else "0"
    lag = samples(metrics, "firstcall_consumer_lag_records")
    assert lag == {("svc.group", "in", partition): 3.0, ("svc.group", "in", other): 0.0}
    await wait_until(lambda: _aged(metrics, partition))
    assert samples(metrics, "firstcall_consumer_oldest_unhandled_age_seconds")[("svc.group", "in", other)] == 0
    assert samples(ServiceMetrics("another"), "firstcall_consumer_lag_records") == {}  # only its own groups
    release.set()
    await bus.wait_idle()
    assert set(samples(metrics, "firstcall_consumer_lag_records").values()) == {0.0}
    assert set(samples(metrics, "firstcall_consumer_oldest_unhandled_age_seconds").values()) == {0.0}


async def _aged(metrics: ServiceMetrics, partition: str) -> bool:
    return samples(metrics, "firstcall_consumer_oldest_unhandled_age_seconds")[("svc.group", "in", partition)] > 0


def test_the_alert_rules_pass_promtool_check_and_their_unit_tests() -> None:
    for args in (("check", "rules", "alerts.yml"), ("test", "rules", "alerts.test.yml")):
        done = promtool(*args[:2], str(PROMETHEUS / args[2]))
        assert done.returncode == 0, done.stdout + done.stderr


def exported_names(text: str) -> set[str]:
    """Every series name a scrape can hold: declared families (with a histogram's parts) and samples."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names |= {name, *(f"{name}_{part}" for part in ("bucket", "sum", "count") if kind == "histogram")}
            names |= {f"{name}_total"} if kind == "counter" else set()  # a counter's samples, before it has any
    names |= {s.name for family in text_string_to_metric_families(text) for s in family.samples}
    return names


def bridge_families() -> str:
    """The helpdesk bridge's families as its /metrics declares them (the embedded stack leaves the bridge out)."""
    metrics = ServiceMetrics("helpdesk")
    HelpdeskMetrics(metrics)
    return metrics.render().decode()


async def test_dashboards_and_alert_rules_read_only_metrics_the_services_export(stack: Stack) -> None:
    texts = [*(await scrapes(stack)).values(), bridge_families()]
    exported = set().union(*(exported_names(text) for text in texts))
    monitoring = load(PROMETHEUS / "monitoring.py")
    recorded = {name for name in monitoring.expressions() if ":" in name}
    expressions = [*monitoring.expressions().values()]
    expressions += [
        e for exprs in load(ROOT / "deploy" / "grafana" / "dashboards.py").queries().values() for e in exprs
    ]
    read = {selector.split("{")[0] for e in expressions for selector in monitoring.vector_selectors(e)}
    assert read, "no selector found: the selector pattern no longer matches the expressions"
    assert read - exported - recorded - {"up"} == set()


def test_the_generated_dashboards_and_kubernetes_rules_are_current() -> None:
    assert load(ROOT / "deploy" / "grafana" / "dashboards.py").main(["--check"]) == 0
    assert load(PROMETHEUS / "monitoring.py").main(["--check"]) == 0
