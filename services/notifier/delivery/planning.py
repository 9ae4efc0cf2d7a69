"""Before sending: is the delivery still wanted, where does it go, and may it go now?"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.customers import service as customer_service
from services.notifier.customers.messages import MESSAGE_TYPE
from services.notifier.delivery import circuit
from services.notifier.delivery.models import Delivery
from services.notifier.settings import NotifierSettings
from services.notifier.subscriptions.models import Subscription
from services.notifier.subscriptions.secrets import signing_secret

# Messages that lose their point when late: over the rate limit they are skipped, not delayed.
SKIPPED_WHEN_LIMITED = ("acknowledgement", "question")
# The digest goes to addresses and a receiver from the settings, not to a subscription (insights/sending.py).
DIGEST = "digest"
Action = Literal["send", "suppressed", "unroutable", "cancelled", "deferred"]


@dataclass(frozen=True)
class Snapshot:
    """What the worker needs of a claimed delivery (ids and values, no ORM object across sessions)."""

    id: uuid.UUID
    channel: str
    endpoint: str
    event_type: str
    payload: bytes
    subscription_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    problem_id: uuid.UUID | None
    ticket_id: uuid.UUID | None
    notification_kind: str | None
    attempts: int
    trace: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, delivery: Delivery) -> Snapshot:
        return cls(
            delivery.id,
            delivery.channel,
            delivery.endpoint,
            delivery.event_type,
            delivery.payload,
            delivery.subscription_id,
            delivery.customer_id,
            delivery.problem_id,
            delivery.ticket_id,
            delivery.notification_kind,
            delivery.attempts,
            {
                name: value
                for name, value in (("traceparent", delivery.traceparent), ("tracestate", delivery.tracestate))
                if value
            },
        )

    @property
    def for_customer(self) -> bool:
        return self.event_type == MESSAGE_TYPE


@dataclass(frozen=True)
class Plan:
    action: Action
    channel: str = ""
    endpoint: str = ""
    circuit_key: str = ""
    secret: str | None = None
    subscription_id: uuid.UUID | None = None
    reason: str | None = None
    until: datetime | None = None


async def plan_delivery(*, session: AsyncSession, snapshot: Snapshot, settings: NotifierSettings) -> Plan:
    """Decide what happens to a claimed delivery now."""
    now = datetime.now(UTC)
    if snapshot.for_customer:
        route = await customer_service.route_message(session=session, customer_id=snapshot.customer_id)  # type: ignore[arg-type]
        if isinstance(route, str):
            # No address yet is retried, not given up at once: the customer's contact details travel on
            # another topic than their report and may still be on their way.
            return Plan("suppressed" if "opted out" in route else "unroutable", reason=route)
        limited = await _rate_limited_until(session, snapshot, settings, now)
        if limited is not None and snapshot.notification_kind in SKIPPED_WHEN_LIMITED:
            return Plan("suppressed", reason=f"customer rate limit reached; {snapshot.notification_kind} skipped")
        if limited is not None:
            return Plan("deferred", reason="customer rate limit reached", until=limited)
    elif snapshot.notification_kind == DIGEST:
        digest_route = _digest_route(snapshot, settings)
        if digest_route is None:
            return Plan("cancelled", reason="the digest's webhook is no longer configured")
        route = digest_route
    else:
        subscription = await session.get(Subscription, snapshot.subscription_id) if snapshot.subscription_id else None
        if subscription is None or not subscription.active:
            return Plan("cancelled", reason="subscription deleted")
        secret = signing_secret(subscription, service_key=settings.secret_key.get_secret_value())
        route = customer_service.Route("webhook", subscription.url, secret, subscription.id)
    key = circuit.endpoint_of(route.channel, route.endpoint, f"smtp://{settings.smtp_host}:{settings.smtp_port}")
    paused = await circuit.paused_until(session=session, endpoint=key, now=now)
    if paused is not None:
        return Plan("deferred", route.channel, route.endpoint, key, reason=f"circuit open for {key}", until=paused)
    return Plan("send", route.channel, route.endpoint, key, route.secret, route.subscription_id)


def _digest_route(snapshot: Snapshot, settings: NotifierSettings) -> customer_service.Route | None:
    if snapshot.channel == "email":
        return customer_service.Route("email", snapshot.endpoint)
    secret = settings.digest_webhook_secret
    if settings.digest_webhook_url is None or secret is None:
        return None
    return customer_service.Route("webhook", snapshot.endpoint, secret.get_secret_value())


async def _rate_limited_until(
    session: AsyncSession, snapshot: Snapshot, settings: NotifierSettings, now: datetime
) -> datetime | None:
    window = timedelta(hours=settings.customer_rate_limit_hours)
    sent, oldest = (
        await session.execute(
            select(func.count(), func.min(Delivery.sent_at)).where(
                Delivery.customer_id == snapshot.customer_id,
                Delivery.status == "sent",
                Delivery.event_type == MESSAGE_TYPE,
                Delivery.sent_at > now - window,
            )
        )
    ).one()
    if sent < settings.customer_rate_limit_count or oldest is None:
        return None
    limited_until: datetime = oldest + window
    return limited_until
