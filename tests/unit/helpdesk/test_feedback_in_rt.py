"""Feedback decided in RT: each notifier feedback cluster is an RT ticket in the feedback queue with the
customers' own words; the owner's decision in RT's fields is sent to the notifier once; a decision taken
through the API shows in RT. The real notifier in-process, the bridge with a fake RT, one in-memory bus."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from services.embedded import drain
from services.helpdesk.bootstrap import build_runtime
from services.helpdesk.bridge import Bridge
from services.helpdesk.desk.port import ChangedTicket, ChangedTickets
from services.helpdesk.feedback.models import FeedbackLink
from services.helpdesk.firstcall.client import RouterClient
from services.helpdesk.firstcall.notifier import NotifierClient
from services.helpdesk.settings import HelpdeskSettings
from services.notifier.bootstrap import build_runtime as build_notifier
from services.notifier.bootstrap import create_app as create_notifier_app
from services.notifier.delivery.models import Delivery
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.runtime import ServiceRuntime
from shared.settings import DEVELOPMENT_ADMIN_KEY
from tests.factories import ADMIN
from tests.notifier_factories import fast_settings
from tests.unit.helpdesk.conftest import helpdesk_settings
from tests.unit.helpdesk.fake_rt import FakeRT
from tests.unit.notifier.conftest import Notifier, staged_events
from tests.unit.notifier.test_feedback import OWNERS, WRONG_EMAIL, heard, voice

QUEUE = "firstcall-feedback"
OWNER = "marta"  # the billing-communications owner, an RT user (not a firstcall agent)


class FeedbackRT(FakeRT):
    """The fake RT, finding and listing tickets by any firstcall field as RT's TicketSQL does."""

    async def find_ticket_by(self, *, field: str, value: str) -> int | None:
        self._reachable()
        return next((t.id for t in self.tickets.values() if t.fields.get(field) == value), None)

    async def changed_tickets_with(self, *, field: str, since: datetime, limit: int, page: int = 1) -> ChangedTickets:
        self._reachable()
        marked = sorted(
            (t for t in self.tickets.values() if t.fields.get(field) and t.updated_at >= since),
            key=lambda t: t.updated_at,
        )
        window = marked[(page - 1) * limit : page * limit]
        return ChangedTickets([ChangedTicket(t.id, t.updated_at) for t in window], page * limit >= len(marked), _now())


class CountingTransport(httpx.AsyncBaseTransport):
    """The notifier over ASGI, remembering every request the bridge made to it."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.requests: list[httpx.Request] = []
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("the notifier is down (test)", request=request)
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    def decisions(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "POST" and r.url.path.endswith("/decision")]


@dataclass
class FeedbackDesk:
    notifier: Notifier
    bridge_runtime: ServiceRuntime
    rt: FeedbackRT
    calls: CountingTransport

    @property
    def bridge(self) -> Bridge:
        bridge: Bridge = self.bridge_runtime.extensions["bridge"]
        return bridge

    async def settle(self) -> None:
        """Events delivered both ways, then the bridge's writes to RT carried out until none is due."""
        for _ in range(20):
            await drain(self.notifier.bus, [self.notifier.runtime, self.bridge_runtime], timeout=30)
            if not await self.bridge.worker.run_once():
                return
        raise AssertionError("the bridge still had writes due")

    async def watch(self) -> None:
        """The bridge looks at the notifier's open feedback, and RT gets what it staged."""
        assert self.bridge.feedback is not None
        await self.bridge.feedback.watch_once()
        await self.settle()

    async def read_rt(self) -> int:
        assert self.bridge.feedback is not None
        sent = await self.bridge.feedback.reader.read_once()
        await self.settle()
        return sent

    async def link(self) -> FeedbackLink:
        async with self.bridge_runtime.database.session() as session:
            [link] = (await session.scalars(select(FeedbackLink))).all()
            return link

    async def rt_ticket(self) -> int:
        link = await self.link()
        assert link.rt_ticket_id is not None, "the cluster is not in RT yet"
        return link.rt_ticket_id

    async def cluster(self) -> dict[str, Any]:
        [item] = (await self.notifier.client.get("/v1/feedback")).json()["items"]
        return dict(item)

    async def outcome_messages(self) -> list[Delivery]:
        async with self.notifier.runtime.database.session() as session:
            rows = await session.scalars(select(Delivery).where(Delivery.notification_kind == "feedback_outcome"))
            return list(rows)


