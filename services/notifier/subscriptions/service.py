"""Who wants to hear about what, and publishing an event to them and to the bus in one transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.delivery import service as delivery_service
from services.notifier.subscriptions.models import Subscription
from services.notifier.subscriptions.schemas import SubscriptionCreate
from shared.data_keys import SealedFieldOpener, customer_keys_of
from shared.errors import NotFound, invalid
from shared.events.catalogue import Event, ProblemEscalated
from shared.events.envelope import CloudEvent
from shared.messaging.outbox import add_events


async def create_subscription(*, session: AsyncSession, request: SubscriptionCreate, allow_http: bool) -> Subscription:
    """Register a webhook after checking it can be trusted with signed deliveries."""
    if request.url.scheme != "https" and not allow_http:
        raise invalid("body.url", "must be an https:// URL", type="insecure_url")
    subscription = Subscription(
        id=uuid.uuid4(),
        url=str(request.url),
        event_types=sorted(set(request.event_types)),
        secret=request.secret,
        description=request.description,
        team=request.team,
        on_call=request.on_call,
        products=sorted(set(request.products)),
        active=True,
        created_at=datetime.now(UTC),
    )
    session.add(subscription)
    await session.flush()
    return subscription


async def get_subscription(*, session: AsyncSession, subscription_id: uuid.UUID) -> Subscription:
    """A subscription, or a 404 problem: a deleted one is gone (its row stays for the delivery log only)."""
    subscription = await session.get(Subscription, subscription_id)
    if subscription is None or not subscription.active or subscription.audience != "ops":
        raise NotFound("Subscription", subscription_id)
    return subscription


async def list_subscriptions(*, session: AsyncSession, include_inactive: bool = False) -> list[Subscription]:
    """The live subscriptions, oldest first; with the deleted ones (`active` false) for an audit. Desktop
    webhooks (services/notifier/desktop) are listed on their own route and hear no problem events."""
    statement = (
        select(Subscription).where(Subscription.audience == "ops").order_by(Subscription.created_at, Subscription.id)
    )
    if not include_inactive:
        statement = statement.where(Subscription.active.is_(True))
    return list(await session.scalars(statement))


async def delete_subscription(*, session: AsyncSession, subscription_id: uuid.UUID) -> None:
    """Stop a subscription for good; what was queued for it is cancelled, not sent. The row stays (inactive),
    as the deliveries made for it name it."""
    subscription = await get_subscription(session=session, subscription_id=subscription_id)
    subscription.active = False


async def publish(*, session: AsyncSession, events: list[Event]) -> None:
    """Stage events on the outbox and a signed delivery for each interested subscription, atomically."""
    envelopes = await add_events(session, *events)
    if not envelopes:
        return
    subscriptions = await list_subscriptions(session=session)
    for event, envelope in zip(events, envelopes, strict=True):
        wanted = [subscription for subscription in subscriptions if _wants(subscription, event)]
        # A subscriber is told in words it can read: what the event carries sealed for Kafka (a problem's
        # summary and reports, each with its author's key) is opened for it, as any consumer would.
        payload = (await _opened(session, envelope)).to_json() if wanted else b""
        for subscription in wanted:
            await delivery_service.enqueue(
                session=session,
                delivery=delivery_service.NewDelivery(
                    dedupe_key=f"subscription:{subscription.id}:event:{envelope.id}",
                    channel="webhook",
                    endpoint=subscription.url,
                    event_type=event.name,
                    payload=payload,
                    subscription_id=subscription.id,
                    problem_id=getattr(event, "problem_id", None),
                    customer_id=getattr(event, "customer_id", None),
                ),
            )


async def _opened(session: AsyncSession, envelope: CloudEvent) -> CloudEvent:
    keys = customer_keys_of(session)
    if keys is None:
        return envelope
    data = await SealedFieldOpener(keys)(envelope)
    return envelope if data is None or data is envelope.data else envelope.model_copy(update={"data": data})


def _wants(subscription: Subscription, event: Event) -> bool:
    products = set(getattr(event, "products", []) or [])
    if subscription.products and products and not products & set(subscription.products):
        return False
    if event.name in subscription.event_types:
        return True
    # The on-call rota of every team involved is paged for a major problem, whatever else it follows.
    return subscription.on_call and isinstance(event, ProblemEscalated)
