"""ticket_open: `POST /v1/tickets` on the router (its own process, PostgreSQL + Kafka) vs the bare baseline.

Driven by vegeta (`bench.vegeta`), not by `bench.load`: the Python generator costs about 1.7 ms of CPU per
request, which capped the baseline near 690/s, so the ratio to it measured the generator, not FastAPI.
"""

from __future__ import annotations

import functools
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import vegeta
from bench.banking77 import DEFAULT_DATA as BANKING77
from bench.banking77 import load_split
from bench.load import LoadProcess, LoadResult, Phase, Request
from bench.procs import AUTH, baseline_server, first_error, outbox_pending, real_stack, wait_idle, wait_outbox_drained
from bench.report import Section, cores, ms, rate

NAME = "ticket_open"
HEADERS = [
    "server",
    "load",
    "offered/s",
    "achieved/s",
    "errors",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "throughput vs baseline",
    "server CPU ms/req",
    "server CPU",
    "client CPU",
    "PG+Kafka CPU",
    "other CPU",
]


AGENTS = 20  # each takes one phone call at a time: after the first 20 tickets every ticket queues


def _texts(split: str) -> list[tuple[str, str]]:
    # One BANKING77 label ends in "?", which intent names (letters, digits, _.:-) do not allow.
    return [(text, label.rstrip("?")) for text, label in load_split(BANKING77 / f"{split}.csv")]


@functools.cache
def customer_texts() -> tuple[str, ...]:
    """What the bench's customers write: BANKING77's test texts (the classifier learned from its train split)."""
    return tuple(text for text, _ in _texts("test"))


def ticket_request(n: int, *, tag: str) -> Request:
    """A new customer (distinct email) opening a ticket, with its own Idempotency-Key: the hot path."""
    texts = customer_texts()
    body = {
        "customer": {"email": f"bench-{tag}-{n}@example.com", "name": f"Bench Customer {n}"},
        "channel": "phone",
        "subject": texts[n % len(texts)][:80],
        "description": texts[(n * 7 + 3) % len(texts)],
        "priority": "normal",
        "attributes": {"product": "debit-card", "language": "en"},
    }
    headers = {**AUTH, "content-type": "application/json", "idempotency-key": f"bench-{tag}-{n}"}
    return Request("POST", "/v1/tickets", headers, orjson.dumps(body))


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    return response.json()


def prepare_router(url: str) -> str:
    """A router as it runs in a contact center: a trained intent classifier, intents that need skills,
    and agents (all busy soon). Returns what was set up, for the notes."""
    with httpx.Client(base_url=url, headers=AUTH, timeout=120) as client:
        train = _texts("train")
        examples = [{"text": text, "intent": intent} for text, intent in train]
        _ok(client.post("/v1/intents/examples", json={"examples": examples}))
        model = _ok(client.post("/v1/intents/train"))
        deadline = time.monotonic() + 300
        while model["status"] == "training" and time.monotonic() < deadline:
            time.sleep(0.5)
            model = _ok(client.get(f"/v1/intents/models/{model['id']}"))
        if model["status"] != "ready":
            raise RuntimeError(f"the intent model did not train: {model}")
        intents = sorted({intent for _, intent in train})
        for intent in intents:
            profile = {"required_skills": {"cards": 1}, "likely_resolution": "answer"}
            _ok(client.put(f"/v1/intents/{intent}/profile", json=profile))
        for n in range(AGENTS):
            agent = {
                "display_name": f"Bench Agent {n}",
                "team": "payments",
                "role": "agent",
                "skills": {"cards": 3},
                "capacity": {"phone": 1},
                "authority": {"credit": {"EUR": "50.00"}},
                "status": "available",
            }
            _ok(client.post("/v1/agents", json=agent))
        # The classifier is loaded once training ends; make sure this process answers with it.
        classified = _ok(client.post("/v1/classify", json={"text": "my card payment was declined"}))
    return (
        f"router prepared like a contact center's: intent model trained on BANKING77's train split "
        f"({len(examples):,} examples, {model['metrics'].get('train_seconds', '?')} s), every intent needing "
        f"skill `cards`, {AGENTS} available agents taking one phone call each (busy after the first "
        f"{AGENTS} tickets: then every ticket is classified, considered for every agent and queued); texts from "
        f"BANKING77's test split (check: {classified['intent']!r})"
    )


def phases(quick: bool) -> list[Phase]:
    duration, warmup = (2.0, 0.5) if quick else (10.0, 2.0)
    open_warmup = 0.5 if quick else 1.0
    return [
        Phase.closed(concurrency=32, duration=duration, warmup=warmup),
        Phase.open(rate=200, duration=duration, warmup=open_warmup),
        Phase.open(rate=500, duration=duration, warmup=open_warmup),
    ]


def _row(server: str, result: LoadResult, baseline: LoadResult | None) -> list[str]:
    phase = result.phase
    ratio = "1.00 (baseline)" if baseline is None else f"{result.throughput / baseline.throughput:.2f}"
    return [
        server,
        phase.label,
        "max" if phase.mode == "closed" else rate(phase.rate),
        rate(result.throughput),
        str(result.error_count),
        ms(result.percentile(50)),
        ms(result.percentile(90)),
        ms(result.percentile(99)),
        ms(result.percentile(100)),
        ratio,
        f"{result.server_ms_per_request:.2f}" if result.error_count <= 0.05 * result.sent else "n/a",
        cores(result.cpu.server),
        cores(result.cpu.client),
        cores(result.cpu.stack),
        cores(result.cpu.other),
    ]


