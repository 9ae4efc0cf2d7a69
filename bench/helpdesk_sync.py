"""helpdesk_sync: firstcall and Request Tracker kept in step by the helpdesk bridge, against RT's own speed.

Agents work in RT, so two delays matter to them: a ticket opened in firstcall must be in RT, owned by the
routed agent and carrying the context comment, before the agent can act on it; and what the agent does in
RT (here: the credit fields of a resolution, as RT's form saves them) must reach firstcall. Tickets are
opened at a steady rate (open loop) on the real stack: router and knowledge as processes on PostgreSQL
and Kafka, the bridge as `firstcall serve helpdesk` with its default poll and settle times, and this
checkout's RT (deploy/rt.sh). The baseline, measured in the same run half before and half after, is RT's
own time to create a ticket: `POST /REST/2.0/ticket` alone, with the bridge's token and the bridge's
payload, at the same rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.load import LoadProcess, make_client, percentile, process_cpu_seconds
from bench.procs import API_KEY, AUTH, Processes, first_error, free_port
from bench.report import Section, ms
from services.helpdesk.settings import HelpdeskSettings
from tests.stack import DATABASE_TEMPLATE, KAFKA, create_database, delete_topics, drop_database

NAME = "helpdesk_sync"
ROOT = Path(__file__).resolve().parents[1]
RT_VAR = ROOT / "var" / "rt"
HEADERS = ["measured", "rate/s", "samples", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms"]
# Tickets per second: a rate the bridge keeps up with on the project's 2-core machine while other work
# keeps both cores busy (2026-12-07), so the figures are its latency and not a queue. It did not keep up
# there at 1/s (tickets reached RT 180 s late at p50, RT's own create took 5.6 s) nor at 0.25/s (37 s,
# RT's create 1.4 s): the bridge writes to RT one request at a time, and a ticket's life costs RT about
# four ticket creates of CPU (docs/helpdesk.md, *How fast*).
RATE = 0.1
BASELINE_RATE = 0.2  # RT creating tickets alone: slow enough not to queue there, fast enough for a p99
AGENTS = 4  # each takes every call it is given (capacity 100): tickets are assigned, never queued
LOOK_EVERY = 0.5  # seconds between one ticket's looks at the bridge or the router: when the agent acts, not a time
LOOKS_PER_SECOND = 8.0  # at the bridge, and at the router, in all
SEE_TIMEOUT = 600.0  # long enough for a queue to show in the figures rather than as errors
CREDIT = "10.00"  # within every agent's authority (50.00 EUR): executed at once, no supervisor


@dataclass(frozen=True)
class Agent:
    id: str
    rt_user: str
    rt_token: str  # to act in RT as this agent, as RT's web form would


@dataclass(frozen=True)
class Job:
    """What the load process needs (it crosses the process line): where everything is, who acts, how long."""

    router: str
    bridge: str
    rt: str
    rt_token: str
    agents: tuple[Agent, ...]
    customers: tuple[tuple[str, str], ...]  # (email, order reference), one per ticket
    tag: str
    warmup: float = 0.0
    duration: float = 0.0
    rate: float = RATE


@dataclass(frozen=True)
class Sample:
    in_window: bool
    ticket_id: str = ""
    opened_ms: float | None = None  # POST /v1/tickets -> 201
    opened_at: float = 0.0  # wall-clock time the 201 arrived
    in_rt: bool = False  # seen in RT with the agent as owner and the context comment
    resolved_ms: float | None = None  # RT answered the agent's credit fields -> the router's resolved_at
    error: str | None = None


class _Pacer:
    """At most `per_second` looks in all, evenly spaced: watching must not load what it watches."""

    def __init__(self, per_second: float) -> None:
        self.interval, self.next = 1 / per_second, 0.0

    async def wait(self) -> None:
        now = time.perf_counter()
        slot = max(now, self.next)
        self.next = slot + self.interval
        await asyncio.sleep(slot - now)


def ticket_payload(tag: str, n: int) -> dict[str, Any]:
    """What the bridge sends RT for a new ticket (services/helpdesk/desk/request_tracker.py)."""
    return {
        "Queue": "firstcall",
        "Subject": f"Card payment declined ({tag}-{n})",
        "Requestor": f"baseline-{tag}-{n}@example.com",
        "Content": "My card was declined at the checkout although I have funds.\n\nOpened in firstcall on phone.",
        "ContentType": "text/plain",
        "CustomFields": {"firstcall ticket": str(uuid.uuid4())},
    }


async def _scheduled(rate_per_s: float, count: int, one: Any) -> list[Any]:
    """Open loop: the n-th call starts at n / rate whatever the earlier ones are doing."""
    start, tasks = time.perf_counter(), []
    for n in range(count):
        await asyncio.sleep(max(start + n / rate_per_s - time.perf_counter(), 0))
        tasks.append(asyncio.create_task(one(n)))
    return list(await asyncio.gather(*tasks))


async def run_baseline(job: Job) -> tuple[list[float], Counter[str]]:
    """RT creating tickets alone: sorted latencies (ms) and errors by kind."""
    errors: Counter[str] = Counter()
    headers = {"Authorization": f"token {job.rt_token}"}
    async with make_client(f"{job.rt}REST/2.0/", connections=16, timeout=60, headers=headers) as rt:

        async def create(n: int) -> float | None:
            sent = time.perf_counter()
            try:
                response = await rt.post("ticket", json=ticket_payload(job.tag, n))
            except httpx.HTTPError as error:
                errors[type(error).__name__] += 1
                return None
            if response.status_code != 201:
                errors[f"HTTP {response.status_code}"] += 1
                return None
            return (time.perf_counter() - sent) * 1000

        done = await _scheduled(job.rate, round(job.rate * job.duration), create)
    return sorted(d for d in done if d is not None), errors


async def run_sync(job: Job) -> list[Sample]:
    rt_url = f"{job.rt}REST/2.0/"

    def rt_as(token: str, connections: int) -> httpx.AsyncClient:
        return make_client(rt_url, connections=connections, timeout=60, headers={"Authorization": f"token {token}"})

    async with (
        make_client(job.router, connections=32, headers=AUTH) as router,
        make_client(job.bridge, connections=32, headers=AUTH) as bridge,
        rt_as(job.rt_token, 8) as rt,
        contextlib.AsyncExitStack() as stack,
    ):
        agents = {a.id: (a, await stack.enter_async_context(rt_as(a.rt_token, 4))) for a in job.agents}
        watcher = _Watcher(job, router, bridge, rt, agents)
        return await _scheduled(job.rate, round(job.rate * (job.warmup + job.duration)), watcher.ticket)


class _Watcher:
    """One ticket's way: opened in firstcall, seen in RT, credited there by its agent, resolved in firstcall.

    Watching only decides when the agent acts; the times come from the services' own records (the
    bridge's journal, the router's resolved_at), so how often this looks does not change them."""

    def __init__(
        self,
        job: Job,
        router: httpx.AsyncClient,
        bridge: httpx.AsyncClient,
        rt: httpx.AsyncClient,
        agents: dict[str, tuple[Agent, httpx.AsyncClient]],
    ) -> None:
        self.job, self.router, self.bridge, self.rt, self.agents = job, router, bridge, rt, agents
        self.bridge_pace, self.router_pace = _Pacer(LOOKS_PER_SECOND), _Pacer(LOOKS_PER_SECOND)

    async def ticket(self, n: int) -> Sample:
        window = n >= round(self.job.warmup * self.job.rate)
        try:
            return await self._ticket(n, window)
        except httpx.HTTPError as error:
            return Sample(window, error=type(error).__name__)

    async def _ticket(self, n: int, window: bool) -> Sample:
        email, order = self.job.customers[n]
        body = {"customer": {"email": email}, "channel": "phone", "subject": "Card payment declined"}
        body["description"] = "My card was declined at the checkout although I have funds."
        sent = time.perf_counter()
        response = await self._open(body, key=f"{self.job.tag}-{n}")
        opened, opened_at = time.perf_counter(), time.time()
        if response.status_code != 201:
            return Sample(window, error=f"POST /v1/tickets HTTP {response.status_code}")
        ticket = response.json()
        seen = Sample(window, ticket["id"], (opened - sent) * 1000, opened_at)
        agent, as_agent = self.agents.get(str(ticket.get("agent_id")), (None, None))
        if agent is None or as_agent is None:
            return replace(seen, error="not assigned to a linked agent")
        rt_id = await self._visible(ticket["id"], agent)
        if rt_id is None:
            return replace(seen, error="not in RT with owner and context in time")
        seen = replace(seen, in_rt=True)
        try:
            changed = await as_agent.put(f"ticket/{rt_id}", json={"CustomFields": credit(order)})
        except httpx.TransportError:  # the same values again change nothing that was already saved
            changed = await as_agent.put(f"ticket/{rt_id}", json={"CustomFields": credit(order)})
        asked_at = time.time()
        if changed.status_code != 200:
            return replace(seen, error=f"RT answered the agent's change with HTTP {changed.status_code}")
        resolved_at = await self._resolved(ticket["id"])
        if resolved_at is None:
            return replace(seen, error="not resolved in firstcall in time")
        return replace(seen, resolved_ms=(resolved_at - asked_at) * 1000)

    async def _open(self, body: dict[str, Any], *, key: str) -> httpx.Response:
        """POST /v1/tickets, sent again once if the connection broke (a keep-alive connection the server had
        just closed): the Idempotency-Key makes that safe, as it does for contact-center software."""
        try:
            return await self.router.post("/v1/tickets", json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            return await self.router.post("/v1/tickets", json=body, headers={"Idempotency-Key": key})

    async def _visible(self, ticket_id: str, agent: Agent) -> int | None:
        """The RT ticket once the bridge has no write waiting for it and RT shows the owner and the comment."""
        deadline = time.perf_counter() + SEE_TIMEOUT
        while time.perf_counter() < deadline:
            await self.bridge_pace.wait()
            with contextlib.suppress(httpx.TransportError):  # a connection broke: look again next time
                link = await self.bridge.get(f"/v1/tickets/{ticket_id}/link")
                body = link.json() if link.status_code == 200 else {}
                if body.get("rt_ticket_id") and body.get("pending_effects") == 0:
                    rt_id = int(body["rt_ticket_id"])
                    if await self._in_rt(rt_id, agent):
                        return rt_id
            await asyncio.sleep(LOOK_EVERY)
        return None

    async def _in_rt(self, rt_id: int, agent: Agent) -> bool:
        owner = ((await self.rt.get(f"ticket/{rt_id}")).json().get("Owner") or {}).get("id")
        if owner != agent.rt_user:
            return False
        comments = await self.rt.get(f"ticket/{rt_id}/attachments", params={"fields": "Subject", "per_page": 100})
        subjects = [str(item.get("Subject") or "") for item in comments.json().get("items", [])]
        return any(subject.startswith("firstcall: context for") for subject in subjects)

    async def _resolved(self, ticket_id: str) -> float | None:
        """The router's resolved_at (its clock: this machine's), once the ticket is resolved."""
        deadline = time.perf_counter() + SEE_TIMEOUT
        while time.perf_counter() < deadline:
            await self.router_pace.wait()
            with contextlib.suppress(httpx.TransportError):
                ticket = (await self.router.get(f"/v1/tickets/{ticket_id}")).json()
                if ticket.get("status") == "resolved" and ticket.get("resolved_at"):
                    return datetime.fromisoformat(ticket["resolved_at"]).timestamp()
            await asyncio.sleep(LOOK_EVERY)
        return None


def credit(order: str) -> dict[str, str]:
    """The custom fields an agent fills in RT's form to credit the customer (docs/helpdesk.md)."""
    return {
        "firstcall resolution": "credit",
        "firstcall amount": CREDIT,
        "firstcall currency": "EUR",
        "firstcall order": order,
        "firstcall reason": "benchmark: delivery late",
    }


