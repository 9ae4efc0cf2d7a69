"""A problem event's reports, each sealed with the key of the customer who wrote it (decision 0031).

A problem event carries a few member reports verbatim, several customers' words, and stays 30 days on
`firstcall.problems`. One customer's key cannot seal them all, so each report is sealed alone with its
author's key (`fcs2:`, shared/sealing.py): erasing that customer makes that report unreadable on every copy
of the topic, while the other reports still open. Consumers open them with the dispatcher's opener
(shared/data_keys.py), which leaves an erased author's report out.

Sealing follows the router's: the reports are sealed once this process has met a sealed event (the router
seals), or from the start with FIRSTCALL_NOTIFIER_SEAL_PERSONAL_FIELDS (set wherever the router seals: a
restarted notifier must not publish words in clear before it meets a sealed event), and for authors the
router made a key for; otherwise they stay in clear, and nobody is asked. An
author erased (410) is left out of the event. The router unreachable makes the event wait: the report or
erasure being handled is delivered again (HandlerUnavailable), and an ops request answers 503 to retry,
its transaction rolled back: nothing half-written, nothing lost.

The event's `summary_text` is the representative report's subject: one customer's words, sealed the same
way as a whole text (`seal_text`), with the same rules; an erased representative's summary is ERASED_TEXT.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.port import HandlerUnavailable
from shared.data_keys import NOT_MADE, customer_keys_of
from shared.errors import ProblemError
from shared.sealing import ERASED_TEXT, seal_item, seal_text

FIELD = "representative_reports"
SUMMARY_FIELD = "summary_text"


@dataclass(frozen=True)
class Representative:
    """A member report that speaks for its problem, and whose words it is."""

    customer_id: uuid.UUID
    text: str


class KeysUnavailable(HandlerUnavailable, ProblemError):
    """The router cannot give an author's key: a consumed event waits, an ops request answers 503."""

    def __init__(self, detail: str) -> None:
        ProblemError.__init__(
            self,
            503,
            "data-keys-unavailable",
            "Customers' data keys unavailable",
            detail[:500],
            headers={"Retry-After": "5"},
        )


async def event_text(session: AsyncSession, author: uuid.UUID | None, text: str, *, field: str) -> str:
    """One customer's text as an event carries it: sealed with their key while the router seals, ERASED_TEXT
    once they are erased (or when whose words they are is not known), in clear if the router made no key."""
    keys = customer_keys_of(session)
    if keys is None or not keys.router_seals or not text or text == ERASED_TEXT:
        return text
    if author is None:
        return ERASED_TEXT
    try:
        key = await keys.key_if_made(str(author))
    except HandlerUnavailable as exc:
        raise KeysUnavailable(f"the router did not give the key of the customer whose words {field} is: {exc}") from exc
    if key is None:
        return ERASED_TEXT
    return text if key == NOT_MADE else seal_text(key, str(author), field, text)


async def event_reports(session: AsyncSession, representatives: Sequence[Representative]) -> list[str]:
    """The reports a problem event carries: sealed per author while the router seals, an erased author's out."""
    # One report per customer: knowledge shows a word in a draft only when three reports share it, which
    # must mean three people (known_issues/drafting.py), not one customer who wrote twice.
    representatives = _one_per_author(representatives)
    keys = customer_keys_of(session)
    if keys is None or not keys.router_seals:
        return [report.text for report in representatives]
    reports: list[str] = []
    for report in representatives:
        author = str(report.customer_id)
        try:
            key = await keys.key_if_made(author)
        except HandlerUnavailable as exc:
            raise KeysUnavailable(f"the router did not give the key of a report's author: {exc}") from exc
        if key is None:
            continue  # erased: their words stay out of every problem event from now on
        # No key made: the router was not sealing when this customer's ticket came, and their words were in
        # clear on `firstcall.tickets` as well.
        reports.append(report.text if key == NOT_MADE else seal_item(key, author, FIELD, report.text))
    return reports


def _one_per_author(representatives: Sequence[Representative]) -> list[Representative]:
    """Each customer's first report among the representatives, in their order."""
    seen: set[uuid.UUID] = set()
    kept: list[Representative] = []
    for report in representatives:
        if report.customer_id not in seen:
            seen.add(report.customer_id)
            kept.append(report)
    return kept
