"""A day of an agent's work through a client generated from the router's published OpenAPI document, and the
agent's push stream only: no hand-written request, no Kafka, no polling of lists.

The client is generated at test time (openapi-python-client) from `GET /openapi.json` of the running router,
so the document is proven usable as published: every call below goes through a generated method named
after its operationId, and every answer is parsed into the generated models (an answer the document does
not describe fails the test). Beside it the agent's desktop follows `GET /v1/agents/{id}/events`, drops the
connection in the middle of the day and resumes with `Last-Event-ID`, missing nothing and getting nothing
twice.
"""

from __future__ import annotations

import asyncio
import importlib
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from shared.settings import DEVELOPMENT_ADMIN_KEY
from tests.e2e.conftest import ServiceProcesses
from tests.factories import agent_request, order_request, ticket_request
from tests.unit.router.test_desktop_push import EventStream, Message, stream

pytestmark = pytest.mark.e2e
PACKAGE = "firstcall_router_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
WAIT = 60.0  # for a message that must come: generous for a loaded two-core machine, never a measure


class Generated:
    """The generated package: its operations by tag and operationId, its models by name."""

    def __init__(self, package: ModuleType) -> None:
        self.package = package

    def call(self, tag: str, operation: str) -> Callable[..., Any]:
        module = importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")
        detailed: Callable[..., Any] = module.asyncio_detailed
        return detailed

    def model(self, name: str) -> Any:
        return getattr(importlib.import_module(f"{PACKAGE}.models"), name)

    def client(self, base_url: str, key: str) -> Any:
        return self.package.AuthenticatedClient(
            base_url=base_url, token=key, timeout=httpx.Timeout(30.0), raise_on_unexpected_status=True
        )