# ---------------------------------------------------------------------------------------------- the servers


def _rt_settings() -> tuple[str, str]:
    url, token = os.environ.get("FIRSTCALL_HELPDESK_RT_URL", ""), os.environ.get("FIRSTCALL_HELPDESK_RT_TOKEN", "")
    if not url or not token:
        raise RuntimeError("FIRSTCALL_HELPDESK_RT_URL/_RT_TOKEN unset: `make up` and `source var/stack.env` first")
    url = url if url.endswith("/") else f"{url}/"
    answer = httpx.get(f"{url}REST/2.0/rt", headers={"Authorization": f"token {token}"}, timeout=30)
    if answer.status_code != 200:
        raise RuntimeError(f"RT at {url} answers {answer.status_code} to the bridge's token: `deploy/rt.sh start`")
    return url, token


@contextlib.contextmanager
def real_stack_with_bridge(workdir: Path, tickets: int) -> Iterator[tuple[Processes, Job]]:
    """router and knowledge as processes (fresh databases, private topics), the bridge beside them on this
    checkout's RT, agents linked to RT users, and one customer with an order per ticket to come."""
    rt, rt_token = _rt_settings()
    run_id = uuid.uuid4().hex[:8]
    names = ("router", "knowledge", "helpdesk")
    databases = [f"fc_bench_{run_id}_{name}" for name in names]
    env = {
        **os.environ,
        "FIRSTCALL_ENVIRONMENT": "test",
        "FIRSTCALL_BUS": "kafka",
        "FIRSTCALL_KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "FIRSTCALL_KAFKA_TOPIC_PREFIX": f"bench{run_id}.",
        "FIRSTCALL_DATABASE_URL": DATABASE_TEMPLATE.replace("firstcall_{service}", f"fc_bench_{run_id}_{{service}}"),
        "FIRSTCALL_LOG_FORMAT": "json",
        "FIRSTCALL_ADMIN_API_KEY": API_KEY,
    }
    procs = Processes(Path(tempfile.mkdtemp(prefix="helpdesk-", dir=workdir)))
    for name in names:
        procs.ports[name] = free_port()
        env[f"FIRSTCALL_{name.upper()}_PORT"] = str(procs.ports[name])
    env["FIRSTCALL_ROUTER_URL"] = procs.url("router")  # sealed personal fields, as deployed
    env["FIRSTCALL_ROUTER_SEAL_PERSONAL_FIELDS"] = "true"
    env["FIRSTCALL_NOTIFIER_SEAL_PERSONAL_FIELDS"] = "true"
    created: list[str] = []
    try:
        for database in databases:
            asyncio.run(create_database(database))
            created.append(database)
        for name in ("router", "knowledge"):
            procs.start(name, ["-m", "services.cli", "serve", name], env)
            procs.wait_ready(name, [f"{procs.url(name)}/readyz"])
        with httpx.Client(base_url=procs.url("router"), headers=AUTH, timeout=60, trust_env=False) as router:
            key = _created(router.post("/v1/api-keys", json={"name": "helpdesk bridge", "scopes": ["agent"]}))
            bridge_env = env | {
                "FIRSTCALL_HELPDESK_RT_URL": rt,
                "FIRSTCALL_HELPDESK_RT_TOKEN": rt_token,
                "FIRSTCALL_HELPDESK_ROUTER_URL": procs.url("router"),
                "FIRSTCALL_HELPDESK_ROUTER_API_KEY": str(key["key"]),
                "FIRSTCALL_HELPDESK_ARTICLE_URL": f"{procs.url('knowledge')}/v1/articles/{{id}}",
            }
            procs.start("helpdesk", ["-m", "services.cli", "serve", "helpdesk"], bridge_env)
            procs.wait_ready("helpdesk", [f"{procs.url('helpdesk')}/readyz"])
            agents = tuple(_agent(router, procs.url("helpdesk"), i) for i in range(AGENTS))
            customers = tuple(_customer(router, run_id, n) for n in range(tickets))
        yield procs, Job(procs.url("router"), procs.url("helpdesk"), rt, rt_token, agents, customers, run_id)
    finally:
        procs.stop_all()
        for database in created:
            asyncio.run(drop_database(database))
        asyncio.run(delete_topics(f"bench{run_id}."))


