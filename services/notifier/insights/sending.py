"""The digest sent once per period, to the configured addresses and webhook, by whichever replica is first.

The period is the schedule's latest slot (a weekday and time in a time zone, or every N hours); its row in
`digest_periods` is inserted with the digest's deliveries in one transaction, and a second insert of the
same key (another replica, a restart, the next check) inserts nothing and sends nothing. On PostgreSQL the
second replica's insert waits for the first's commit on the unique key, so it cannot slip in between. The
deliveries go through the delivery worker like every other (retries, circuit, dead letters, replay).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.delivery import service as delivery_service
from services.notifier.insights import rendering
from services.notifier.insights.digest import digest_of
from services.notifier.insights.models import DigestPeriod
from services.notifier.settings import NotifierSettings
from shared.db import Database, insert_many_ignoring_duplicates

log = logging.getLogger(__name__)

KIND = "digest"
EVENT_TYPE = "insights.digest"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Period:
    key: str
    start: datetime
    end: datetime


def due_period(settings: NotifierSettings, now: datetime) -> Period:
    """The latest scheduled slot at or before `now`, and the stretch its digest covers."""
    if settings.digest_interval_hours is not None:
        step = timedelta(hours=settings.digest_interval_hours)
        end = datetime.fromtimestamp(math.floor(now.timestamp() / step.total_seconds()) * step.total_seconds(), UTC)
        return Period(f"every-{settings.digest_interval_hours:g}h:{end.isoformat()}", end - step, end)
    zone = ZoneInfo(settings.digest_timezone)
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - WEEKDAYS.index(settings.digest_weekday)) % 7)
    slot = datetime.combine(day, settings.digest_time, tzinfo=zone)
    if slot > local:
        slot -= timedelta(days=7)
    # A week on the wall clock: across a change of summer time it is 167 or 169 hours.
    end, start = slot.astimezone(UTC), (slot - timedelta(days=7)).astimezone(UTC)
    return Period(f"weekly:{end.isoformat()}", start, end)


async def send_once(*, session: AsyncSession, settings: NotifierSettings, now: datetime) -> Period | None:
    """Stage this period's digest for every recipient unless it was staged already; the period if it was
    staged now. The caller commits."""
    if not settings.digest_emails and settings.digest_webhook_url is None:
        return None
    period = due_period(settings, now)
    row = {
        "period_key": period.key,
        "range_start": period.start,
        "range_end": period.end,
        "recipients": len(settings.digest_emails) + (settings.digest_webhook_url is not None),
        "created_at": now,
    }
    if not await insert_many_ignoring_duplicates(session, DigestPeriod.__table__, [row], "period_key"):  # type: ignore[arg-type]
        return None
    content = await content_of(session=session, start=period.start, end=period.end)
    deliveries = [_email(period, address, content) for address in settings.digest_emails]
    if settings.digest_webhook_url is not None:
        deliveries.append(_webhook(period, settings.digest_webhook_url, content, now))
    await delivery_service.enqueue_many(session=session, deliveries=deliveries)
    return period


async def content_of(*, session: AsyncSession, start: datetime, end: datetime) -> dict[str, str]:
    """The digest of [start, end) as an email's subject, Markdown body and HTML alternative."""
    digest = await digest_of(session=session, start=start, end=end)
    return {
        "subject": rendering.subject(digest),
        "body": rendering.render(digest, "markdown"),
        "html": rendering.render(digest, "html"),
    }


def webhook_data(period: Period, content: dict[str, str]) -> dict[str, str]:
    """The `data` of the digest's webhook event."""
    return {
        "period": period.key,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "subject": content["subject"],
        "markdown": content["body"],
        "html": content["html"],
    }


def period_key_of(dedupe_key: str) -> str:
    """The period a digest delivery belongs to, from its dedupe key (`digest:<period>:email:<hash>`)."""
    key = dedupe_key.removeprefix("digest:")
    return key.rsplit(":email:", 1)[0] if ":email:" in key else key.removesuffix(":webhook")


def _email(period: Period, address: str, content: dict[str, str]) -> delivery_service.NewDelivery:
    # The address is hashed in the key: a key is at most 255 characters, an address up to 254.
    hashed = hashlib.sha256(address.lower().encode()).hexdigest()[:24]
    return delivery_service.NewDelivery(
        dedupe_key=f"digest:{period.key}:email:{hashed}",
        channel="email",
        endpoint=address,
        event_type=EVENT_TYPE,
        payload=orjson.dumps(content),
        notification_kind=KIND,
    )


def _webhook(period: Period, url: str, content: dict[str, str], now: datetime) -> delivery_service.NewDelivery:
    """A CloudEvent like every webhook's body, its id the delivery's (the X-Firstcall-Delivery header)."""
    delivery_id = uuid.uuid4()
    envelope = {
        "specversion": "1.0",
        "id": str(delivery_id),
        "source": "/firstcall/notifier",
        "type": EVENT_TYPE,
        "subject": period.key,
        "time": now.isoformat(),
        "datacontenttype": "application/json",
        "data": webhook_data(period, content),
    }
    return delivery_service.NewDelivery(
        id=delivery_id,
        dedupe_key=f"digest:{period.key}:webhook",
        channel="webhook",
        endpoint=url,
        event_type=EVENT_TYPE,
        payload=orjson.dumps(envelope),
        notification_kind=KIND,
    )


class DigestSender:
    """Every `digest_check_seconds`, stages the period's digest if no replica has (when enabled)."""

    def __init__(self, *, database: Database, settings: NotifierSettings) -> None:
        self.database, self.settings = database, settings
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if not self.settings.digest_enabled:
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="notifier-digest")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def check(self, now: datetime | None = None) -> Period | None:
        """One look: the period staged by this call, if any."""
        async with self.database.session() as session:
            period = await send_once(session=session, settings=self.settings, now=now or datetime.now(UTC))
            await session.commit()
        return period

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.check()
            except Exception:
                log.exception("staging the digest failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.digest_check_seconds)
