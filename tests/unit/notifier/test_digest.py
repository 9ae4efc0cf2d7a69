"""The weekly digest: what customers most needed, what was decided and why, what still waits for an owner,
in Markdown and HTML with customers' words escaped; sent once per period whatever runs it; on demand for ops."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from markupsafe import escape
from sqlalchemy import select

from services.notifier.delivery.models import Delivery
from services.notifier.feedback.outcomes import quote
from services.notifier.insights.rendering import SUMMARY_CHARS, markdown_escaped
from services.notifier.insights.sending import DigestSender, due_period
from shared.events.erasure import CustomerErased
from tests.conftest import wait_until
from tests.notifier_factories import fast_settings
from tests.unit.notifier.conftest import Notifier, NotifierFactory
from tests.unit.notifier.receivers import smtp_server, webhook_receiver
from tests.unit.notifier.test_feedback import OWNERS, WRONG_EMAIL, heard, voice
from tests.unit.notifier.test_insight_transfers import seed_transfers

# A customer's words that would be markup if they were not escaped.
SNEAKY = "Add dark mode <script>alert('x')</script> like [this](javascript:alert(1)) & *now*"
CHANGE = "the email says to use the website, with the link"
REASON = "calling cannot change this setting"
SECRET = "receiver-shared-secret-1"
SUGGESTION = voice("Dark mode please", SNEAKY, intent="app_suggestion")


async def seeded_week(notifier: Notifier) -> dict[str, Any]:
    """Five voices of one piece of feedback, decided with a reason; one unowned suggestion; three transfers."""
    [cluster] = await heard(notifier, [voice(subject, words) for subject, words in WRONG_EMAIL])
    decision = {"decision": "accepted", "change": CHANGE, "change_due": "next mailing", "reason": REASON}
    assert (await notifier.client.post(f"/v1/feedback/{cluster['id']}/decision", json=decision)).status_code == 200
    await heard(notifier, [SUGGESTION])
    await seed_transfers(notifier)
    return cluster


async def digest(notifier: Notifier, fmt: str) -> str:
    response = await notifier.client.get("/v1/insights/digest", params={"format": fmt})
    assert response.status_code == 200, response.text
    return response.text


async def test_the_digest_names_the_top_feedback_its_decision_and_reason_and_the_unowned_waiting(
    make_notifier: NotifierFactory,
) -> None:
    notifier = await make_notifier(feedback_owners=OWNERS)
    cluster = await seeded_week(notifier)
    summary = quote(cluster["summary_text"], limit=SUMMARY_CHARS)
    markdown, html = await digest(notifier, "markdown"), await digest(notifier, "html")

    assert f"1. “{markdown_escaped(summary)}”: 5 customers, 5 new in this period; owner billing-communications" in (
        markdown
    )
    assert f"Changing: {markdown_escaped(CHANGE)} (next mailing). Why: {markdown_escaped(REASON)}" in markdown
    assert "1 piece of feedback waits for a decision; it has no owner." in markdown
    assert "No owner mapped" in markdown
    assert "Dark mode please" in markdown
    assert "3 tickets were transferred away from their first agent: missing skill 2, wrong intent 1." in markdown

    assert f"<li>“{escape(summary)}”: 5 customers, 5 new in this period" in html
    assert f"Changing: {escape(CHANGE)} (next mailing). Why: {escape(REASON)}</li>" in html
    assert "Dark mode please" in html
    assert "customer-experience" in html


async def test_customers_words_are_escaped_in_html_and_in_markdown(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(feedback_owners=OWNERS)
    await seeded_week(notifier)
    markdown, html = await digest(notifier, "markdown"), await digest(notifier, "html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&amp; *now*" in html
    assert "<script>" not in markdown
    assert r"\<script\>" in markdown
    assert r"\[this\](javascript:alert(1)) \& \*now\*" in markdown


async def test_the_digest_says_so_when_nothing_happened(make_notifier: NotifierFactory) -> None:
    markdown = await digest(await make_notifier(), "markdown")
    assert "Nothing was decided in this period." in markdown
    assert "No ticket was transferred in this period." in markdown
    assert "No customer answered the question after a resolution in this period." in markdown


async def test_a_bad_format_or_range_is_a_problem_naming_the_field(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    wrong_format = await notifier.client.get("/v1/insights/digest", params={"format": "pdf"})
    assert wrong_format.status_code == 422
    assert "query.format" in wrong_format.text
    assert wrong_format.headers["content-type"].startswith("application/problem+json")
    too_long = await notifier.client.get(
        "/v1/insights/digest", params={"from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    )
    assert too_long.status_code == 422
    assert "query.from" in too_long.text


async def test_an_agent_may_not_read_the_digest(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    agent = await notifier.api_key("agent")
    supervisor = await notifier.api_key("supervisor")
    assert (await notifier.client.get("/v1/insights/digest", headers=agent)).status_code == 403
    assert (await notifier.client.get("/v1/insights/digest", headers=supervisor)).status_code == 200


def test_the_period_is_the_latest_slot_of_the_weekly_schedule_in_its_time_zone(tmp_path: Any) -> None:
    settings = fast_settings(tmp_path, digest_weekday="monday", digest_time=time(8, 0), digest_timezone="Europe/Paris")
    # Wednesday 9 December 2026: the slot is Monday 7 December, 08:00 in Paris (07:00 UTC).
    period = due_period(settings, datetime(2026, 12, 9, 12, 0, tzinfo=UTC))
    assert (period.start, period.end) == (
        datetime(2026, 11, 30, 7, 0, tzinfo=UTC),
        datetime(2026, 12, 7, 7, 0, tzinfo=UTC),
    )
    just_before = due_period(settings, datetime(2026, 12, 7, 6, 59, tzinfo=UTC))
    assert just_before.end == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    hourly = due_period(fast_settings(tmp_path, digest_interval_hours=24), datetime(2026, 12, 9, 12, 0, tzinfo=UTC))
    assert (hourly.start, hourly.end) == (datetime(2026, 12, 8, tzinfo=UTC), datetime(2026, 12, 9, tzinfo=UTC))


async def digests(notifier: Notifier) -> list[Delivery]:
    async with notifier.runtime.database.session() as session:
        return list(await session.scalars(select(Delivery).where(Delivery.notification_kind == "digest")))


async def test_a_period_is_sent_once_by_email_and_signed_webhook_however_often_it_is_checked(
    make_notifier: NotifierFactory,
) -> None:
    async with smtp_server() as mailbox, webhook_receiver(SECRET) as receiver:
        notifier = await make_notifier(
            feedback_owners=OWNERS,
            smtp_port=mailbox.port,
            digest_emails=["ops@example.com", "cx-lead@example.com"],
            digest_webhook_url=receiver.url,
            digest_webhook_secret=SECRET,
        )
        await seeded_week(notifier)
        # The first look after the next slot: its digest covers the week seeded just now.
        now = due_period(notifier.settings, datetime.now(UTC)).end + timedelta(days=7)
        sender = notifier.runtime.extensions["digest_sender"]
        assert await sender.check(now) is not None
        assert await sender.check(now) is None  # the next look in the same period
        restarted = DigestSender(database=notifier.runtime.database, settings=notifier.settings)
        assert await restarted.check(now) is None  # another replica, or after a restart
        assert len(await digests(notifier)) == 3

        await wait_until(lambda: _arrived(mailbox.messages, receiver.accepted(), emails=2), timeout=60)
        [mail] = mailbox.to("ops@example.com")
        assert mail.is_multipart()
        parts = {part.get_content_type(): part.get_payload(decode=True) for part in mail.walk()}
        assert b"What was decided" in parts["text/plain"]
        assert b"<h2>What was decided</h2>" in parts["text/html"]
        [hook] = receiver.accepted()
        assert hook.signature_ok
        assert hook.headers["x-firstcall-event"] == "insights.digest"
        assert REASON in hook.json["data"]["markdown"]
        assert hook.json["type"] == "insights.digest"


async def _arrived(mails: list[Any], hooks: list[Any], *, emails: int) -> bool | None:
    return True if len(mails) >= emails and hooks else None


async def test_no_digest_is_staged_without_recipients(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    assert await notifier.runtime.extensions["digest_sender"].check() is None
    assert await digests(notifier) == []


async def test_an_erased_customers_words_leave_the_digests_staged(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(feedback_owners=OWNERS, digest_emails=["ops@example.com"])
    await seeded_week(notifier)
    now = due_period(notifier.settings, datetime.now(UTC)).end + timedelta(days=7)
    assert await notifier.runtime.extensions["digest_sender"].check(now) is not None
    [staged] = await digests(notifier)
    assert b"Dark mode please" in staged.payload
    await notifier.publish(
        CustomerErased(customer_id=SUGGESTION.customer_id, erasure_id=uuid.uuid4(), requested_at=datetime.now(UTC))
    )
    [kept] = await digests(notifier)
    assert b"Dark mode please" not in kept.payload
    assert kept.dedupe_key == staged.dedupe_key