def _created(response: httpx.Response) -> dict[str, Any]:
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


def _agent(router: httpx.Client, bridge: str, i: int) -> Agent:
    """A firstcall agent who may credit 50 EUR, its RT user (the same names every run), linked in the bridge."""
    agent = _created(
        router.post(
            "/v1/agents",
            json={
                "display_name": f"Bench agent {i}",
                "team": "bench",
                "skills": {"cards": 3},
                "capacity": {"phone": 100},
                "authority": {"credit": {"EUR": "50.00"}},
                "status": "available",
            },
        )
    )
    user = f"bench-agent-{i}"
    made = subprocess.run(
        [str(ROOT / "deploy" / "rt.sh"), "agent", user], capture_output=True, text=True, timeout=300, check=False
    )
    if made.returncode != 0:
        raise RuntimeError(f"`deploy/rt.sh agent {user}` failed: {made.stderr.strip()}")
    _created(httpx.put(f"{bridge}/v1/agent-links/{agent['id']}", json={"rt_user": user}, headers=AUTH, timeout=60))
    return Agent(str(agent["id"]), user, made.stdout.strip())


def _customer(router: httpx.Client, run_id: str, n: int) -> tuple[str, str]:
    email, reference = f"bench-{run_id}-{n}@example.com", f"SO-{run_id}-{n}"
    order = {
        "customer": {"email": email},
        "source": "shop",
        "external_ref": reference,
        "currency": "EUR",
        "lines": [{"sku": "KB-1", "description": "Keyboard", "quantity": 1, "unit_price": "89.90"}],
        "ordered_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400)),
    }
    _created(router.post("/v1/orders", json=order))
    return email, reference