@pytest.fixture
async def feedback_desk(tmp_path: Path) -> AsyncIterator[FeedbackDesk]:
    settings = fast_settings(tmp_path, feedback_owners=OWNERS)
    bus = InMemoryBus(physical_topics(settings))
    notifier_runtime = build_notifier(settings, bus=bus)
    await notifier_runtime.start()
    notifier_app = create_notifier_app(notifier_runtime, manage_runtime=False)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=notifier_app), base_url="http://notifier", headers=ADMIN
    )
    calls = CountingTransport(notifier_app)
    rt = FeedbackRT(users=[OWNER], queues=("firstcall", QUEUE))
    runtime = build_runtime(
        helpdesk_settings(tmp_path, feedback_queue=QUEUE),
        bus=bus,
        helpdesk=rt,
        router=RouterClient(base_url="http://router.invalid", api_key="unused", timeout=1),
        notifier=NotifierClient(base_url="http://notifier", api_key=DEVELOPMENT_ADMIN_KEY, timeout=30, transport=calls),
        run_bridge=False,
    )
    await runtime.start()
    yield FeedbackDesk(Notifier(notifier_runtime, bus, client, settings), runtime, rt, calls)
    await runtime.stop()
    await client.aclose()
    await notifier_runtime.stop()
    await bus.stop()


def _now() -> datetime:
    return datetime.now(UTC)


async def five_voices(desk: FeedbackDesk) -> Sequence[dict[str, Any]]:
    """Five customers say, in five ways, that the email gives wrong instructions; the bridge sees it."""
    listed = await heard(desk.notifier, [voice(subject, text) for subject, text in WRONG_EMAIL])
    await desk.watch()
    return listed


async def test_a_feedback_cluster_becomes_one_rt_ticket_in_the_feedback_queue_with_every_voice(
    feedback_desk: FeedbackDesk,
) -> None:
    [cluster] = await five_voices(feedback_desk)
    ticket = feedback_desk.rt.tickets[await feedback_desk.rt_ticket()]

    assert len(feedback_desk.rt.tickets) == 1
    assert (ticket.queue, ticket.requestor, ticket.status) == (QUEUE, "", "new")
    assert ticket.fields["feedback"] == cluster["id"]
    assert (ticket.fields["feedback owner"], ticket.fields["customers"]) == ("billing-communications", "5")
    assert ticket.subject.startswith("Feedback: ")
    assert "5 customers gave this feedback. Owner: billing-communications." in ticket.text
    for subject, words in WRONG_EMAIL:
        assert f"{subject}\n{words}"[:200] in ticket.text
    assert "firstcall decision (accepted, already_done or declined)" in ticket.text

    await feedback_desk.watch()  # nothing new in the notifier: nothing new in RT
    assert [op for op, _ in feedback_desk.rt.writes].count("create_ticket") == 1


async def test_a_new_voice_is_added_to_the_rt_ticket_in_the_customers_words(feedback_desk: FeedbackDesk) -> None:
    await five_voices(feedback_desk)
    rt_id = await feedback_desk.rt_ticket()
    late = ("The email is wrong about calling", "The email says call us, calling can't fix it, only the website.")
    await heard(feedback_desk.notifier, [voice(*late, customer_name="Grace")])
    await feedback_desk.watch()

    [comment] = feedback_desk.rt.comments(rt_id)
    assert "Now 6 customers gave this feedback." in comment
    assert "6. Grace (email, suggestion" in comment
    assert late[1] in comment
    assert feedback_desk.rt.tickets[rt_id].fields["customers"] == "6"


