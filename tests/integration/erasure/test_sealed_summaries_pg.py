"""A problem's summary on Kafka after its author is erased, on the real stack (decision 0031): the notifier
sealed the representative report's subject with that customer's key, the router opened it with its own keys
for the agents' context, and once the customer is erased the record on `firstcall.problems` no longer opens.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from shared.runtime import ServiceRuntime
from shared.sealing import ITEM_PREFIX, item_author, open_text
from tests.conftest import wait_until
from tests.erasure_scenario import Customer, erase
from tests.integration.erasure import test_sealed_events_pg
from tests.integration.erasure.test_sealed_problem_reports_pg import outage_detected

pytestmark = pytest.mark.integration
FIELD = "summary_text"
# The three services on PostgreSQL and one Kafka prefix, the router sealing, keys asked in process.
services = test_sealed_events_pg.services


async def test_an_erased_authors_summary_no_longer_opens_and_the_router_read_it_opened(
    services: dict[str, tuple[ServiceRuntime, httpx.AsyncClient]], topic_prefix: str
) -> None:
    router = services["router"][1]
    opened = await outage_detected(router, topic_prefix, "summary")
    authors = {customer: (ticket, subject) for customer, (ticket, subject, _) in opened.authors.items()}
    raw, event = opened.raw, opened.event
    summary: str = event.data[FIELD]
    assert summary.startswith(ITEM_PREFIX)
    author = item_author(summary)
    assert author in authors
    assert [s for _, s in authors.values() if s.encode() in raw] == []

    # The router consumed the event and opened the summary with its own keys for the agents' context.
    ticket_id, subject = authors[author]

    async def context_summary() -> str | None:
        answer = await router.get(f"/v1/tickets/{ticket_id}/context")
        problem: dict[str, Any] | None = answer.json().get("problem") if answer.status_code == 200 else None
        return str(problem["summary"]) if problem else None

    assert await wait_until(context_summary, timeout=90, every=0.5) == subject
    key = await router.get(f"/v1/customers/{author}/data-key")
    assert key.status_code == 200, key.text
    assert open_text(base64.b64decode(key.json()["key"]), FIELD, summary) == subject

    await erase(router, Customer(author, [ticket_id]), timeout=90)
    answer = await router.get(f"/v1/customers/{author}/data-key")
    assert answer.status_code == 410, answer.text
