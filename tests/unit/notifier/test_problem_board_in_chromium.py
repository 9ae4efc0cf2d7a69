"""The problem board in a real browser: Debian's headless `chromium`, driven by Playwright (no browser is
downloaded: `executable_path` is the system's). A person signs in with an ops key, and a problem detected
after the page opened appears on it, without a reload.

`FIRSTCALL_BOARD_SCREENSHOT=docs/images/problem-board.png .venv/bin/pytest
tests/unit/notifier/test_problem_board_in_chromium.py` writes the screenshot the docs show (every run takes
one, into the test's temporary directory otherwise).
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from shared.events.catalogue import TicketOpened
from tests.notifier_factories import OUTAGE_REPORTS, known_issue, report
from tests.unit.notifier.conftest import Notifier, NotifierFactory
from tests.unit.notifier.test_problem_board import LOGIN_REPORTS, served

SEEN_WITHIN_MS = 30_000  # "a few seconds" on a quiet machine; generous for a loaded two-core one
SCREENSHOT = "FIRSTCALL_BOARD_SCREENSHOT"

PASSWORD_REPORTS = (
    ("Password reset email never arrives", "I asked for a password reset three times and got no email."),
    ("No password reset email", "The password reset email does not arrive in my inbox."),
    ("Reset password mail not received", "I requested a password reset but never received the email."),
)
ADDRESS_REPORTS = (
    ("Cannot change my delivery address", "The delivery address form gives an error when I save a new address."),
    ("Delivery address change fails", "Saving a new delivery address fails with an error on the form."),
)


CHANNELS = ("chat", "email", "phone", "web")
MINUTES_AGO = (56, 41, 31, 23, 17, 12, 8, 5, 3, 1)


def an_outage_gathering_pace() -> list[TicketOpened]:
    now = datetime.now(UTC)
    return [
        report(
            subject,
            description,
            opened_at=now - timedelta(minutes=minutes),
            channel=CHANNELS[i % len(CHANNELS)],
            attributes={"product": "webshop"},
        )
        for i, ((subject, description), minutes) in enumerate(zip(OUTAGE_REPORTS * 2, MINUTES_AGO, strict=True))
    ]


def chromium() -> str:
    """The system's chromium; its absence fails the test loudly (CI installs it: see .ci/run)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian's `chromium` is not installed: `apt-get install -y chromium` (the board is tested in it)")
    return path


async def seed_the_day_so_far(notifier: Notifier) -> None:
    """A problem resolved this morning and two similar reports not yet a problem, before the page opens."""
    earlier = datetime.now(UTC) - timedelta(hours=3)
    await notifier.publish(
        *[report(s, d, opened_at=earlier + timedelta(minutes=i)) for i, (s, d) in enumerate(PASSWORD_REPORTS)]
    )
    [solved] = (await notifier.client.get("/v1/problems")).json()["items"]
    answer = await notifier.client.post(
        f"/v1/problems/{solved['id']}/resolve",
        json={"resolution": "The mail provider's queue was unblocked.", "fix_version": "mail-2026.12"},
    )
    assert answer.status_code == 200, answer.text
    now = datetime.now(UTC)
    await notifier.publish(
        *[report(s, d, opened_at=now - timedelta(minutes=20 - i)) for i, (s, d) in enumerate(ADDRESS_REPORTS)]
    )


async def sign_in(page: Page, base_url: str, key: str) -> None:
    await page.goto(f"{base_url}/board")
    await expect(page.locator("input#key")).to_be_visible()  # no cookie yet: the sign-in form
    await page.fill("input#key", key)
    await page.click("button[type=submit]")
    await expect(page.locator("#live")).to_have_text("live", timeout=SEEN_WITHIN_MS)


async def test_a_problem_detected_after_the_page_opened_appears_on_it_without_a_reload(
    make_notifier: NotifierFactory, tmp_path: Path
) -> None:
    notifier = await make_notifier(board_poll_seconds=0.5)
    await seed_the_day_so_far(notifier)
    ops_key = (await notifier.api_key("ops"))["Authorization"].removeprefix("Bearer ")
    async with served(notifier) as url, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1440, "height": 820}, device_scale_factor=1)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        await sign_in(page, url, ops_key)
        await expect(page.locator("#resolved .row")).to_have_count(1)
        await expect(page.locator("#forming .row")).to_have_count(1)
        await expect(page.locator("#open-empty")).to_be_visible()
        await page.evaluate("window.openedOnce = true")  # gone if the page reloads

        # An outage: ten customers within the hour, faster and faster (major), then a smaller problem that
        # knowledge describes.
        await notifier.publish(*an_outage_gathering_pace())
        crisis = page.locator("#open .card.major")
        await expect(crisis).to_have_count(1, timeout=SEEN_WITHIN_MS)
        await expect(crisis.locator(".figure.customers b")).to_have_text("10", timeout=SEEN_WITHIN_MS)

        logins = [
            report(s, d, opened_at=datetime.now(UTC) - timedelta(minutes=33 - 8 * i), channel=CHANNELS[i])
            for i, (s, d) in enumerate(LOGIN_REPORTS)
        ]
        await notifier.publish(*logins)
        await expect(page.locator("#open .card")).to_have_count(2, timeout=SEEN_WITHIN_MS)
        problem_id = await page.locator("#open .card.minor").get_attribute("data-problem-id")
        await notifier.publish(
            known_issue(
                uuid.UUID(problem_id or ""),
                title="Android app 5.2 crashes at login",
                workaround="Log in on the website, or use app 5.1.",
                fix_version="5.2.1",
            )
        )
        await expect(page.locator("#open .card.minor .known .title")).to_have_text(
            "Android app 5.2 crashes at login", timeout=SEEN_WITHIN_MS
        )
        await expect(page.locator("#total-open")).to_have_text("2")
        await expect(page.locator("#total-major")).to_have_text("1")
        await expect(crisis.locator("svg rect.bar:not(.zero)")).not_to_have_count(0)

        assert await page.evaluate("window.openedOnce === true"), "the page reloaded"
        assert errors == []
        await page.wait_for_timeout(1800)  # the arrival animations end before the picture is taken
        shot = Path(os.environ.get(SCREENSHOT) or tmp_path / "problem-board.png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        picture = await page.screenshot(path=str(shot), full_page=True)
        await browser.close()
    assert picture.startswith(b"\x89PNG\r\n\x1a\n")
