"""Watching the notifier's open feedback: a cluster new to the bridge, or with new voices, is synced to RT.

The notifier publishes no event when a voice joins a cluster (only `FeedbackDecided` and
`FeedbackEscalated`), so the bridge reads `GET /v1/feedback?status=open` every `feedback_poll_seconds`,
newest first and bounded, and compares each cluster's voice count with what it last staged. A decision
arrives as `FeedbackDecided` (consumers/feedback.py) and is synced the same way.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from services.helpdesk.feedback import mirror
from services.helpdesk.feedback.models import FeedbackLink
from services.helpdesk.feedback.reader import FeedbackReader
from services.helpdesk.firstcall.client import RouterUnavailable
from services.helpdesk.outbound.sides import Sides
from shared.db import Database

log = logging.getLogger(__name__)


class FeedbackWatch:
    """The feedback half of the bridge: the notifier's clusters out to RT, owners' decisions back."""

    def __init__(self, *, database: Database, sides: Sides) -> None:
        self.database, self.sides = database, sides
        self.reader = FeedbackReader(database=database, sides=sides)

    async def run_once(self) -> int:
        """One look at the notifier's open feedback, then one read of RT's feedback tickets."""
        try:
            staged = await self.watch_once()
        except RouterUnavailable as exc:
            log.warning("the notifier is unavailable, its feedback is looked at again later: %s", exc)
            staged = 0
        return staged + await self.reader.read_once()

    async def watch_once(self) -> int:
        """Stage a sync for every open cluster whose voices changed since the last look; how many."""
        assert self.sides.notifier is not None
        clusters = await self.sides.notifier.open_feedback(limit=self.sides.settings.feedback_max_clusters)
        ids = [uuid.UUID(str(cluster["id"])) for cluster in clusters]
        staged, now = 0, datetime.now(UTC)
        async with self.database.session() as session:
            known = {
                link.cluster_id: link
                for link in await session.scalars(select(FeedbackLink).where(FeedbackLink.cluster_id.in_(ids)))
            }
            for cluster_id, cluster in zip(ids, clusters, strict=True):
                count = int(cluster.get("voice_count") or 0)
                link = known.get(cluster_id)
                if link is not None and link.voice_count == count:
                    continue
                link = link or await mirror.link_of(
                    session=session, cluster_id=cluster_id, owner=str(cluster.get("owner")), now=now
                )
                link.voice_count, link.updated_at = count, now
                cause = f"feedback {cluster_id} heard {count}"
                mirror.stage(session=session, link=link, kind=mirror.SYNC, payload={}, cause=cause, now=now)
                staged += 1
            await session.commit()
        return staged
