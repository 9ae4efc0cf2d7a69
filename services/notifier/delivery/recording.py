"""After a plan or a send: the delivery's new state, the attempt in the log, the endpoint's circuit."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.delivery import circuit
from services.notifier.delivery.backoff import next_attempt
from services.notifier.delivery.models import Delivery, DeliveryAttempt
from services.notifier.delivery.planning import Plan, Snapshot
from services.notifier.delivery.senders import Outcome
from services.notifier.settings import NotifierSettings
from services.notifier.subscriptions import service as subscription_service
from shared.events.catalogue import CustomerNotified


async def record_plan(*, session: AsyncSession, snapshot: Snapshot, plan: Plan, settings: NotifierSettings) -> None:
    """Record a delivery that was not sent this time, and why."""
    delivery = await _still_ours(session, snapshot)
    if delivery is None:
        return
    now = datetime.now(UTC)
    _log(session, snapshot, outcome=plan.action, error=plan.reason, started=now)
    delivery.last_error, delivery.lease_until = plan.reason, None
    if plan.action == "deferred":
        # Waiting for a circuit or a rate limit is not a failure: it spends no attempt.
        delivery.status, delivery.attempts = "pending", delivery.attempts - 1
        delivery.next_attempt_at = plan.until or now
    elif plan.action == "unroutable":
        # Spends an attempt: a customer whose address never arrives ends in the dead letters, replayable.
        _retry_or_bury(delivery, now=now, settings=settings, final=False)
    else:
        delivery.status = plan.action


async def record_outcome(
    *, session: AsyncSession, snapshot: Snapshot, plan: Plan, outcome: Outcome, settings: NotifierSettings
) -> str:
    """Record a send; returns the delivery's outcome label (delivered, failed, rejected or dead)."""
    now = datetime.now(UTC)
    label = "delivered" if outcome.delivered else "rejected" if outcome.final else "failed"
    delivery = await _still_ours(session, snapshot)
    _log(session, snapshot, outcome=label, error=outcome.error, started=now, outcome_detail=outcome)
    if delivery is None:
        return label
    delivery.lease_until = None
    delivery.channel, delivery.endpoint, delivery.subscription_id = plan.channel, plan.endpoint, plan.subscription_id
    if outcome.delivered:
        await circuit.record_success(session=session, endpoint=plan.circuit_key)
        delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
        if snapshot.for_customer:
            await _announce(session, snapshot, plan.channel, now)
        return label
    policy = circuit.CircuitPolicy(settings.circuit_failure_threshold, settings.circuit_open_seconds)
    await circuit.record_failure(session=session, endpoint=plan.circuit_key, policy=policy, now=now)
    delivery.last_error = outcome.error or f"status {outcome.status_code}"
    _retry_or_bury(delivery, now=now, settings=settings, final=outcome.final)
    return "dead" if delivery.status == "dead" else label


def _retry_or_bury(delivery: Delivery, *, now: datetime, settings: NotifierSettings, final: bool) -> None:
    """After a failed attempt: dead-lettered when final or out of attempts, else due again after the backoff."""
    if final or delivery.attempts >= settings.delivery_max_attempts:
        delivery.status = "dead"
        return
    delivery.status = "pending"
    delivery.next_attempt_at = next_attempt(
        now,
        delivery.attempts,
        initial=settings.delivery_backoff_initial_seconds,
        maximum=settings.delivery_backoff_max_seconds,
    )


async def _still_ours(session: AsyncSession, snapshot: Snapshot) -> Delivery | None:
    """The delivery, if this worker's claim still holds (nobody took it over after a lapsed lease)."""
    statement = select(Delivery).where(
        Delivery.id == snapshot.id, Delivery.status == "sending", Delivery.attempts == snapshot.attempts
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()


def _log(
    session: AsyncSession,
    snapshot: Snapshot,
    *,
    outcome: str,
    error: str | None,
    started: datetime,
    outcome_detail: Outcome | None = None,
) -> None:
    session.add(
        DeliveryAttempt(
            delivery_id=snapshot.id,
            attempt=snapshot.attempts,
            started_at=started,
            duration_ms=outcome_detail.duration_ms if outcome_detail else 0.0,
            outcome=outcome,
            status_code=outcome_detail.status_code if outcome_detail else None,
            error=error,
        )
    )


async def _announce(session: AsyncSession, snapshot: Snapshot, channel: str, sent_at: datetime) -> None:
    if snapshot.customer_id is None or snapshot.problem_id is None:
        return
    event = CustomerNotified(
        notification_id=snapshot.id,
        customer_id=snapshot.customer_id,
        problem_id=snapshot.problem_id,
        ticket_id=snapshot.ticket_id,
        kind="resolution" if snapshot.notification_kind == "resolution" else "acknowledgement",
        channel="email" if channel == "email" else "webhook",
        sent_at=sent_at,
    )
    await subscription_service.publish(session=session, events=[event])
