"""The faults, each a coroutine that strikes while the phase's work is in flight and brings back what it killed.

Each returns what it hit, in words, for the table. Kills are SIGKILL: the process gets no chance to leave
its consumer group, finish a transaction, flush its outbox relay or record a send.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.notifier.detection.index import DETECTION_LOCK_KEY
from tests.faults.campaign import OUTAGE_CUSTOMERS, READY_TIMEOUT, Phase, Stack, until
from tests.faults.proxy import answer_holding_proxy
from tests.faults.receiver import CenterWebhook
from tests.faults.traffic import STEADY_TEXTS, Accepted, Writer

BURST = 16
KAFKA_DOWN_SECONDS = 3.0
POSTGRES_DOWN_SECONDS = 5.0
CATCH_ATTEMPTS = 3
CATCH_SECONDS = 30.0
# pg_locks shows a 64-bit advisory key as its high and low halves.
DETECTION_LOCK_HOLDER = f"""
SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted
   AND l.classid = {DETECTION_LOCK_KEY >> 32} AND l.objid = {DETECTION_LOCK_KEY & 0xFFFFFFFF}
"""


async def kafka_killed(stack: Stack, phase: Phase) -> str:
    """The broker's JVM SIGKILLed, then started again on its data (a broker crash and its recovery)."""
    struck = time.monotonic()
    await asyncio.to_thread(stack.kafka.kill)
    await asyncio.sleep(KAFKA_DOWN_SECONDS)
    await asyncio.to_thread(stack.kafka.start)
    return f"broker SIGKILLed; answering again {time.monotonic() - struck:.1f} s later"


async def postgres_restarted(stack: Stack, phase: Phase) -> str:
    """PostgreSQL stopped in immediate mode while the notifier is in a batch, and started again.

    Immediate mode cuts every session without a goodbye and recovers from the WAL at the next start, as after
    a crash of the server; it stays down for a few seconds, as a restart with a checkpoint or an upgrade does.
    """
    # Struck once the burst is all on Kafka: then the notifier has records in hand, not the router's outbox.
    replica, handled, burst = await _mid_batch(stack, phase, "notifier", "firstcall.ticket.opened", published=True)
    struck = time.monotonic()
    await asyncio.to_thread(stack.postgres.crash)
    await asyncio.sleep(POSTGRES_DOWN_SECONDS)
    await asyncio.to_thread(stack.postgres.start)
    down = time.monotonic() - struck
    await burst
    return f"immediate shutdown while {replica} had handled {handled} of a burst of {BURST}; down {down:.1f} s"


async def consumer_killed_mid_batch(stack: Stack, phase: Phase, service: str, event_type: str) -> str:
    """A burst lands on the service's consumer at once; a replica is SIGKILLed once it handled part of it."""
    replica, handled, burst = await _mid_batch(stack, phase, service, event_type)
    stack.fleet.kill(replica)
    # The router is the burst's way in: its retries wait for the restart.
    await asyncio.gather(asyncio.to_thread(stack.fleet.start, replica), burst)
    return f"{replica} SIGKILLed after handling {handled} of a burst of {BURST} {event_type}"


async def _mid_batch(
    stack: Stack, phase: Phase, service: str, event_type: str, *, published: bool = False
) -> tuple[str, int, asyncio.Task[None]]:
    """Send a burst and return once a replica of `service` has handled part of it (and the burst, in flight);
    `published`: and the router's outbox has nothing left to publish."""
    replicas = stack.fleet.of(service)
    async with httpx.AsyncClient(timeout=5) as client:
        for _ in range(CATCH_ATTEMPTS):
            before = {name: await _handled(client, stack, name, event_type) for name in replicas}
            burst = asyncio.create_task(phase.tickets.burst(BURST))
            deadline = time.monotonic() + CATCH_SECONDS
            while time.monotonic() < deadline:
                moved = {name: await _handled(client, stack, name, event_type) - before[name] for name in replicas}
                busy = [name for name, count in moved.items() if count > 0]
                if busy and sum(moved.values()) < BURST - 1 and (not published or await _outbox_empty(stack)):
                    return busy[0], moved[busy[0]], burst
                if sum(moved.values()) >= BURST:
                    break  # the whole burst went through between two looks: try again
                await asyncio.sleep(0.005)
            await burst
    raise AssertionError(f"never caught {service} in the middle of a batch" + stack.fleet.trouble())