async def test_a_decision_in_rt_is_one_decision_call_and_every_customer_is_told_once(
    feedback_desk: FeedbackDesk,
) -> None:
    await five_voices(feedback_desk)
    rt_id, rt = await feedback_desk.rt_ticket(), feedback_desk.rt
    before = await feedback_desk.link()
    rt.set_fields(
        rt_id,
        OWNER,
        decision="accepted",
        change="The email now says to use the website, with the link",
        change_due="from the next mailing",
        reason="calling cannot change this setting; the email was wrong",
    )
    rt.set_status(rt_id, OWNER, "resolved")

    assert await feedback_desk.read_rt() == 1
    [call] = feedback_desk.calls.decisions()
    key = call.headers["Idempotency-Key"]
    assert key.startswith("rt-txn-")
    cluster = await feedback_desk.cluster()
    assert (cluster["status"], cluster["decision"], cluster["decided_by"]) == ("decided", "accepted", OWNER)
    assert cluster["change_due"] == "from the next mailing"

    # The bridge dies before its read mark is committed: the same action is read and sent again.
    async with feedback_desk.bridge_runtime.database.session() as session:
        link = await session.get(FeedbackLink, before.cluster_id)
        assert link is not None
        link.rt_last_change_id, link.rt_last_updated = before.rt_last_change_id, None
        await session.commit()
    await feedback_desk.read_rt()

    assert [c.headers["Idempotency-Key"] for c in feedback_desk.calls.decisions()] == [key, key]
    assert len(await staged_events(feedback_desk.notifier, "feedback.decided")) == 1
    assert len({m.customer_id for m in await feedback_desk.outcome_messages()}) == 5
    assert len(await feedback_desk.outcome_messages()) == 5
    decided = [c for c in rt.comments(rt_id) if c.startswith("Decided in firstcall by marta: accepted.")]
    assert len(decided) == 1
    assert not any("decided already" in c for c in rt.comments(rt_id))
    assert rt.tickets[rt_id].status == "resolved"

    assert await feedback_desk.read_rt() == 0  # read again without a crash: nothing is sent
    assert len(feedback_desk.calls.decisions()) == 2


async def test_declined_without_a_reason_is_refused_in_rt_and_nobody_is_told(feedback_desk: FeedbackDesk) -> None:
    await five_voices(feedback_desk)
    rt_id, rt = await feedback_desk.rt_ticket(), feedback_desk.rt
    rt.set_fields(rt_id, OWNER, decision="declined")
    rt.set_status(rt_id, OWNER, "resolved")

    assert await feedback_desk.read_rt() == 0
    assert feedback_desk.calls.decisions() == []
    [refusal] = rt.comments(rt_id)
    assert "The decision was not sent to firstcall; nobody was told." in refusal
    assert "firstcall reason is empty: say why it is declined; every customer who gave this feedback reads it" in (
        refusal
    )
    assert rt.tickets[rt_id].status == "open"
    assert (await feedback_desk.cluster())["status"] == "open"
    assert await feedback_desk.outcome_messages() == []

    rt.set_fields(rt_id, OWNER, reason="the form needs a signature we can only take in the branch")
    assert await feedback_desk.read_rt() == 1
    assert (await feedback_desk.cluster())["decision"] == "declined"
    assert rt.tickets[rt_id].status == "resolved"


async def test_resolving_without_a_decision_reopens_the_ticket_with_how_to_decide(feedback_desk: FeedbackDesk) -> None:
    await five_voices(feedback_desk)
    rt_id, rt = await feedback_desk.rt_ticket(), feedback_desk.rt
    rt.set_status(rt_id, OWNER, "resolved")

    assert await feedback_desk.read_rt() == 0
    [comment] = rt.comments(rt_id)
    assert "resolved without a firstcall decision, so nobody would be told: it is open again" in comment
    assert rt.tickets[rt_id].status == "open"
    assert feedback_desk.calls.decisions() == []


