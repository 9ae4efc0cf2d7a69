"""The transactional outbox: events are rows written in the same transaction as the change they describe.

Nothing is published before commit. The relay reads unpublished rows in order, publishes them and marks
them; if the bus is down they wait (and /readyz says so); if the process dies between publish and mark,
they are published again and consumers' inboxes drop the copy. With several replicas on PostgreSQL, a
transaction-scoped advisory lock lets one relay at a time publish, which keeps each aggregate in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby

from sqlalchemy import BigInteger, Boolean, ColumnElement, Row, Select, delete, event, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningUpdate

from shared import tracing
from shared.bus.port import BusUnavailable, MessageBus
from shared.db import Database, database_unreachable, one_of
from shared.events.catalogue import Event
from shared.events.envelope import CloudEvent, encode_structured
from shared.inserts import stage_rows
from shared.logs import current_service
from shared.messaging.tables import idempotency_keys, inbox, outbox
from shared.metrics import ServiceMetrics

log = logging.getLogger(__name__)
# Any constant works: each service has its own database, so the key only has to be unique within one.
RELAY_LOCK_KEY = 0x0F1257CA11
HOUSEKEEPING_EVERY = timedelta(minutes=10)
GAUGE_EVERY = timedelta(seconds=5)
INBOX_RETENTION = timedelta(days=21)  # longer than any topic's retention: a redelivery is always recognised
IDEMPOTENCY_RETENTION = timedelta(hours=24)
# Set on a session that staged events, so only commits that carry events wake the relay (not its own).
_STAGED_EVENTS = "firstcall.outbox.staged"
_SEALER = "firstcall.outbox.sealer"
# Seals customers' personal fields before the row is written (the router's: shared/sealing.py, decision 0031).
Sealer = Callable[[AsyncSession, list[CloudEvent]], Awaitable[list[CloudEvent]]]


def seal_staged_events(database: Database, sealer: Sealer) -> None:
    """Pass every event staged on this database's sessions through `sealer` (services without one: none)."""
    info = {**database.sessions.kw.get("info", {}), _SEALER: sealer}
    database.sessions.configure(info=info)


def sealer_of(session: AsyncSession) -> Sealer | None:
    """The sealer this session's events pass through (None: its service seals nothing)."""
    sealer: Sealer | None = session.info.get(_SEALER)
    return sealer


async def add_events(session: AsyncSession, *events: Event) -> list[CloudEvent]:
    """Stage events in the caller's transaction; they are written at its commit and published only then."""
    if retired := [type(event).__name__ for event in events if not event.published]:
        raise TypeError(f"{', '.join(retired)}: replaced by a later version, no longer published")
    # Each carries the trace context of its creation, when the service traces (shared/tracing.py).
    envelopes = tracing.stamp(current_service(), [(event.topic.name, event.to_cloudevent()) for event in events])
    if envelopes and (sealer := session.info.get(_SEALER)) is not None:
        envelopes = await sealer(session, envelopes)
    if envelopes:
        _ensure_rollback_hook(type(session.sync_session))
        now = datetime.now(UTC)
        # Written at commit with the transaction's other staged rows: one round trip, not one per call.
        stage_rows(
            session,
            (
                (
                    outbox,
                    {
                        "event_id": envelope.id,
                        "topic": event.topic.name,
                        "event_type": envelope.type,
                        "subject": envelope.subject,
                        "envelope": envelope.to_json(),
                        "created_at": now,
                        "attempts": 0,
                    },
                )
                for event, envelope in zip(events, envelopes, strict=True)
            ),
        )
        session.info[_STAGED_EVENTS] = True
    return envelopes


def forget_staged_events(session: Session) -> None:
    session.info.pop(_STAGED_EVENTS, None)


def _ensure_rollback_hook(session_class: type[Session]) -> None:
    """A transaction rolled back carries no events: its commit-to-be must not wake the relay later."""
    if session_class.__dict__.get("_firstcall_outbox_hooks"):
        return
    event.listen(session_class, "after_rollback", forget_staged_events)
    session_class._firstcall_outbox_hooks = True  # type: ignore[attr-defined]


