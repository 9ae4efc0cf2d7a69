"""Feedback decided in the real Request Tracker: the bridge (PostgreSQL) makes the cluster an RT ticket in the
feedback queue, the owner decides in RT's fields with their own token, and the notifier gets one decision call.

The notifier is a stub behind the bridge's own client (it answers as `GET /v1/feedback`, `GET
/v1/feedback/{id}` and `POST /v1/feedback/{id}/decision` do, and records each call): what is under test is
RT and the bridge, and the notifier's side of the round trip has its own tests.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.helpdesk.bootstrap import build_runtime
from services.helpdesk.bridge import Bridge
from services.helpdesk.feedback.models import FeedbackLink
from services.helpdesk.firstcall.client import RouterClient
from services.helpdesk.firstcall.notifier import NotifierClient
from shared.runtime import ServiceRuntime
from tests.conftest import wait_until
from tests.integration.helpdesk.conftest import WAIT, bridge_settings, real_rt, rt_comments, rt_ticket
from tests.rt_stack import create_agent, rt_async_client

QUEUE = "firstcall-feedback"
WORDS = [
    ("Ada", "Your email gives wrong instructions\nIt says to call you, but only the website can fix this."),
    ("Grace", "The email sends people to the phone for nothing\nCalling did not fix it, the website did."),
]


class StubNotifier:
    """One open feedback cluster with two voices; decided once, as the notifier decides."""

    def __init__(self) -> None:
        self.id = uuid.uuid4()
        self.cluster: dict[str, Any] = {
            "id": str(self.id),
            "status": "open",
            "summary_text": "Your email gives wrong instructions",
            "owner": "billing-communications",
            "unowned": False,
            "voice_count": len(WORDS),
            "customer_count": len(WORDS),
        }
        self.decisions: list[tuple[str | None, dict[str, Any]]] = []
        self.decided_with: str | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path == "/v1/feedback":
            items = [self.cluster] if self.cluster["status"] == "open" else []
            return httpx.Response(200, json={"items": items, "next_cursor": None})
        if request.method == "GET" and path == f"/v1/feedback/{self.id}":
            return httpx.Response(200, json={**self.cluster, "voices": [_voice(n, w) for n, w in WORDS]})
        if request.method == "POST" and path == f"/v1/feedback/{self.id}/decision":
            return self._decide(request.headers.get("Idempotency-Key"), json.loads(request.content))
        return httpx.Response(404, json={"title": "Not Found"})

    def _decide(self, key: str | None, body: dict[str, Any]) -> httpx.Response:
        self.decisions.append((key, body))
        if self.decided_with not in (None, key):
            return httpx.Response(409, json={"title": "Conflict", "slug": "feedback-decided"})
        self.decided_with = key
        self.cluster.update({"status": "decided", "change": None, "change_due": None, **body})
        self.cluster["decided_at"] = datetime.now(UTC).isoformat()
        return httpx.Response(200, json=self.cluster)


def _voice(name: str, words: str) -> dict[str, Any]:
    return {
        "ticket_id": str(uuid.uuid4()),
        "customer_id": str(uuid.uuid4()),
        "customer_name": name,
        "channel": "email",
        "kind": "suggestion",
        "text": words,
        "received_at": "2026-12-07T09:12:00Z",
    }


@pytest.fixture
async def bridge(tmp_path: Path, pg_url: str) -> AsyncIterator[tuple[ServiceRuntime, StubNotifier]]:
    stub = StubNotifier()
    settings = bridge_settings(tmp_path, pg_url, "unused.", bus="memory", feedback_queue=QUEUE)
    runtime = build_runtime(
        settings,
        router=RouterClient(base_url="http://router.invalid", api_key="unused", timeout=1),
        notifier=NotifierClient(
            base_url="http://notifier", api_key="unused", timeout=30, transport=httpx.MockTransport(stub.handle)
        ),
        run_bridge=False,
    )
    await runtime.start()
    yield runtime, stub
    await runtime.stop()


async def test_an_owners_decision_in_rt_reaches_the_notifier_once_and_rt_shows_it(
    bridge: tuple[ServiceRuntime, StubNotifier],
) -> None:
    runtime, stub = bridge
    work: Bridge = runtime.extensions["bridge"]
    assert work.feedback is not None

    async def rt_id() -> int | None:
        await work.worker.run_once()
        async with runtime.database.session() as session:
            link = await session.get(FeedbackLink, stub.id)
            return link.rt_ticket_id if link else None

    assert await work.feedback.watch_once() == 1
    ticket_id = await wait_until(rt_id, timeout=WAIT, every=0.2)
    made = await real_rt().read_ticket(ticket_id)
    assert made.queue == QUEUE
    assert (made.fields["feedback"], made.fields["customers"]) == (str(stub.id), "2")
    assert (await rt_ticket(ticket_id))["Requestor"] == []

    owner, token = create_agent(f"owner-{uuid.uuid4().hex[:8]}")
    decision = {
        "firstcall decision": "accepted",
        "firstcall change": "The email now says to use the website, with the link",
        "firstcall change due": "from the next mailing",
        "firstcall reason": "calling cannot change this setting; the email was wrong",
    }
    async with rt_async_client(token) as client:
        changed = await client.put(f"ticket/{ticket_id}", json={"CustomFields": decision, "Status": "resolved"})
        assert changed.status_code == 200, changed.text

    async def sent() -> int:
        return await work.feedback.reader.read_once() if work.feedback else 0

    assert await wait_until(sent, timeout=WAIT, every=0.5) == 1
    [(key, body)] = stub.decisions
    assert key is not None
    assert key.startswith("rt-txn-")
    assert body == {
        "decision": "accepted",
        "change": decision["firstcall change"],
        "change_due": decision["firstcall change due"],
        "reason": decision["firstcall reason"],
        "decided_by": owner,
    }

    async def shown() -> bool:
        await work.worker.run_once()
        return any("firstcall: feedback accepted" in subject for subject in await rt_comments(ticket_id))

    await wait_until(shown, timeout=WAIT, every=0.5)
    assert (await rt_ticket(ticket_id))["Status"] == "resolved"
    assert await work.feedback.reader.read_once() == 0
    assert len(stub.decisions) == 1
