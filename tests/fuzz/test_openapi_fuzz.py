"""Every operation of every service, fuzzed from its own OpenAPI document, answers as the document says.

Schemathesis (its CLI, in a process of its own) generates valid and invalid requests for each operation
(examples, coverage of boundaries, random fuzzing) and chains operations through the documents' links
(stateful phase: create, then read, change and delete what was created). A run fails on any 5xx, an
undocumented status, a body, content type or header that does not match the document, a request the
document forbids that is accepted, an operation reachable without its key, and a deleted resource still
served. The services run embedded, as `make run` serves them (tests/fuzz/served.py); the router is fuzzed
first, so its tickets reach knowledge and the notifier over the bus before they are fuzzed.

FUZZ_EXAMPLES sets the examples per operation (default: a run of a few minutes on two cores); FUZZ_SEED
replays a run (each run prints its seed); FUZZ_REPORT_DIR keeps schemathesis' reports (JUnit, JSON).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.embedded import SERVICES
from tests.factories import ADMIN, ticket_request
from tests.fuzz.served import ServedStack, served_stack
from tests.notifier_factories import OUTAGE_REPORTS

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
SEED = os.environ.get("FUZZ_SEED")
CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# A bound for a run that hangs, not a budget: the examples set how long a run takes.
RUN_TIMEOUT_SECONDS = 600 + 40 * EXAMPLES
MAX_REPORTED_CHARS = 20_000
OUTAGE_SECONDS = 60.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedStack]:
    with served_stack(tmp_path_factory.mktemp("fuzzed")) as served:
        report_an_outage(served)
        yield served


def report_an_outage(stack: ServedStack) -> None:
    """Tickets of one outage from several customers, so the notifier has a problem (and its reports) to serve:
    nothing in its own document creates one, and its stateful phase starts from `GET /v1/problems`."""
    with httpx.Client(headers=ADMIN, timeout=30) as client:
        for number, (subject, description) in enumerate(OUTAGE_REPORTS):
            customer = {"email": f"fuzz-outage-{number}@example.com", "name": f"Customer {number}"}
            body = ticket_request(customer=customer, subject=subject, description=description, channel="web")
            assert client.post(f"{stack.urls['router']}/v1/tickets", json=body).status_code == 201
        deadline = time.monotonic() + OUTAGE_SECONDS
        while not client.get(f"{stack.urls['notifier']}/v1/problems").json()["items"]:
            assert time.monotonic() < deadline, "the notifier found no problem in the outage's tickets"
            time.sleep(0.2)


@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 60)
@pytest.mark.parametrize("service", SERVICES)  # in this order: the router's tickets feed the others
def test_every_operation_answers_as_its_openapi_document_says(stack: ServedStack, service: str, tmp_path: Path) -> None:
    reports = Path(os.environ.get("FUZZ_REPORT_DIR", tmp_path)) / service
    served_before, started = stack.requests_served(service), time.monotonic()
    run = subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", f"{stack.urls[service]}/openapi.json"]
        + ["--max-examples", str(EXAMPLES), "--workers", "1", "--no-color"]
        # Server-sent event streams stay open for 30 minutes by design; their refusals (401/403/404/429)
        # and resumption are tested in tests/unit/router/test_desktop_push.py instead.
        + ["--exclude-operation-id-regex", "^stream"]
        + ["--report", "junit,json", "--report-dir", str(reports)]
        + (["--seed", SEED] if SEED else []),
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks"},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "schemathesis.txt").write_text(run.stdout + run.stderr)
    summary = _summary(reports)
    print(  # read in CI's log (pytest -rA or -s): the figures docs/decisions/0002 quotes
        f"fuzz {service}: {summary.get('generated', '?')} cases, "
        f"{stack.requests_served(service) - served_before} requests, {time.monotonic() - started:.0f} s, "
        f"seed {summary.get('seed', '?')}"
    )
    assert run.returncode == 0, _failures(run.stdout + run.stderr)


def _summary(reports: Path) -> dict[str, object]:
    found = sorted(reports.glob("json-*.json"))
    if not found:
        return {}
    report = json.loads(found[-1].read_text())
    return {"generated": report["test_cases"]["generated"], "seed": report["seed"]}


def _failures(output: str) -> str:
    """The part of schemathesis' output that names the failures, each with a curl line to replay it."""
    start = output.find("= FAILURES =")
    return output[max(start, 0) :][:MAX_REPORTED_CHARS]
