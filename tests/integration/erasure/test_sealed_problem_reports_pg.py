"""A problem's reports on Kafka after one of their authors is erased, on the real stack (decision 0031): the
notifier sealed each report with its author's key, so the raw record on `firstcall.problems` holds none of
their words, the erased author's report no longer opens, and the other authors' reports still do.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

import httpx
import pytest

from shared.events.envelope import CloudEvent, from_kafka
from shared.events.topics import PROBLEMS
from shared.runtime import ServiceRuntime
from shared.sealing import ITEM_PREFIX, item_author, open_item
from tests.conftest import wait_until
from tests.erasure_scenario import Customer, erase
from tests.factories import ticket_request
from tests.integration.erasure import test_sealed_events_pg
from tests.notifier_factories import OUTAGE_REPORTS
from tests.stack import read_topic

pytestmark = pytest.mark.integration
FIELD = "representative_reports"
# The three services on PostgreSQL and one Kafka prefix, the router sealing, keys asked in process.
services = test_sealed_events_pg.services


async def test_an_erased_authors_report_no_longer_opens_and_the_others_still_do(
    services: dict[str, tuple[ServiceRuntime, httpx.AsyncClient]], topic_prefix: str
) -> None:
    router = services["router"][1]
    opened = await outage_detected(router, topic_prefix, "outage")
    authors = {customer: (ticket, description) for customer, (ticket, _, description) in opened.authors.items()}
    raw, event = opened.raw, opened.event
    items: list[str] = event.data[FIELD]
    assert items
    assert all(item.startswith(ITEM_PREFIX) for item in items)
    assert {item_author(item) for item in items} <= set(authors)
    assert [d for _, d in authors.values() if d[:30].encode() in raw] == []

    erased = item_author(items[0])
    await erase(router, Customer(erased, [authors[erased][0]]), timeout=90)

    for item in items:
        author = item_author(item)
        answer = await router.get(f"/v1/customers/{author}/data-key")
        if author == erased:
            assert answer.status_code == 410, answer.text
            continue
        assert answer.status_code == 200, answer.text
        text = open_item(base64.b64decode(answer.json()["key"]), FIELD, item)
        assert authors[author][1][:30] in text


@dataclass(frozen=True)
class Detected:
    authors: dict[str, tuple[str, str, str]]  # customer id -> (ticket id, subject, description)
    raw: bytes  # the problem.detected record as Kafka holds it
    event: CloudEvent


async def outage_detected(router: httpx.AsyncClient, topic_prefix: str, label: str) -> Detected:
    """Three customers report one outage through the router; the problem.detected record once on Kafka."""
    authors: dict[str, tuple[str, str, str]] = {}
    for i, (subject, description) in enumerate(OUTAGE_REPORTS[:3]):
        customer = {"email": f"{label}.{i}.{uuid.uuid4().hex[:8]}@example.com", "name": f"{label.title()} Reporter {i}"}
        opened = await router.post(
            "/v1/tickets",
            json=ticket_request(customer=customer, subject=subject, description=description, channel="email"),
        )
        assert opened.status_code == 201, opened.text
        authors[opened.json()["customer_id"]] = (opened.json()["id"], subject, description)

    async def detected() -> tuple[bytes, CloudEvent] | None:
        for record in await read_topic(f"{topic_prefix}{PROBLEMS.name}"):
            envelope = from_kafka(record.value, record.headers)
            if envelope.type == "firstcall.problem.detected":
                return record.value or b"", envelope
        return None

    raw, event = await wait_until(detected, timeout=120)
    return Detected(authors, raw, event)