async def test_a_decision_taken_through_the_api_is_shown_in_rt_and_a_later_one_in_rt_is_refused(
    feedback_desk: FeedbackDesk,
) -> None:
    await five_voices(feedback_desk)
    rt_id, rt = await feedback_desk.rt_ticket(), feedback_desk.rt
    cluster = await feedback_desk.cluster()
    body = {"decision": "already_done", "reason": "the email was corrected on Monday", "decided_by": "Billing comms"}
    response = await feedback_desk.notifier.client.post(f"/v1/feedback/{cluster['id']}/decision", json=body)
    assert response.status_code == 200, response.text
    await feedback_desk.settle()

    ticket = rt.tickets[rt_id]
    assert ticket.status == "resolved"
    assert (ticket.fields["decision"], ticket.fields["reason"]) == ("already_done", "the email was corrected on Monday")
    [shown] = rt.comments(rt_id)
    assert shown.startswith("Decided in firstcall by Billing comms: already done.")
    assert "Each of the 5 customers who gave this feedback is told once" in shown

    rt.set_fields(rt_id, OWNER, decision="declined", reason="we prefer phone calls")
    assert await feedback_desk.read_rt() == 0
    assert len(feedback_desk.calls.decisions()) == 1
    assert any("decided in firstcall already" in c for c in rt.comments(rt_id))
    assert (rt.tickets[rt_id].fields["decision"], (await feedback_desk.cluster())["decision"]) == (
        "already_done",
        "already_done",
    )
    assert len(await staged_events(feedback_desk.notifier, "feedback.decided")) == 1
    assert uuid.UUID(cluster["id"]) == (await feedback_desk.link()).cluster_id


async def test_a_decision_made_while_the_notifier_is_down_is_sent_once_when_it_is_back(
    feedback_desk: FeedbackDesk,
) -> None:
    await five_voices(feedback_desk)
    rt_id, rt = await feedback_desk.rt_ticket(), feedback_desk.rt
    rt.set_fields(rt_id, OWNER, decision="declined", reason="the form needs a signature we can only take in the branch")
    feedback_desk.calls.down = True
    assert feedback_desk.bridge.feedback is not None
    assert await feedback_desk.bridge.feedback.run_once() == 0  # neither the look nor the decision gets through
    assert (await feedback_desk.cluster())["status"] == "open"
    assert rt.comments(rt_id) == []

    feedback_desk.calls.down = False
    assert await feedback_desk.read_rt() == 1
    assert len(feedback_desk.calls.decisions()) == 1
    assert (await feedback_desk.cluster())["decision"] == "declined"
    assert rt.tickets[rt_id].status == "resolved"


def test_feedback_stays_out_of_rt_until_a_feedback_queue_is_set(tmp_path: Path) -> None:
    assert not helpdesk_settings(tmp_path).feedback_enabled
    settings = helpdesk_settings(tmp_path, feedback_queue=QUEUE, feedback_queues={"billing-communications": "fb-b"})
    assert (settings.feedback_queue_of("billing-communications"), settings.feedback_queue_of("cx")) == ("fb-b", QUEUE)


def test_production_with_a_feedback_queue_needs_a_notifier_key_of_its_own(tmp_path: Path) -> None:
    values: dict[str, Any] = {
        "environment": "production",
        "secret_key": "s" * 40,
        "admin_api_key": "a" * 40,
        "rt_url": "http://rt.example.com/",
        "rt_token": "1-14-6ad884f46ceb061232c60e7a35c679ce",
        "router_api_key": "r" * 40,
        "feedback_queue": QUEUE,
        "data_dir": tmp_path,
    }
    with pytest.raises(ValidationError, match="FIRSTCALL_HELPDESK_NOTIFIER_API_KEY is required in production"):
        HelpdeskSettings(**values)
    with pytest.raises(ValidationError, match="FIRSTCALL_HELPDESK_NOTIFIER_API_KEY must be a key issued"):
        HelpdeskSettings(**values, notifier_api_key=DEVELOPMENT_ADMIN_KEY)
    assert HelpdeskSettings(**values, notifier_api_key="n" * 40).notifier_key() == "n" * 40
