"""The digest on PostgreSQL: two replicas looking at the same period at the same moment stage it once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.notifier.bootstrap import build_runtime
from services.notifier.delivery.models import Delivery
from services.notifier.insights.models import DigestPeriod
from services.notifier.insights.sending import due_period
from shared.runtime import ServiceRuntime
from tests.notifier_factories import fast_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(tmp_path: Path, pg_url: str) -> Any:
    return fast_settings(
        tmp_path,
        database_url=pg_url,
        detection_encoder="none",
        digest_emails=["ops@example.com", "cx-lead@example.com"],
        smtp_port=1,
    )


@pytest.fixture
async def replicas(settings: Any) -> AsyncIterator[list[ServiceRuntime]]:
    running = [build_runtime(settings), build_runtime(settings)]
    for runtime in running:
        await runtime.start()
    yield running
    for runtime in running:
        await runtime.stop()


async def test_two_replicas_checking_one_period_at_once_stage_its_digest_once(
    replicas: list[ServiceRuntime], settings: Any
) -> None:
    now = due_period(settings, datetime.now(UTC)).end + timedelta(days=7)
    senders = [runtime.extensions["digest_sender"] for runtime in replicas]
    staged = await asyncio.gather(*(sender.check(now) for sender in senders * 3))
    assert sum(period is not None for period in staged) == 1
    async with replicas[0].database.session() as session:
        assert await session.scalar(select(func.count()).select_from(DigestPeriod)) == 1
        digests = select(func.count()).select_from(Delivery).where(Delivery.notification_kind == "digest")
        assert await session.scalar(digests) == 2
