"""`make demo` / `firstcall demo`: the embedded services on data of their own, seeded, playing Nancy's story,
then left running with the pages worth opening."""

from __future__ import annotations

import asyncio
import importlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import httpx

from services.demo.client import DemoFailure, Services
from services.demo.contact_center import load_seed, seed_contact_center
from services.demo.message_desk import message_desk
from services.demo.story import play_story
from services.embedded import LOADING, SERVICES, run_embedded, say
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings


def demo_settings(data: Path) -> list[ServiceSettings]:
    """The three services' settings from the environment, their files under `data`."""
    return [importlib.import_module(f"services.{name}.bootstrap").SETTINGS(data_dir=data) for name in SERVICES]


def run_demo() -> int:
    """Start from empty demo databases every time, so the story always begins at its beginning."""
    data = Path(os.environ.get("FIRSTCALL_DATA_DIR", "data")) / "demo"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    # The story is told in words; the services' request and event log lines would bury it. Warnings and
    # errors still show, and FIRSTCALL_LOG_LEVEL=INFO brings the rest back.
    os.environ.setdefault("FIRSTCALL_LOG_LEVEL", "WARNING")
    say(LOADING)
    return run_embedded(demo_settings(data), on_ready=play_demo)


async def play_demo(runtimes: Sequence[ServiceRuntime]) -> None:
    """Seed, play the story, say where to look; then keep the message desk up until Ctrl-C."""
    by_name = {runtime.name: runtime.settings for runtime in runtimes}
    key = by_name["router"].admin_api_key
    if key is None:
        say("demo: it calls the API as admin: set FIRSTCALL_ADMIN_API_KEY (or run it in development)")
        return
    headers = {"Authorization": f"Bearer {key.get_secret_value()}"}
    services = Services(
        *(httpx.AsyncClient(base_url=_base(by_name[name]), headers=headers, timeout=60) for name in SERVICES)
    )
    try:
        async with message_desk(by_name["router"].host) as desk:
            say("")
            center = await seed_contact_center(services, desk, tell=say, seed=load_seed())
            await play_story(services, desk, center, tell=say)
            await _pages_worth_opening(services, by_name)
            await asyncio.Event().wait()  # until Ctrl-C cancels the demo
    except DemoFailure as exc:
        say(f"demo: the story stopped: {exc}")
    finally:
        await services.aclose()


def _base(settings: ServiceSettings) -> str:
    return f"http://{settings.host}:{settings.port}"


async def _pages_worth_opening(services: Services, by_name: dict[str, ServiceSettings]) -> None:
    router, knowledge, notifier = (_base(by_name[name]) for name in SERVICES)
    say("")
    say("The demo stays up for you to explore (Ctrl-C stops it; the next `make demo` starts it afresh):")
    say(f"  {router}/docs       the router: tickets, customers, agents, intents, resolutions")
    say(f"  {knowledge}/docs       knowledge: articles, search, known issues")
    say(f"  {notifier}/docs       the notifier: problems, subscriptions, notifications")
    board = await services.notifier.get("/board/login")
    if board.status_code != 404:
        say(f"  {notifier}/board      the live problem board (sign in with the admin key)")
    say("  With the key: KEY='Authorization: Bearer firstcall-dev-admin-key', try")
    say(f"    curl -s '{router}/v1/tickets?sort=priority' -H \"$KEY\"")
    say(f"    curl -s '{notifier}/v1/problems?status=resolved' -H \"$KEY\"")
    say("  Read next: README.md (Architecture), docs/router.md, docs/knowledge.md, docs/notifier.md")
