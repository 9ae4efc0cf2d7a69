"""A group's prepare step sees events as their handler will: the router's sealed fields opened first.

With sealing on, a TicketOpened's subject and description arrive sealed; the notifier's batch encoder read
them as they came, failed to validate them and left every sealed ticket to be encoded alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.batching import PreparingHandler
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.bus.port import HandlerUnavailable, PoisonEvent
from shared.events.catalogue import TicketOpened
from shared.events.envelope import CloudEvent
from shared.runtime import assemble_runtime
from tests.factories import service_settings, ticket_opened

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "notifier" / "migrations"


async def _nothing(event: TicketOpened, session: AsyncSession) -> None:
    return None


class Opener:
    """Opens by upper-casing the subject; what each envelope's subject says decides what else happens."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, envelope: CloudEvent) -> dict[str, Any] | None:
        subject = envelope.data["subject"]
        self.asked.append(subject)
        if subject == "router away":
            raise HandlerUnavailable("the router did not give the key")
        if subject == "damaged":
            raise PoisonEvent("a seal that does not open")
        if subject == "erased":
            return None
        return {**envelope.data, "subject": subject.upper()}


async def _prepare_of(tmp_path: Path, seen: list[str], opener: Opener | None) -> PreparingHandler:
    async def prepare(events: Sequence[CloudEvent]) -> None:
        seen.extend(event.data["subject"] for event in events)

    settings = service_settings("notifier", data_dir=tmp_path)
    runtime = assemble_runtime(
        settings,
        migrations=MIGRATIONS,
        handlers={TicketOpened: _nothing},
        bus=InMemoryBus(physical_topics(settings)),
        prepare=prepare,
    )
    (binding,) = runtime.consumers
    binding.dispatcher.opener = opener  # as shared/data_keys.open_sealed_fields sets it, after assembly
    await runtime.start()
    try:
        (consumer,) = runtime._running
        handler = consumer.subscription.handler  # type: ignore[attr-defined]
        assert isinstance(handler, PreparingHandler)
        return handler
    finally:
        await runtime.stop()


def _events(*subjects: str) -> list[CloudEvent]:
    return [ticket_opened(subject=subject).to_cloudevent() for subject in subjects]


async def test_prepare_is_given_the_opened_events_and_not_those_that_cannot_be_opened(tmp_path: Path) -> None:
    seen: list[str] = []
    handler = await _prepare_of(tmp_path, seen, Opener())
    await handler.prepare(_events("wifi down", "damaged", "erased", "no signal"))
    assert seen == ["WIFI DOWN", "NO SIGNAL"]  # a damaged seal or an erased customer: left to its own delivery


async def test_a_router_away_stops_the_opening_at_once_and_prepares_what_was_opened(tmp_path: Path) -> None:
    seen: list[str] = []
    opener = Opener()
    handler = await _prepare_of(tmp_path, seen, opener)
    await handler.prepare(_events("wifi down", "router away", "no signal"))
    assert seen == ["WIFI DOWN"]
    assert opener.asked == ["wifi down", "router away"]  # each further key would wait as long


@pytest.mark.parametrize("subjects", [("wifi down", "no signal")])
async def test_without_an_opener_prepare_is_given_the_events_as_they_came(
    tmp_path: Path, subjects: tuple[str, ...]
) -> None:
    seen: list[str] = []
    handler = await _prepare_of(tmp_path, seen, None)
    await handler.prepare(_events(*subjects))
    assert seen == list(subjects)
