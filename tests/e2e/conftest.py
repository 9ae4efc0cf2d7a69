"""The three services as separate processes on the real stack, driven over HTTP like a client would.

One set of processes serves the whole tier: fresh databases, a private topic prefix and free ports, so the
run touches nothing else on the machine. Each process's JSON log is kept for tests to read.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.factories import ADMIN
from tests.rt_stack import create_agent, require_rt, rt_token, rt_url
from tests.stack import DATABASE_TEMPLATE, KAFKA, create_database, delete_topics, drop_database, unreachable_parts

SERVICES = ("router", "knowledge", "notifier")
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ServiceProcesses:
    """The running services: where they answer, their logs, and how to stop and start one."""

    env: dict[str, str]
    logs: Path
    topic_prefix: str
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def log(self, service: str) -> str:
        return (self.logs / f"{service}.log").read_text()

    def start(self, service: str) -> None:
        with (self.logs / f"{service}.log").open("ab") as log:
            self.processes[service] = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "serve", service],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_ready(service)

    def wait_ready(self, service: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[service].poll() is not None:
                raise AssertionError(f"{service} exited at start:\n{self.log(service)[-3000:]}")
            try:
                if httpx.get(f"{self.url(service)}/readyz", timeout=2).json().get("status") == "ok":
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{service} not ready within {timeout}s:\n{self.log(service)[-3000:]}")

    def stop(self, service: str, timeout: float = 30) -> int:
        """SIGTERM, as an orchestrator would; returns the exit code."""
        process = self.processes.pop(service)
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=timeout)


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcesses]:
    down = unreachable_parts()
    if down:
        pytest.fail(f"{' and '.join(down)} not reachable: start the stack with `make up` (make test does it)")
    run = uuid.uuid4().hex[:8]
    databases = {service: f"fc_e2e_{run}_{service}" for service in SERVICES}
    for name in databases.values():
        asyncio.run(create_database(name))
    topic_prefix = f"e2e{run}."
    env = {
        **os.environ,
        "FIRSTCALL_ENVIRONMENT": "test",
        "FIRSTCALL_BUS": "kafka",
        "FIRSTCALL_KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "FIRSTCALL_KAFKA_TOPIC_PREFIX": topic_prefix,
        "FIRSTCALL_DATABASE_URL": DATABASE_TEMPLATE.replace("firstcall_{service}", f"fc_e2e_{run}_{{service}}"),
        "FIRSTCALL_LOG_FORMAT": "json",
        "FIRSTCALL_SHUTDOWN_GRACE_SECONDS": "10",
    }
    processes = ServiceProcesses(env=env, logs=tmp_path_factory.mktemp("logs"), topic_prefix=topic_prefix)
    for service in SERVICES:
        processes.ports[service] = _free_port()
        env[f"FIRSTCALL_{service.upper()}_PORT"] = str(processes.ports[service])
    # Sealed personal fields, as deployed (deploy/k8s, compose): the consumers ask this router for keys.
    env["FIRSTCALL_ROUTER_URL"] = processes.url("router")
    env["FIRSTCALL_ROUTER_SEAL_PERSONAL_FIELDS"] = "true"
    env["FIRSTCALL_NOTIFIER_SEAL_PERSONAL_FIELDS"] = "true"
    try:
        for service in SERVICES:
            processes.start(service)
        yield processes
    finally:
        for service in list(processes.processes):
            processes.stop(service)
        for name in databases.values():
            asyncio.run(drop_database(name))
        asyncio.run(delete_topics(topic_prefix))


@dataclass
class HelpdeskBridge:
    """The helpdesk bridge as a process of its own beside the services, connected to the real RT."""

    processes: ServiceProcesses
    router_key: str  # the agent-scoped key bound to no agent that the bridge calls the router with

    @property
    def url(self) -> str:
        return self.processes.url("helpdesk")

    def log(self) -> str:
        return self.processes.log("helpdesk")

    async def link_agent(self, agent_id: str, name: str) -> tuple[str, str]:
        """A new RT user in 'firstcall agents', linked to the agent: (RT user name, a token to act as them)."""
        user, token = await asyncio.to_thread(create_agent, f"{name}-{uuid.uuid4().hex[:8]}")
        async with httpx.AsyncClient(base_url=self.url, headers=ADMIN, timeout=30) as bridge:
            linked = await bridge.put(f"/v1/agent-links/{agent_id}", json={"rt_user": user})
        assert linked.status_code == 200, linked.text
        return user, token


@pytest.fixture(scope="session")
def helpdesk(services: ServiceProcesses) -> Iterator[HelpdeskBridge]:
    """`firstcall serve helpdesk` on its own database, the services' topics, and this checkout's RT.

    It calls the router with an agent-scoped key bound to no agent, as production configures it, so the
    router's rule on who may act on a ticket judges each RT action. Polling is faster than the default so
    the tier does not wait on it; nothing asserts how fast.
    """
    require_rt()
    issued = httpx.post(
        f"{services.url('router')}/v1/api-keys",
        headers=ADMIN,
        json={"name": "helpdesk bridge", "scopes": ["agent"]},
        timeout=30,
    )
    assert issued.status_code == 201, issued.text
    database = f"fc_e2e_{uuid.uuid4().hex[:8]}_helpdesk"
    port = _free_port()
    env = {
        **services.env,
        "FIRSTCALL_HELPDESK_DATABASE_URL": asyncio.run(create_database(database)),
        "FIRSTCALL_HELPDESK_PORT": str(port),
        "FIRSTCALL_HELPDESK_RT_URL": rt_url(),
        "FIRSTCALL_HELPDESK_RT_TOKEN": rt_token(),
        "FIRSTCALL_HELPDESK_ROUTER_URL": services.url("router"),
        "FIRSTCALL_HELPDESK_ROUTER_API_KEY": str(issued.json()["key"]),
        "FIRSTCALL_HELPDESK_ARTICLE_URL": f"{services.url('knowledge')}/v1/articles/{{id}}",
        "FIRSTCALL_HELPDESK_POLL_INTERVAL_SECONDS": "0.5",
        "FIRSTCALL_HELPDESK_EFFECT_BACKOFF_INITIAL_SECONDS": "0.2",
        "FIRSTCALL_HELPDESK_EFFECT_BACKOFF_MAX_SECONDS": "2",
    }
    processes = ServiceProcesses(env=env, logs=services.logs, topic_prefix=services.topic_prefix)
    processes.ports["helpdesk"] = port
    try:
        processes.start("helpdesk")
        yield HelpdeskBridge(processes, str(issued.json()["key"]))
    finally:
        if "helpdesk" in processes.processes:
            processes.stop("helpdesk")
        asyncio.run(drop_database(database))