def journal_done(bridge: str) -> dict[str, float]:
    """Ticket id -> when the bridge's journal has the last of its ticket, owner and context writes done."""
    kinds: dict[str, dict[str, float]] = {}
    cursor = None
    with httpx.Client(base_url=bridge, headers=AUTH, timeout=60, trust_env=False) as client:
        while True:
            page = client.get(
                "/v1/effects", params={"status": "done", "limit": 200, **({"cursor": cursor} if cursor else {})}
            )
            for effect in _created(page)["items"]:
                if effect["kind"] in ("create", "owner", "context") and effect["done_at"]:
                    at = datetime.fromisoformat(effect["done_at"]).timestamp()
                    done = kinds.setdefault(effect["ticket_id"], {})
                    done[effect["kind"]] = max(done.get(effect["kind"], 0.0), at)
            cursor = page.json()["next_cursor"]
            if not cursor:
                return {ticket: max(done.values()) for ticket, done in kinds.items() if len(done) == 3}


# ---------------------------------------------------------------------------------------------- RT's facts


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def rt_cpu_seconds() -> float | None:
    """CPU seconds of this checkout's rt-server: the master, the workers it reaped, the workers alive."""
    try:
        master = int((RT_VAR / "rt-server.pid").read_text().strip())
        fields = _stat(master)
    except (OSError, ValueError):
        return None
    total = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                child = _stat(int(entry.name))
            except OSError:
                continue
            if child[1] == str(master):
                total += int(child[11]) + int(child[12])
    return total / os.sysconf("SC_CLK_TCK")


