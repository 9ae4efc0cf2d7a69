"""The demo's story (`make demo`) played against the embedded services: every step ends as the story says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.demo import run
from services.demo.client import Services, still
from services.demo.contact_center import load_seed, seed_contact_center
from services.demo.message_desk import message_desk
from services.demo.story import StoryOutcome, play_story
from services.embedded import SERVICES, build_embedded
from shared.settings import ServiceSettings
from tests.factories import ADMIN, service_settings
from tests.notifier_factories import fast_settings

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
async def outcome(tmp_path: Path) -> AsyncIterator[tuple[StoryOutcome, list[str]]]:
    settings = [service_settings(name, data_dir=tmp_path) for name in SERVICES[:2]]
    settings.append(fast_settings(tmp_path, webhook_allow_http=True))
    bus, runtimes, apps = build_embedded(settings)
    for runtime in runtimes:
        await runtime.start()
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{rt.name}", headers=ADMIN, timeout=60
        )
        for rt, app in zip(runtimes, apps, strict=True)
    ]
    services = Services(*clients)
    told: list[str] = []
    try:
        async with message_desk() as desk:
            center = await seed_contact_center(services, desk, tell=told.append, seed=load_seed())
            yield await play_story(services, desk, center, tell=told.append), told
    finally:
        await services.aclose()
        for runtime in runtimes:
            await runtime.stop()
        await bus.stop()


async def test_nancys_story_plays_each_step_to_its_end(outcome: tuple[StoryOutcome, list[str]]) -> None:
    story, told = outcome
    assert story.recognised, "the phone caller is matched to her email profile"
    assert story.intent == "card_arrival"
    assert story.agent == "Grace", "routed to the agent who knows cards and may credit"
    assert any("Still waiting for my metal card" in line for line in story.history)
    assert story.refundable == "64.00 EUR"
    assert any(line.startswith("credit up to 25.00 EUR on order APP-22817") for line in story.allowed)
    assert (story.credit_outcome, story.ticket_status) == ("executed", "resolved")
    assert (story.problem_customers, story.problem_reports) == (3, 3)
    assert [story.acknowledged[c] for c in story.outage_customers] == [1, 1, 1]
    assert [story.resolved[c] for c in story.outage_customers] == [1, 1, 1], "each told once"
    assert told[-1].startswith("   Each of the 3 is told once")


async def test_a_long_wait_is_said_to_go_on_until_it_ends() -> None:
    told: list[str] = []
    async with still(told.append, "training", every=0.01):
        await asyncio.sleep(0.05)  # longer than `every`: its reminder's timer comes due first
    said = len(told)
    await asyncio.sleep(0.05)
    assert said >= 1
    assert told[0].startswith("    still training (")
    assert len(told) == said, "nothing is said once the wait is over"


def test_the_demo_keeps_the_services_log_lines_out_of_its_story(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[ServiceSettings]] = []

    def start(settings: list[ServiceSettings], **_: object) -> int:
        started.append(settings)
        return 0

    monkeypatch.setenv("FIRSTCALL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FIRSTCALL_LOG_LEVEL", raising=False)
    monkeypatch.setattr(run, "run_embedded", start)
    assert run.run_demo() == 0
    assert {settings.log_level for settings in started[0]} == {"WARNING"}

    monkeypatch.setenv("FIRSTCALL_LOG_LEVEL", "INFO")
    assert run.run_demo() == 0
    assert {settings.log_level for settings in started[1]} == {"INFO"}