class OutboxRelay:
    """Moves committed outbox rows onto the bus, woken by commits and by a poll for other replicas."""

    def __init__(
        self,
        *,
        database: Database,
        bus: MessageBus,
        metrics: ServiceMetrics,
        physical_topic: Callable[[str], str] = lambda name: name,
        batch_size: int = 200,
        poll_interval: float = 0.5,
        retention: timedelta = timedelta(hours=72),
        coalesce: float = 0.01,
        coalesce_max: float = 0.05,
    ) -> None:
        self.database, self.bus, self.metrics = database, bus, metrics
        self.physical_topic = physical_topic
        self.batch_size, self.poll_interval, self.retention = batch_size, poll_interval, retention
        self.coalesce, self.coalesce_max = coalesce, max(coalesce, coalesce_max)
        self._wake = asyncio.Event()
        self._commits = 0  # commits that staged events since the last cycle began
        # The loop and flush() may both publish; within one process they take turns (across processes the
        # PostgreSQL advisory lock does it), so no row is read twice while its first publish is in flight.
        self._turn = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._last_housekeeping = datetime.min.replace(tzinfo=UTC)
        self._last_gauge = datetime.min.replace(tzinfo=UTC)
        self._stopping = False
        self.bus_ok = True
        self.database_ok = True
        database.on_commit(self._on_commit)

    def _on_commit(self, session: Session) -> None:
        if session.info.pop(_STAGED_EVENTS, False):
            self._commits += 1
            self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, flush_timeout: float = 5.0) -> None:
        """Stop the loop at a safe point, then publish what is still pending for at most `flush_timeout`."""
        if self._task is not None:
            # Ask, don't cancel: a cycle cut off inside a database call can strand its connection.
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), flush_timeout)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        try:
            await self.flush(flush_timeout)
        except Exception as exc:
            # Shutting down with the bus or the database away: the rows stay and leave after restart.
            log.warning("outbox not flushed before stopping (%r); pending events leave after restart", exc)

    async def flush(self, timeout: float) -> None:
        """Publish until nothing is pending (raises TimeoutError if the bus will not take it in time)."""
        async with asyncio.timeout(timeout):
            while await self.pending() > 0:
                if await self.publish_batch() == 0:
                    await asyncio.sleep(0.1)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = self.poll_interval
        pause, gathered = self.coalesce, 0
        while not self._stopping:
            woken = False
            idle_from = loop.time()
            with contextlib.suppress(TimeoutError):
                woken = await asyncio.wait_for(self._wake.wait(), backoff)
            if woken and self.coalesce > 0 and not self._stopping:
                # A moment for the commits right behind this one: under load one cycle then carries many
                # transactions' events instead of one each (a cycle costs a locked transaction, about 1.5 ms
                # of CPU; each event in it about 0.03: decision 0046). The pause adapts: it doubles, up to
                # `coalesce_max`, while each cycle gathers more than one commit (commits come faster than the
                # pause), and falls back to `coalesce` after a cycle that gathered one, or when the relay sat
                # idle longer than the pause: an isolated commit leaves after `coalesce`, a stream is batched.
                quiet = loop.time() - idle_from > pause
                pause = self.coalesce if quiet or gathered <= 1 else min(pause * 2, self.coalesce_max)
                await self._gather(pause)
            elif not woken:
                pause = self.coalesce
            self._wake.clear()
            gathered, self._commits = self._commits, 0
            if self._stopping:
                return
            try:
                # After a failure, ask the bus first: retrying a whole batch into an outage only adds copies.
                if self.bus_ok or (await self.bus.health()).ok:
                    while await self.publish_batch() == self.batch_size:
                        pass
                await self._housekeeping()
                self._mark_database(ok=True)
            except Exception as exc:
                # Drivers may turn a cancellation into their own error: stopping must still stop.
                if _being_cancelled():
                    raise asyncio.CancelledError from None
                # The relay must outlive any database hiccup; the rows are still there next time. A batch
                # published but not marked when the database went away is published again: inboxes drop it.
                if database_unreachable(exc):
                    self._mark_database(ok=False, reason=repr(exc))
                else:
                    log.exception("outbox relay cycle failed")
            backoff = self._next_wait(backoff)

    async def _gather(self, pause: float) -> None:
        """Let the commits behind the one that woke the relay land before its cycle reads the batch."""
        await asyncio.sleep(pause)

    def _next_wait(self, backoff: float) -> float:
        """While the bus is down, poll slowly instead of hammering it on every commit; while the database is,
        a little faster: it comes back within seconds after a restart, and nothing else wakes the relay."""
        if not self.bus_ok:
            return min(max(backoff * 2, 1.0), 10.0)
        if not self.database_ok:
            return min(max(backoff * 2, self.poll_interval), 2.0)
        return self.poll_interval

    def _mark_database(self, *, ok: bool, reason: str = "") -> None:
        if ok and not self.database_ok:
            log.info("database is back; outbox publishing resumed")
        elif not ok and self.database_ok:
            log.warning("database unreachable, the outbox relay waits for it: %s", reason[:500])
        self.database_ok = ok

    async def pending(self) -> int:
        async with self.database.session() as session:
            count = await session.scalar(select(func.count()).select_from(outbox).where(_unpublished()))
        return int(count or 0)

    async def publish_batch(self) -> int:
        """Publish the oldest unpublished rows; returns how many were published (0 if none or bus down)."""
        async with self._turn:
            if self.database.is_sqlite:
                return await self._publish_batch_single_writer()
            return await self._publish_batch_locked()

    async def _publish_batch_locked(self) -> int:
        async with self.database.session() as session, session.begin():
            # The lock in a statement of its own, before the batch is read: a statement's snapshot is taken
            # when it starts, so a batch read in the statement that takes the lock could predate the commit
            # of the relay that held it, and publish its rows again (a flaky duplicate in the two-relay test).
            lock = select(func.pg_try_advisory_xact_lock(RELAY_LOCK_KEY, type_=Boolean))
            if not await session.scalar(lock):
                return 0  # another replica's relay is publishing right now
            # The batch is read and marked published in one statement (one round trip a cycle fewer, decision
            # 0046), after the lock's statement as before. The mark holds only if this transaction commits,
            # which it does after the bus took the batch; a bus refusal unmarks the rows in the same transaction
            # and any other failure rolls it back, so a row is never marked without having been published.
            claimed = (await session.execute(self._claim_query())).all()
            # RETURNING follows the UPDATE's scan, not the subquery's ORDER BY: the order is restored here.
            rows = sorted(claimed, key=lambda row: row.seq)
            return await self._publish_and_mark(session, rows, marked=True)

    async def _publish_batch_single_writer(self) -> int:
        # SQLite means one process and one connection: do not hold it while the broker answers.
        async with self.database.session() as session:
            rows = (await session.execute(self._batch_query())).all()
        if not rows:
            return 0
        async with self.database.session() as session, session.begin():
            return await self._publish_and_mark(session, rows)

    def _claim_query(self) -> ReturningUpdate[tuple[int, str, bytes]]:
        # No FOR UPDATE in the subquery: as with the SELECT it replaces, the advisory lock is what keeps a
        # second relay off these rows (nothing else updates unpublished rows).
        batch = select(outbox.c.seq).where(_unpublished()).order_by(outbox.c.seq).limit(self.batch_size)
        return (
            update(outbox)
            .where(outbox.c.seq.in_(batch.scalar_subquery()))
            .values(published_at=datetime.now(UTC), last_error=None)
            .returning(outbox.c.seq, outbox.c.topic, outbox.c.envelope)
        )

    def _batch_query(self) -> Select[tuple[int, str, bytes]]:
        return (
            select(outbox.c.seq, outbox.c.topic, outbox.c.envelope)
            .where(_unpublished())
            .order_by(outbox.c.seq)
            .limit(self.batch_size)
        )

    def _rows(self, seqs: list[int]) -> ColumnElement[bool]:
        return one_of(outbox.c.seq, seqs, BigInteger(), sqlite=self.database.is_sqlite)

    async def _publish_and_mark(
        self, session: AsyncSession, rows: Sequence[Row[tuple[int, str, bytes]]], *, marked: bool = False
    ) -> int:
        """Publish `rows` and mark them published in `session`'s transaction (`marked`: they already are,
        by the statement that read them; a bus refusal then unmarks them)."""
        if not rows:
            return 0
        seqs = [row.seq for row in rows]
        try:
            for topic, run in groupby(rows, key=lambda row: row.topic):
                encoded = [encode_structured(row.envelope) for row in run]
                physical = self.physical_topic(topic)
                with tracing.sending(self.metrics.service, physical, encoded, self.bus.system):
                    await self.bus.publish_encoded(physical, encoded)
                for event in encoded:
                    self.metrics.events_published.labels(topic, event.type).inc()
        except BusUnavailable as exc:
            self._mark_bus(ok=False, reason=str(exc))
            await session.execute(
                update(outbox)
                .where(self._rows(seqs), *(() if marked else (_unpublished(),)))
                .values(attempts=outbox.c.attempts + 1, last_error=str(exc)[:2000], published_at=None)
            )
            return 0
        self._mark_bus(ok=True)
        if marked:
            return len(rows)
        await session.execute(
            update(outbox).where(self._rows(seqs)).values(published_at=datetime.now(UTC), last_error=None)
        )
        return len(rows)

    def _mark_bus(self, *, ok: bool, reason: str = "") -> None:
        if ok and not self.bus_ok:
            log.info("bus is back; outbox publishing resumed")
        elif not ok and self.bus_ok:
            log.warning("bus unavailable, events stay in the outbox: %s", reason)
        if not ok:
            self.metrics.outbox_publish_failures.inc()
        self.bus_ok = ok
        self.metrics.bus_up.set(1 if ok else 0)

    async def _housekeeping(self) -> None:
        now = datetime.now(UTC)
        if now - self._last_gauge >= GAUGE_EVERY:
            # A count per cycle would double the relay's queries under load; every few seconds is plenty.
            self._last_gauge = now
            self.metrics.outbox_pending.set(await self.pending())
        if now - self._last_housekeeping < HOUSEKEEPING_EVERY:
            return
        self._last_housekeeping = now
        async with self.database.session() as session, session.begin():
            await session.execute(delete(outbox).where(outbox.c.published_at < now - self.retention))
            await session.execute(delete(inbox).where(inbox.c.handled_at < now - INBOX_RETENTION))
            await session.execute(
                delete(idempotency_keys).where(idempotency_keys.c.created_at < now - IDEMPOTENCY_RETENTION)
            )


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _unpublished() -> ColumnElement[bool]:
    return outbox.c.published_at.is_(None)