def rt_workers() -> str:
    try:
        master = (RT_VAR / "rt-server.pid").read_text().strip()
        words = Path(f"/proc/{master}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return "?"
    return words[words.index("--max-workers") + 1] if "--max-workers" in words else "?"


def bcrypt_cost(users: list[str]) -> str:
    """The bcrypt cost of the auth tokens RT checks on each request of these users, from RT's database."""
    database = RT_VAR / "db" / "rt5.sqlite"
    if not database.exists():
        return "unknown (not this checkout's RT)"
    marks = ", ".join("?" for _ in users)
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as rt:
        rows = rt.execute(
            f"SELECT DISTINCT Tokens.Token FROM AuthTokens AS Tokens JOIN Users ON Users.id = Tokens.Owner "
            f"WHERE Users.Name IN ({marks})",
            users,
        ).fetchall()
    costs = sorted({int(token.split("!")[2]) for (token,) in rows if str(token).startswith("!bcrypt!")})
    return " and ".join(str(c) for c in costs) if costs else "unknown"


# ---------------------------------------------------------------------------------------------- the table


def _row(measured: str, per_s: float, values: list[float], errors: int) -> list[str]:
    values = sorted(values)
    return [
        measured,
        f"{per_s:g}",
        str(len(values)),
        str(errors),
        *(ms(percentile(values, q)) for q in (50, 90, 99, 100)),
    ]


def _rt_cpu_delta(since: float | None) -> float:
    now = rt_cpu_seconds()
    return 0.0 if now is None or since is None else now - since


def run(*, quick: bool, workdir: Path, load: LoadProcess) -> Section:
    warmup, duration, baseline = (10.0, 40.0, 20.0) if quick else (10.0, 300.0, 100.0)
    with real_stack_with_bridge(workdir, round(RATE * (warmup + duration))) as (procs, job):
        # The baseline runs half before, half after, so a change in the machine's load hits both sides.
        halves = [replace(job, rate=BASELINE_RATE, duration=baseline / 2, tag=f"{job.tag}{h}") for h in "ab"]
        rt_at = rt_cpu_seconds()
        first = load.run(run_baseline, halves[0])
        rt_baseline, rt_at = _rt_cpu_delta(rt_at), rt_cpu_seconds()
        cpu = {name: process_cpu_seconds(p.pid) for name, p in procs.processes.items()}
        started = time.monotonic()
        samples = load.run(run_sync, replace(job, warmup=warmup, duration=duration))
        sync_seconds = time.monotonic() - started
        cpu = {name: process_cpu_seconds(p.pid) - cpu[name] for name, p in procs.processes.items()}
        rt_sync, rt_at = _rt_cpu_delta(rt_at), rt_cpu_seconds()
        written = journal_done(job.bridge)
        second = load.run(run_baseline, halves[1])
        rt_baseline += _rt_cpu_delta(rt_at)
        cost = bcrypt_cost(["firstcall-bridge", *(a.rt_user for a in job.agents)])
        logged = [f"{name}: {e}" for name in procs.logs if (e := first_error(procs.log_text(name)))]
    created, base_errors = first[0] + second[0], first[1] + second[1]
    window = [s for s in samples if s.in_window]
    visible = [(written[s.ticket_id] - s.opened_at) * 1000 for s in window if s.in_rt and s.ticket_id in written]
    resolved = [s.resolved_ms for s in window if s.resolved_ms is not None]
    opened = [s.opened_ms for s in window if s.opened_ms is not None]
    rows = [
        _row("baseline: RT `POST /REST/2.0/ticket` alone", BASELINE_RATE, created, sum(base_errors.values())),
        _row(
            "firstcall 201 -> in RT, owned by the agent, with the context comment",
            RATE,
            visible,
            len(window) - len(visible),
        ),
        _row(
            "agent's credit fields saved in RT -> resolved in firstcall", RATE, resolved, len(visible) - len(resolved)
        ),
        _row("POST /v1/tickets -> 201 (for reference)", RATE, opened, len(window) - len(opened)),
    ]
    poll = HelpdeskSettings.model_fields["poll_interval_seconds"].default
    settle = HelpdeskSettings.model_fields["settle_seconds"].default
    per_ticket = ", ".join(f"{name} {seconds / len(samples) * 1000:.0f} ms" for name, seconds in cpu.items())
    creates = max(len(created) + sum(base_errors.values()), 1)
    notes = [
        f"{RATE:g} tickets/s, open loop, {warmup:g} s warm-up then {duration:g} s measured; the baseline at "
        f"{BASELINE_RATE:g}/s, {baseline / 2:g} s before and {baseline / 2:g} s after, with the bridge's token and "
        "payload",
        f"RT checks the auth token of every REST request with bcrypt; this RT's tokens (the bridge's and the "
        f"agents') have cost {cost}. RT's own default is 12; deploy/rt/README.md (*Choices*) explains why the "
        "project's RT uses 4: at 12 each request spent ~240 ms of CPU on it here, which would swamp every row",
        f"RT: this checkout's RT 5 (deploy/rt.sh) on SQLite, {rt_workers()} Starlet workers; the bridge: "
        f"`firstcall serve helpdesk` with its defaults (poll every {poll:g} s, settle {settle:g} s: a change "
        f"saved in RT is read {settle:g} to {settle + poll:g} s later, then applied through the router's API)",
        "in RT = the bridge's journal marking the last of the ticket's three writes done (ticket, owner, "
        "context comment: `done_at` in `GET /v1/effects`, after RT answered it), from the 201's arrival; each "
        "ticket also checked in RT (owner = the agent's RT user, a comment `firstcall: context for ...`) "
        "before its agent acts; resolved = the router's `resolved_at`, from RT's answer to the agent's "
        f"`PUT /REST/2.0/ticket/:id`. Watching (each ticket every {LOOK_EVERY:g} s, at most "
        f"{LOOKS_PER_SECOND:g} looks/s at the bridge and at the router) only decides when the agent acts",
        "router and knowledge run as processes (the context's suggestions come from knowledge); the notifier "
        "does not: its problem comments would add RT writes to a path that is not the one measured",
        f"RT was busy {rt_sync / sync_seconds:.2f} cores on average while the tickets went through "
        f"({sync_seconds:.0f} s, warm-up and drain included); CPU per ticket: {per_ticket}, RT "
        f"{rt_sync / len(samples) * 1000:.0f} ms; RT per baseline create {rt_baseline / creates * 1000:.0f} ms "
        "(RT's figures include anyone else's requests to it meanwhile)",
    ]
    errors = Counter(s.error for s in window if s.error)
    notes += [f"errors: {kind}: {count}" for kind, count in sorted(errors.items())]
    notes += [f"baseline errors: {kind}: {count}" for kind, count in sorted(base_errors.items())]
    notes += [f"logged errors; the first in {error}" for error in logged]
    return Section(
        name=NAME,
        title="firstcall and Request Tracker in step through the helpdesk bridge, against RT's ticket create",
        about=(
            "A ticket opened in firstcall reaching RT with its owner and context comment, and an agent's "
            "resolution saved in RT reaching firstcall, at a steady rate; the baseline is RT creating a "
            "ticket alone, measured in the same run."
        ),
        headers=HEADERS,
        rows=rows,
        notes=notes,
    )
