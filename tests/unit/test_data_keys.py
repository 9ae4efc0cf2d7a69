"""Consumers open the router's sealed fields before validation, with the customer's key from the router:
the router down makes the event wait, an erased customer's event is skipped (decision 0031)."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.port import HandlerUnavailable, PoisonEvent
from shared.data_keys import CustomerKeys, SealedFieldOpener
from shared.db import Database
from shared.events.catalogue import CustomerErased, Event, TicketOpened
from shared.events.envelope import CloudEvent
from shared.messaging.inbox import EventDispatcher, EventHandler
from shared.metrics import ServiceMetrics
from shared.sealing import new_data_key, seal_data
from tests.factories import ticket_opened


class FakeRouter:
    """The router's key endpoint: a key per customer, 410 for the erased, or down altogether."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}
        self.erased: set[str] = set()
        self.down = False
        self.asked = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.asked += 1
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        customer_id = request.url.path.split("/")[3]
        if customer_id in self.erased:
            return httpx.Response(410, json={"type": "customer-erased"})
        if customer_id not in self.keys:
            return httpx.Response(404, json={"type": "not-found"})
        key = base64.b64encode(self.keys[customer_id]).decode()
        return httpx.Response(200, json={"customer_id": customer_id, "key": key})


class Recorder:
    def __init__(self) -> None:
        self.seen: list[TicketOpened] = []

    async def __call__(self, event: TicketOpened, session: AsyncSession) -> None:
        self.seen.append(event)


def consumer(database: Database, router: FakeRouter) -> tuple[EventDispatcher, Recorder]:
    recorder = Recorder()
    handlers: dict[type[Event], EventHandler] = {TicketOpened: recorder, CustomerErased: Recorder()}
    dispatcher = EventDispatcher(group="g", database=database, handlers=handlers, metrics=ServiceMetrics("test"))
    keys = CustomerKeys(
        router_url="http://router", api_key="k", timeout=1, transport=httpx.MockTransport(router.handle)
    )
    dispatcher.opener = SealedFieldOpener(keys)
    return dispatcher, recorder


def sealed_ticket(router: FakeRouter) -> tuple[TicketOpened, CloudEvent]:
    event = ticket_opened(customer_name="Ada Lovelace")
    key = router.keys.setdefault(str(event.customer_id), new_data_key())
    envelope = event.to_cloudevent()
    return event, envelope.model_copy(update={"data": seal_data(envelope.type, envelope.data, key)})


async def test_a_consumer_opens_a_sealed_ticket_opened(messaging_db: Database) -> None:
    router = FakeRouter()
    handle, recorder = consumer(messaging_db, router)
    event, envelope = sealed_ticket(router)
    assert "Ada Lovelace" not in str(envelope.data)
    await handle(envelope)
    assert recorder.seen == [event]


async def test_the_key_is_asked_once_per_customer(messaging_db: Database) -> None:
    router = FakeRouter()
    handle, recorder = consumer(messaging_db, router)
    event, first = sealed_ticket(router)
    second = seal_data(
        first.type,
        ticket_opened(customer_id=event.customer_id).to_cloudevent().data,
        router.keys[str(event.customer_id)],
    )
    await handle(first)
    await handle(first.model_copy(update={"id": str(uuid.uuid4()), "data": second}))
    assert len(recorder.seen) == 2
    assert router.asked == 1


async def test_an_event_waits_while_the_router_is_down(messaging_db: Database) -> None:
    router = FakeRouter()
    router.down = True
    handle, recorder = consumer(messaging_db, router)
    _, envelope = sealed_ticket(router)
    with pytest.raises(HandlerUnavailable):
        await handle(envelope)
    router.down = False
    await handle(envelope)
    assert len(recorder.seen) == 1


async def test_an_erased_customers_event_is_skipped_not_dead_lettered(messaging_db: Database) -> None:
    router = FakeRouter()
    handle, recorder = consumer(messaging_db, router)
    event, envelope = sealed_ticket(router)
    router.erased.add(str(event.customer_id))
    await handle(envelope)
    assert recorder.seen == []


async def test_customer_erased_drops_the_key_kept_in_memory(messaging_db: Database) -> None:
    router = FakeRouter()
    handle, recorder = consumer(messaging_db, router)
    event, envelope = sealed_ticket(router)
    await handle(envelope)
    router.erased.add(str(event.customer_id))
    erased = CustomerErased(
        customer_id=event.customer_id, erasure_id=uuid.uuid4(), merged_customer_ids=[], requested_at=event.opened_at
    )
    await handle(erased.to_cloudevent())
    await handle(envelope.model_copy(update={"id": str(uuid.uuid4())}))
    assert len(recorder.seen) == 1
    assert router.asked == 2


async def test_a_value_that_does_not_open_is_poison(messaging_db: Database) -> None:
    router = FakeRouter()
    handle, _ = consumer(messaging_db, router)
    event, envelope = sealed_ticket(router)
    router.keys[str(event.customer_id)] = new_data_key()
    with pytest.raises(PoisonEvent):
        await handle(envelope)


async def test_unsealed_events_need_no_key(messaging_db: Database) -> None:
    router = FakeRouter()
    handle, recorder = consumer(messaging_db, router)
    event = ticket_opened()
    await handle(event.to_cloudevent())
    assert recorder.seen == [event]
    assert router.asked == 0
