"""What the digests hold of an erased customer: their words, when a problem's or a feedback cluster's
summary was taken from them. A digest already sent keeps its row in the delivery log but not its copy
(GET /v1/insights/digest renders any range again, without them); one still waiting is written again from
what the erasure left. Called from the notifier's CustomerErased handling (services/notifier/erasure)."""

from __future__ import annotations

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.delivery.models import Delivery
from services.notifier.insights.models import DigestPeriod
from services.notifier.insights.sending import KIND, Period, content_of, period_key_of, webhook_data

UNSENT = ("pending", "sending")


async def erase_digests(session: AsyncSession) -> dict[str, int]:
    """Drop the copies of the digests sent, write the waiting ones again; digests changed."""
    digests = (await session.scalars(select(Delivery).where(Delivery.notification_kind == KIND))).all()
    for delivery in digests:
        if delivery.status in UNSENT:
            delivery.payload = await _written_again(session, delivery)
        else:
            delivery.payload = b"{}"
    return {"digests": len(digests)}


async def _written_again(session: AsyncSession, delivery: Delivery) -> bytes:
    row = await session.get(DigestPeriod, period_key_of(delivery.dedupe_key))
    if row is None:
        return b"{}"
    period = Period(row.period_key, row.range_start, row.range_end)
    content = await content_of(session=session, start=period.start, end=period.end)
    if delivery.channel == "email":
        return orjson.dumps(content)
    envelope = orjson.loads(delivery.payload)
    envelope["data"] = webhook_data(period, content)
    return orjson.dumps(envelope)