async def notifier_killed_during_detection(stack: Stack, phase: Phase) -> str:
    """A notifier replica SIGKILLed while it holds the detection lock: in the middle of placing a report."""
    connection = await asyncpg.connect(stack.postgres.dsn("notifier"), timeout=5)
    try:
        for _ in range(CATCH_ATTEMPTS):
            burst = asyncio.create_task(phase.tickets.burst(BURST))
            deadline = time.monotonic() + CATCH_SECONDS
            while time.monotonic() < deadline:
                port = await connection.fetchval(DETECTION_LOCK_HOLDER)
                holder = stack.fleet.owner_of_connection(port, stack.postgres.port) if port else None
                if holder in stack.fleet.of("notifier"):
                    stack.fleet.kill(holder)
                    await asyncio.gather(asyncio.to_thread(stack.fleet.start, holder), burst)
                    return f"{holder} SIGKILLed holding the detection lock (a report half placed)"
                await asyncio.sleep(0.002)
            await burst
    finally:
        await connection.close()
    raise AssertionError("never caught a notifier replica holding the detection lock")


async def delivery_worker_killed_mid_send(stack: Stack, phase: Phase) -> str:
    """The contact center holds the phase's first customer message open; the sending replica is SIGKILLed."""
    center = stack.center
    # Armed as soon as the outage's customers are known: their messages wait for the problem's detection.
    await until(lambda: _reported(phase), READY_TIMEOUT)
    center.hold_one(frozenset(accepted.body["customer_id"] for accepted in phase.outage))
    await asyncio.wait_for(center.held.wait(), timeout=READY_TIMEOUT)
    message = center.held_message
    assert message is not None
    sender = stack.fleet.owner_of_connection(message.source_port, center.port)
    assert sender in stack.fleet.of("notifier"), f"no notifier replica sent from port {message.source_port}"
    stack.fleet.kill(sender)
    center.release()
    await asyncio.to_thread(stack.fleet.start, sender)
    # The send was cut short before its outcome was recorded: once its lease runs out it goes again, with the
    # same delivery id (the receiver's way to tell a copy).
    await until(lambda: _copies(center, message.delivery_id), READY_TIMEOUT)
    return (
        f"{sender} SIGKILLed while its delivery worker sent an {message.kind} (receiver holding the request); "
        "sent again after its lease, same delivery id"
    )


async def _reported(phase: Phase) -> bool:
    return len(phase.outage) == OUTAGE_CUSTOMERS


async def _copies(center: CenterWebhook, delivery_id: str) -> bool:
    return sum(m.delivery_id == delivery_id for m in center.messages) > 1


async def router_killed_between_commit_and_answer(stack: Stack, phase: Phase) -> str:
    """Twice: a ticket, then a credit, each committed by the router, which dies before its answer is heard.

    The client's connection drops; it retries with the same Idempotency-Key once the router is back and must
    get the first answer replayed (one ticket, one ledger entry), while the events the dead process had not
    yet published leave from its outbox after the restart.
    """
    caller = f"{stack.run}-{phase.name}-caller"
    writer = Writer(keep_alive=False)
    try:
        ticket = await _answer_lost(
            stack, lambda url: phase.tickets.open(caller, STEADY_TEXTS[0], url=url, writer=writer)
        )
        [credit_ticket] = await phase.open_credit_tickets(1)
        credit = await _answer_lost(stack, lambda url: phase.credit(credit_ticket, router=url, writer=writer))
    finally:
        stack.writer.unanswered += writer.unanswered
        await writer.aclose()
    assert ticket.replayed, "the ticket's retry was answered from the committed write"
    assert credit.replayed, "the credit's retry was answered from the committed write"
    return (
        f"router SIGKILLed after committing a ticket ({ticket.tries} tries) and a credit ({credit.tries} tries); "
        "both retries replayed"
    )


async def _answer_lost(stack: Stack, write: Callable[[str], Coroutine[Any, Any, Accepted]]) -> Accepted:
    async with answer_holding_proxy(stack.fleet.ports["router"]) as proxy:
        attempt = asyncio.create_task(write(proxy.url))
        await asyncio.wait_for(proxy.answered.wait(), timeout=60)
        stack.fleet.kill("router")
        proxy.cut()
        await asyncio.to_thread(stack.fleet.start, "router")
        return await attempt


async def _outbox_empty(stack: Stack) -> bool:
    connection = await asyncpg.connect(stack.postgres.dsn("router"), timeout=5)
    try:
        pending: int = await connection.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    finally:
        await connection.close()
    return pending == 0


async def _handled(client: httpx.AsyncClient, stack: Stack, replica: str, event_type: str) -> int:
    """How many events of a type this replica's consumer has handled since it started (its /metrics)."""
    text = (await client.get(f"{stack.fleet.url(replica)}/metrics")).text
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            if family.name == "firstcall_events_handled"
            for sample in family.samples
            if sample.labels.get("type") == event_type and sample.labels.get("outcome") == "handled"
        )
    )
