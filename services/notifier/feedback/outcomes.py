"""Telling every customer who gave a piece of feedback what its owner decided: once, personally.

One delivery per customer and cluster (dedupe key `customer:{id}:feedback:{cluster}:outcome`), about their
first voice in it: their own words quoted, the decision and its reason. It goes through the delivery
machinery as a customer message (email, or the contact center's webhook), so opt-outs are respected
(`suppressed`) and the per-customer rate limit delays it rather than dropping it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.customers import service as customer_service
from services.notifier.customers.messages import MESSAGE_TYPE
from services.notifier.customers.models import CustomerContact
from services.notifier.delivery import service as delivery_service
from services.notifier.delivery.models import Delivery
from services.notifier.feedback.models import FeedbackCluster, FeedbackVoice

KIND = "feedback_outcome"
QUOTE_CHARS = 400
CHUNK = 1_000
_SPACES = re.compile(r"\s+")


def dedupe_key(customer_id: uuid.UUID, cluster_id: uuid.UUID) -> str:
    return f"customer:{customer_id}:feedback:{cluster_id}:outcome"


def quote(words: str, *, limit: int = QUOTE_CHARS) -> str:
    """The customer's words as quoted back to them, cut at a word when long."""
    words = _SPACES.sub(" ", words).strip()
    if len(words) <= limit:
        return words
    return words[:limit].rsplit(" ", 1)[0].rstrip(",;:.- ") + "…"


def message(cluster: FeedbackCluster, voice: FeedbackVoice, name: str | None) -> tuple[str, str]:
    """The subject and body telling one customer what became of what they said."""
    others = cluster.customer_count - 1
    lines = [f"{name or 'Hello'},", "", f"You told us: “{quote(voice.text)}”."]
    if others > 0:
        lines.append(f"{others} other customer{'s' if others != 1 else ''} told us the same.")
    lines.append("")
    if cluster.decision == "accepted":
        when = f" ({cluster.change_due})" if cluster.change_due else ""
        lines.append(f"We are making a change: {cluster.change}{when}.")
        lines.append(f"Why: {cluster.reason}")
        subject = "We are changing what you told us about"
    elif cluster.decision == "already_done":
        lines.append(f"This is already done: {cluster.reason}")
        subject = "What you told us about is already done"
    else:
        lines.append("We have decided not to change this, and we owe you the reason:")
        lines.append(str(cluster.reason))
        subject = "What we decided about your feedback"
    lines += ["", f"The decision was taken by {cluster.owner}. Thank you for telling us."]
    return subject, "\n".join(lines)


async def tell_outcome(*, session: AsyncSession, cluster: FeedbackCluster, voices: Sequence[FeedbackVoice]) -> int:
    """A message to each customer of these voices not told yet (their first voice); how many were new."""
    first: dict[uuid.UUID, FeedbackVoice] = {}
    for voice in sorted(voices, key=lambda v: (v.received_at, v.ticket_id)):
        first.setdefault(voice.customer_id, voice)
    told = await _told(session, cluster.id, list(first))
    waiting = [first[customer_id] for customer_id in sorted(first.keys() - told)]
    if not waiting:
        return 0
    contacts = await customer_service.contacts_of(session, [voice.customer_id for voice in waiting])
    routes = customer_service.Routes(session)
    deliveries = [await _delivery(routes, cluster, voice, contacts.get(voice.customer_id)) for voice in waiting]
    return len(await delivery_service.enqueue_many(session=session, deliveries=deliveries))


async def _told(session: AsyncSession, cluster_id: uuid.UUID, customers: list[uuid.UUID]) -> set[uuid.UUID]:
    """The customers whose outcome message exists already (unique dedupe keys: index lookups, in chunks)."""
    told: set[uuid.UUID] = set()
    for start in range(0, len(customers), CHUNK):
        keys = [dedupe_key(customer_id, cluster_id) for customer_id in customers[start : start + CHUNK]]
        told.update(
            customer_id
            for customer_id in await session.scalars(select(Delivery.customer_id).where(Delivery.dedupe_key.in_(keys)))
            if customer_id is not None
        )
    return told


async def _delivery(
    routes: customer_service.Routes, cluster: FeedbackCluster, voice: FeedbackVoice, contact: CustomerContact | None
) -> delivery_service.NewDelivery:
    name = (contact.name if contact and contact.name else voice.customer_name) or None
    subject, body = message(cluster, voice, name)
    route = await routes.to(contact)
    notification_id = uuid.uuid4()
    payload = {
        "type": MESSAGE_TYPE,
        "notification_id": str(notification_id),
        "kind": KIND,
        "customer_id": str(voice.customer_id),
        "customer_name": name,
        "ticket_id": str(voice.ticket_id),
        "feedback_cluster_id": str(cluster.id),
        "reply_channel": voice.channel,
        "subject": subject,
        "body": body,
    }
    suppressed = route == "customer opted out"
    return delivery_service.NewDelivery(
        id=notification_id,
        dedupe_key=dedupe_key(voice.customer_id, cluster.id),
        channel=route.channel if isinstance(route, customer_service.Route) else "webhook",
        endpoint=route.endpoint if isinstance(route, customer_service.Route) else "",
        event_type=MESSAGE_TYPE,
        payload=orjson.dumps(payload),
        subscription_id=route.subscription_id if isinstance(route, customer_service.Route) else None,
        customer_id=voice.customer_id,
        ticket_id=voice.ticket_id,
        notification_kind=KIND,
        status="suppressed" if suppressed else "pending",
        reason=route if suppressed and isinstance(route, str) else None,
    )
