"""Feedback's life in the notifier: heard (clustered, owned), decided by its owner, every voice told once,
and escalated to the owner's lead when it waits too long."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.customers import service as customer_service
from services.notifier.delivery.models import Delivery
from services.notifier.detection import service as detection_service
from services.notifier.feedback import clustering, outcomes, owners, sealing
from services.notifier.feedback.models import FeedbackCluster, FeedbackVoice, TicketQuestion
from services.notifier.feedback.schemas import DecisionCreate
from services.notifier.settings import NotifierSettings
from services.notifier.subscriptions import service as subscription_service
from shared.errors import Conflict, NotFound, invalid
from shared.events.catalogue import FeedbackDecided, FeedbackEscalated, FeedbackReceived

MAX_LISTED = 50  # intents and products kept on a cluster
ESCALATION_BATCH = 100
SUMMARY_CHARS = 2_000  # FeedbackEscalated.summary_text's bound, sealed
UNSENT = ("pending", "dead")  # "sending" is the worker's until it records the outcome


async def receive_feedback(
    *, session: AsyncSession, event: FeedbackReceived, settings: NotifierSettings
) -> FeedbackVoice:
    """Place a customer's feedback in the cluster of the same feedback from others (or a new one, owned)."""
    config = detection_service.DetectionConfig.from_settings(settings)
    # Encoded before the lock, as a report is: the lock must cover database work only.
    reading = await detection_service.understand(config=config, subject=event.subject, description=event.description)
    await customer_service.note_customer(session=session, customer_id=event.customer_id, name=event.customer_name)
    await clustering.lock_feedback(session)
    existing = await session.get(FeedbackVoice, event.ticket_id)
    if existing is not None:
        return existing  # the same ticket's feedback under another event id
    await _withdraw_question(session, event.ticket_id)
    vector = await clustering.vector_of(session=session, reading=reading)
    window = timedelta(days=settings.feedback_window_days)
    joined = await clustering.closest_cluster(
        session=session, vector=vector, received_at=event.received_at, window=window, config=config
    )
    cluster = await session.get(FeedbackCluster, joined) if joined else None
    cluster = cluster or _new_cluster(session, event, settings)
    new_customer = cluster.voice_count == 0 or not await _has_spoken(session, cluster.id, event.customer_id)
    voice = FeedbackVoice(
        ticket_id=event.ticket_id,
        cluster_id=cluster.id,
        customer_id=event.customer_id,
        customer_name=event.customer_name,
        channel=event.channel,
        kind=event.kind,
        subject=event.subject,
        text=f"{event.subject}\n{event.description}".strip(),
        intent=event.intent,
        product=event.product,
        tags=list(event.tags),
        features=vector.to_bytes(),
        embedding=vector.meaning.to_bytes() if vector.meaning is not None else None,
        received_at=event.received_at,
    )
    session.add(voice)
    _count(cluster, voice, new_customer=new_customer)
    await session.flush()
    if cluster.status == "decided":
        # Said again after the owner decided: this customer hears the decision too, once.
        await outcomes.tell_outcome(session=session, cluster=cluster, voices=[voice])
    return voice


async def _withdraw_question(session: AsyncSession, ticket_id: uuid.UUID) -> None:
    """A ticket an agent marked as feedback was resolved first (TicketResolved comes before FeedbackReceived)
    and may have been asked the question after a resolution: its answer was the acknowledgement, so the
    question is withdrawn while unanswered, and its message cancelled if not sent yet."""
    question = await session.get(TicketQuestion, ticket_id)
    if question is None or question.answered_at is not None:
        return
    await session.execute(
        update(Delivery)
        .where(Delivery.ticket_id == ticket_id, Delivery.notification_kind == "question", Delivery.status.in_(UNSENT))
        .values(status="cancelled", last_error="the ticket was feedback: no question about it")
    )
    await session.delete(question)


def _new_cluster(session: AsyncSession, event: FeedbackReceived, settings: NotifierSettings) -> FeedbackCluster:
    owned = owners.owner_of(
        intent=event.intent,
        product=event.product,
        tags=event.tags,
        owners=settings.feedback_owners,
        default_owner=settings.feedback_default_owner,
    )
    cluster = FeedbackCluster(
        id=uuid.uuid4(),
        status="open",
        summary_text=outcomes.quote(f"{event.subject}\n{event.description}"),
        owner=owned.owner,
        unowned=owned.unowned,
        owned_by=owned.mapping,
        voice_count=0,
        customer_count=0,
        kinds=[],
        intents=[],
        products=[],
        created_at=event.received_at,
        last_voice_at=event.received_at,
        decision_due_at=event.received_at + timedelta(hours=settings.feedback_decision_hours),
    )
    session.add(cluster)
    return cluster