@pytest.fixture(scope="module")
def generated(services: ServiceProcesses, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """A Python client generated from the router's document as it serves it."""
    where = tmp_path_factory.mktemp("client")
    document = httpx.get(f"{services.url('router')}/openapi.json", timeout=30)
    assert document.status_code == 200
    (where / "router.json").write_bytes(document.content)
    # No post hooks: the generator would run ruff from PATH on code nobody reads.
    (where / "config.yaml").write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    run = subprocess.run(
        [
            *(str(GENERATOR), "generate", "--path", str(where / "router.json"), "--meta", "none"),
            *("--output-path", str(where / PACKAGE), "--config", str(where / "config.yaml")),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout + run.stderr, "the generator could not read all of the document"
    sys.path.insert(0, str(where))
    try:
        yield Generated(importlib.import_module(PACKAGE))
    finally:
        sys.path.remove(str(where))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


class Desktop:
    """The agent's desktop: it follows the stream in the background and keeps every event it received."""

    def __init__(self, events: EventStream) -> None:
        self.received: list[Message] = []
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read(events))

    async def _read(self, events: EventStream) -> None:
        while True:
            message = await events.event(timeout=3600)  # heartbeats come every 15 s; the test bounds its waits
            async with self._arrived:
                self.received.append(message)
                self._arrived.notify_all()

    async def seen(self, event: str, **fields: str) -> Message:
        """The first received `event` whose data (the catalogue event) has these fields, once it has come."""

        def found() -> Message | None:
            return next(
                (
                    m
                    for m in self.received
                    if m.event == event and all(m.json["data"].get(k) == v for k, v in fields.items())
                ),
                None,
            )

        async with asyncio.timeout(WAIT), self._arrived:
            await self._arrived.wait_for(lambda: found() is not None)
        message = found()
        assert message is not None
        return message

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


async def follow(exits: AsyncExitStack, url: str, agent_id: str, key: str, last_id: str | None = None) -> Desktop:
    events = await exits.enter_async_context(
        stream(url, f"/v1/agents/{agent_id}/events", {"Authorization": f"Bearer {key}"}, last_id)
    )
    desktop = Desktop(events)
    exits.push_async_callback(desktop.close)
    await desktop.seen("ready")
    return desktop


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.content.decode()[:2000]}"
    return response.parsed


async def queue_of(generated: Generated, desk: Any) -> tuple[list[str], list[str | None]]:
    """Every open ticket in the agent's queue (`agent=me`), a page at a time by the generated client's cursor."""
    listing = generated.call("tickets", "list_tickets")
    open_ = generated.model("ListTicketsStatusType0Item")("open")
    ids: list[str] = []
    links: list[str | None] = []
    by_priority = generated.model("ListTicketsSort")("priority")
    cursor = importlib.import_module(f"{PACKAGE}.types").UNSET
    while True:
        response = await listing(client=desk, agent="me", status=[open_], sort=by_priority, limit=1, cursor=cursor)
        page = ok(response)
        ids += [str(ticket.id) for ticket in page.items]
        links.append(response.headers.get("link"))
        if not isinstance(page.next_cursor, str):
            return ids, links
        cursor = page.next_cursor


@pytest.fixture
async def exits() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as stack:
        yield stack


@dataclass
class Day:
    """Grace's working day: the people around her call the generated client, her desktop follows her stream."""

    generated: Generated
    url: str
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    email: str = ""
    agent_id: str = ""
    key: str = ""

    def __post_init__(self) -> None:
        self.email = f"ada-{self.run}@example.com"
        self.admin = self.generated.client(self.url, DEVELOPMENT_ADMIN_KEY)

    async def call(self, tag: str, operation: str, *path: str, status: int = 200, **arguments: Any) -> Any:
        """Call a generated operation (path ids as UUIDs, a dict body as its generated model); its parsed answer."""
        client = arguments.pop("client", self.admin)
        body, model = arguments.pop("body", None), arguments.pop("model", None)
        if body is not None:
            arguments["body"] = self.generated.model(model).from_dict(body)
        response = await self.generated.call(tag, operation)(*map(uuid.UUID, path), client=client, **arguments)
        return ok(response, status)

    @property
    def desk(self) -> Any:
        return self.generated.client(self.url, self.key)

    async def morning(self) -> None:
        """The supervisor registers Grace and issues her desktop's key."""
        body = agent_request(
            display_name=f"Grace {self.run}",
            email=f"grace-{self.run}@contact.example",
            skills={"cards": 5, "orders": 5, "refunds": 5},
            capacity={"chat": 3, "phone": 0, "email": 0},
        )
        grace = await self.call("agents", "register_agent", status=201, body=body, model="AgentCreate")
        self.agent_id = str(grace.id)
        key = {"name": f"Grace's desktop {self.run}", "scopes": ["agent"], "agent_id": self.agent_id}
        self.key = (await self.call("api_keys", "issue_api_key", status=201, body=key, model="KeyCreate")).key

    async def chat(self, subject: str) -> str:
        """The contact center opens one of Ada's chats; its id."""
        request = ticket_request(channel="chat", subject=subject, customer={"email": self.email, "name": "Ada"})
        opened = await self.call(
            "tickets",
            "open_ticket",
            status=201,
            body=request,
            model="TicketCreate",
            idempotency_key=f"chat-{uuid.uuid4()}",
        )
        return str(opened.id)


async def test_a_day_of_an_agent_through_the_generated_client_and_the_push_stream(
    services: ServiceProcesses, generated: Generated, exits: AsyncExitStack
) -> None:
    day = Day(generated, services.url("router"))
    await day.morning()
    desktop = await follow(exits, day.url, day.agent_id, day.key)

    # Her account: a customer with an order, handed to her with a briefing on her desktop.
    order_body = order_request(customer={"email": day.email})
    order = await day.call("orders", "record_order", status=201, body=order_body, model="OrderCreate")
    customer_id = str(order.customer_id)
    owner = {"agent_id": day.agent_id}
    await day.call("customers", "change_owner", customer_id, body=owner, model="OwnerChange")
    briefing = await desktop.seen("customer.owner_changed", customer_id=customer_id, owner_id=day.agent_id)
    assert briefing.json["concern"] == "new_owner"

    # Two of her chats reach her, and her desktop says so.
    first, second = [await day.chat(s) for s in ("Refund for the late keyboard", "Where is my mouse?")]
    for ticket_id in (first, second):
        assert (await desktop.seen("ticket.assigned", ticket_id=ticket_id)).json["data"]["agent_id"] == day.agent_id

    # Her queue in one call, paged by cursor; each page names the next in Link as well.
    queue, links = await queue_of(generated, day.desk)
    assert {first, second} <= set(queue)
    assert all(link is not None and 'rel="next"' in link for link in links[:-1])
    assert links[-1] is None

    # The first: context, a note, a credit within her authority; resolved at first contact.
    context = await day.call("tickets", "get_context", first, client=day.desk)
    assert str(context.customer.profile.id) == customer_id
    assert str(context.customer.owner.agent_id) == day.agent_id
    assert "credit" in {action.type_ for action in context.allowed_actions}
    note = {"body": "Apologised for the delay; crediting the delivery.", "public": True}
    await day.call("tickets", "add_note", first, client=day.desk, status=201, body=note, model="NoteCreate")
    credit = {"type": "credit", "order_id": str(order.id), "amount": "20.00", "currency": "EUR", "reason": "late"}
    outcome = await day.call(
        "resolutions", "resolve", first, client=day.desk, status=201, body=credit, model="ResolutionCreate"
    )
    assert (outcome.outcome, outcome.ticket_status) == ("executed", "resolved")

    # The second: waiting on the customer, open again, answered; each move conditional on what she read.
    for status in ("pending_customer", "open"):
        read = await generated.call("tickets", "get_ticket")(uuid.UUID(second), client=day.desk)
        tag = read.headers["etag"]
        assert await day.call("tickets", "get_ticket", second, client=day.desk, status=304, if_none_match=tag) is None
        move = {"status": status, "reason": f"{status} in the e2e day"}
        moved = await day.call(
            "tickets", "change_status", second, client=day.desk, body=move, model="StatusChange", if_match=tag
        )
        assert moved.status == status
    answer = {"type": "answer", "reason": "the parcel is with the courier; tracking sent"}
    answered = await day.call(
        "resolutions", "resolve", second, client=day.desk, status=201, body=answer, model="ResolutionCreate"
    )
    assert answered.ticket_status == "resolved"

    # Lunch: the desktop goes away; a third chat reaches her meanwhile. Back, it resumes where it was.
    await exits.aclose()
    last_id = max(int(m.id) for m in desktop.received if m.id is not None)
    third = await day.chat("Keyboard keys stick")
    async with AsyncExitStack() as later:
        resumed = await follow(later, day.url, day.agent_id, day.key, last_id=str(last_id))
        assigned = await resumed.seen("ticket.assigned", ticket_id=third)
        ids = [int(m.id) for m in resumed.received if m.id is not None]
        assert ids == sorted(set(ids)), "in order, each once"
        assert min(ids) > last_id, "nothing from before the break again"
        assert assigned.json["data"]["agent_id"] == day.agent_id
        assert resumed.received[0].json["resumed_after"] == last_id
    assert third in (await queue_of(generated, day.desk))[0]