def _generator_ms(result: LoadResult) -> str:
    """vegeta's own CPU time per request it sent."""
    return f"{result.cpu.client * result.cpu.seconds / result.sent * 1000:.3f} ms" if result.sent else "n/a"


def run(*, quick: bool, workdir: Path, load: LoadProcess) -> Section:
    """The runner's signature; `load` (the Python generator) is not used: vegeta drives this benchmark."""
    plan = phases(quick)
    run_id = uuid.uuid4().hex[:6]
    notes: list[str] = []
    binary = vegeta.find()

    baseline: list[LoadResult] = []
    router: list[LoadResult] = []
    # Both servers run throughout and take turns, phase by phase, so that a change in the machine's
    # background load hits both sides of each comparison alike; an idle server costs nothing.
    with baseline_server(workdir) as bare, real_stack(workdir, ["router"]) as stack:
        notes.append(prepare_router(stack.url("router")))
        servers = (("baseline", bare, baseline), ("router", stack, router))
        everyone = bare.pids + stack.pids
        for i, phase in enumerate(plan):
            for server, procs, results in servers:
                make = functools.partial(ticket_request, tag=f"{run_id}{server}{i}")
                result = vegeta.run_phase(
                    binary,
                    procs.url(server),
                    phase,
                    make,
                    workdir=workdir,
                    watch_pids=procs.pids,
                    settle=lambda: wait_idle(everyone),
                )
                results.append(result)
        pending = outbox_pending(stack.url("router"))
        drained = wait_outbox_drained(stack.url("router"))
        notes.append(
            "router outbox right after the last phase: "
            + (f"{pending} events unpublished; " if pending is not None else "unknown (/readyz did not answer); ")
            + (f"empty {drained:.1f} s later" if drained is not None else "still not empty after 60 s")
        )
        if (error := first_error(stack.log_text("router"))) is not None:
            notes.append(f"the router logged errors; the first: {error}")

    rows: list[list[str]] = []
    for base, mine in zip(baseline, router, strict=True):
        rows += [_row("baseline", base, None), _row("router", mine, base)]
    for server, results in (("baseline", baseline), ("router", router)):
        for result in results:
            if result.errors:
                kinds = ", ".join(f"{kind}: {count}" for kind, count in sorted(result.errors.items()))
                notes.append(f"{server}, {result.phase.label}: {result.error_count} errors of {result.sent} ({kinds})")
    closed, opened = plan[0], plan[1]
    notes[:0] = [
        f"load generator: vegeta {vegeta.version(binary)} (Go, `bench/vegeta.py`) on the same machine; each phase "
        f"is a warm-up attack whose results are discarded, then the measured attack. Closed loop: {closed.connections} "
        "workers (`-rate=0 -workers=N -max-workers=N`), each sending its next request when the previous one is "
        f"answered, {closed.warmup:g} s warm-up then {closed.duration:g} s; open loop: requests leave on a fixed "
        "schedule (`-rate=R`) and vegeta adds workers whenever none is free, so sends stay on schedule whatever "
        f"the server does (no coordinated omission), {opened.warmup:g} s warm-up then {opened.duration:g} s. "
        f"Latency runs from vegeta's send time; a request unanswered {closed.timeout:g} s after it was sent is a timeout",
        "each request is a new customer (distinct email) with its own Idempotency-Key, sent once (one target "
        "line per request, read lazily: vegeta never loops over them); "
        "router: `python -m services.cli serve router` on a fresh PostgreSQL database and a private topic prefix; "
        "baseline: `python -m bench.baseline` (same uvicorn settings, parsing only)",
        "CPU columns are cores busy from the measured attack's start to vegeta's exit after its last answer "
        "(2.00 = both cores of a 2-core machine): the server process, the load generator (vegeta's own user + "
        "system time), PostgreSQL + Kafka (anyone's use of them), and other programs; `server CPU ms/req` is "
        "the server's CPU time per successful request, the figure a busy machine disturbs least (n/a when more "
        "than 5% of the requests failed: their work is wasted, not attributable)",
        "the generator's own CPU per request sent (vegeta's user + system time over the measured attack): "
        + "; ".join(
            f"{base.phase.label}: baseline {_generator_ms(base)}, router {_generator_ms(mine)}"
            for base, mine in zip(baseline, router, strict=True)
        )
        + " (bench/load.py, the Python generator, costs about 1.7 ms, which capped the baseline near 690/s)",
    ]
    return Section(
        name=NAME,
        title="open a ticket, router vs bare FastAPI baseline",
        about=(
            "`POST /v1/tickets` answered by the router (validation, customer find-or-create, intent "
            "classification with a trained model, routing over 20 agents then the queue, ticket + events + "
            "idempotency record in one PostgreSQL transaction, relay publishing to Kafka, access log) "
            "against a bare FastAPI app that only parses the same body with the same schema."
        ),
        headers=HEADERS,
        rows=rows,
        notes=notes,
    )
