"""A restarted notifier seals problem events from its first, and a problem event holds one report a customer."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

import orjson

from services.notifier.problems.sealing import Representative, event_reports
from shared.sealing import ITEM_PREFIX, item_author, new_data_key
from tests.notifier_factories import outage
from tests.unit.test_sealed_problem_reports import Notifier, running_notifier

FIELD = "representative_reports"


def fresh_notifier(tmp_path: Path, *, seal: bool) -> contextlib.AbstractAsyncContextManager[Notifier]:
    """A notifier just started: it has met no sealed event yet."""
    return running_notifier(tmp_path, seal_personal_fields=seal)


async def first_problem_event(tmp_path: Path, *, seal: bool) -> tuple[list[str], dict[str, str]]:
    """The reports of the first problem event of a fresh notifier whose router has keys for every author.

    The reports reach it in clear, as those the router wrote before a restart of this notifier would have
    been read by the notifier it replaced; what matters is what this process publishes first."""
    async with fresh_notifier(tmp_path, seal=seal) as notifier:
        reports = outage(3)
        for report in reports:
            notifier.router.keys[str(report.customer_id)] = new_data_key()
        await notifier.receive(*reports, sealed=False)
        [detected] = await notifier.staged("problem.detected")
        return detected.data[FIELD], {str(r.customer_id): r.description for r in reports}


async def test_a_fresh_notifier_told_the_router_seals_seals_its_first_problem_events_reports(tmp_path: Path) -> None:
    items, authors = await first_problem_event(tmp_path, seal=True)

    assert len(items) == 3
    assert all(item.startswith(ITEM_PREFIX) for item in items)
    assert {item_author(item) for item in items} == set(authors)
    assert not any(description[:20] in orjson.dumps(items).decode() for description in authors.values())


async def test_without_the_setting_a_fresh_notifier_publishes_its_first_problem_event_in_clear(tmp_path: Path) -> None:
    # The gap the setting closes: until it meets a sealed event, the process does not know the router seals.
    items, authors = await first_problem_event(tmp_path, seal=False)

    assert not any(item.startswith(ITEM_PREFIX) for item in items)
    assert all(any(description[:30] in item for description in authors.values()) for item in items)


async def test_a_problem_event_carries_one_report_per_customer(tmp_path: Path) -> None:
    # Knowledge shows a word three reports share (known_issues/drafting.py): three reports must be three people.
    one, other = uuid.uuid4(), uuid.uuid4()
    representatives = [
        Representative(one, "The app crashes after the update"),
        Representative(one, "Still: the app crashes after the update"),
        Representative(other, "My app crashes since the update"),
    ]
    async with fresh_notifier(tmp_path, seal=False) as notifier, notifier.runtime.database.session() as session:
        reports = await event_reports(session, representatives)

    assert reports == ["The app crashes after the update", "My app crashes since the update"]