async def _has_spoken(session: AsyncSession, cluster_id: uuid.UUID, customer_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(FeedbackVoice.ticket_id)
        .where(FeedbackVoice.cluster_id == cluster_id, FeedbackVoice.customer_id == customer_id)
        .limit(1)
    )
    return found is not None


def _count(cluster: FeedbackCluster, voice: FeedbackVoice, *, new_customer: bool) -> None:
    cluster.voice_count += 1
    cluster.customer_count += int(new_customer)
    cluster.last_voice_at = max(cluster.last_voice_at, voice.received_at)
    for column, value in (("kinds", voice.kind), ("intents", voice.intent), ("products", voice.product)):
        listed: list[str] = getattr(cluster, column)
        if value and value not in listed and len(listed) < MAX_LISTED:
            setattr(cluster, column, [*listed, value])


async def decide(
    *, session: AsyncSession, cluster_id: uuid.UUID, request: DecisionCreate, actor: str, now: datetime
) -> FeedbackCluster:
    """The owner's decision: recorded once, announced (FeedbackDecided), and every voice told of it."""
    if request.decision == "accepted" and request.change is None:
        raise invalid("body.change", "accepting feedback says what changes")
    if request.decision != "accepted" and (request.change is not None or request.change_due is not None):
        raise invalid("body.change", "only accepted feedback changes something")
    cluster = await session.get(FeedbackCluster, cluster_id, with_for_update=True)
    if cluster is None:
        raise NotFound("Feedback", cluster_id)
    if cluster.status == "decided":
        raise Conflict(
            "feedback-decided",
            f"this feedback was decided already ({cluster.decision}); its customers were told",
            decision=cluster.decision,
        )
    cluster.status, cluster.decision = "decided", request.decision
    cluster.change, cluster.change_due, cluster.reason = request.change, request.change_due, request.reason
    cluster.decided_by, cluster.decided_at = (request.decided_by or actor)[:100], now
    await subscription_service.publish(
        session=session,
        events=[
            FeedbackDecided(
                cluster_id=cluster.id,
                owner=cluster.owner,
                decision=request.decision,
                change=request.change,
                change_due=request.change_due,
                reason=request.reason,
                decided_by=cluster.decided_by,
                voices=max(cluster.customer_count, 1),
                decided_at=now,
            )
        ],
    )
    await outcomes.tell_outcome(session=session, cluster=cluster, voices=await voices_of(session, cluster.id))
    return cluster


async def voices_of(
    session: AsyncSession, cluster_id: uuid.UUID, *, limit: int | None = None
) -> Sequence[FeedbackVoice]:
    """A cluster's voices, oldest first (all of them unless `limit`)."""
    query = select(FeedbackVoice).where(FeedbackVoice.cluster_id == cluster_id)
    query = query.order_by(FeedbackVoice.received_at, FeedbackVoice.ticket_id)
    return (await session.scalars(query if limit is None else query.limit(limit))).all()


async def escalate_overdue(*, session: AsyncSession, settings: NotifierSettings, now: datetime) -> int:
    """Hand feedback left undecided past its time to the owner's lead (once each): FeedbackEscalated, and a
    delivery to every subscription of `feedback.escalated`."""
    overdue = (
        await session.scalars(
            select(FeedbackCluster)
            .where(
                FeedbackCluster.status == "open",
                FeedbackCluster.escalated_at.is_(None),
                FeedbackCluster.decision_due_at <= now,
            )
            .order_by(FeedbackCluster.decision_due_at)
            .limit(ESCALATION_BATCH)
            .with_for_update(skip_locked=True)
        )
    ).all()
    events = []
    for cluster in overdue:
        lead = owners.lead_of(cluster.owner, leads=settings.feedback_leads, default_lead=settings.feedback_default_lead)
        cluster.escalated_at, cluster.escalated_to = now, lead
        events.append(
            FeedbackEscalated(
                cluster_id=cluster.id,
                owner=cluster.owner,
                lead=lead,
                unowned=cluster.unowned,
                summary_text=await sealing.event_summary(session, cluster, limit=SUMMARY_CHARS),
                voices=max(cluster.customer_count, 1),
                waiting_since=cluster.created_at,
                escalated_at=now,
            )
        )
    if events:
        await subscription_service.publish(session=session, events=list(events))
    return len(events)


async def get_cluster(*, session: AsyncSession, cluster_id: uuid.UUID) -> FeedbackCluster:
    cluster = await session.get(FeedbackCluster, cluster_id)
    if cluster is None:
        raise NotFound("Feedback", cluster_id)
    return cluster
