"""A ticket's RT history as actions: what one person did in one go (one form, one API call).

RT records a form that sets four fields and the status as five transactions; firstcall must see one
resolution, not four half-filled ones. Consecutive changes by the same author at most two seconds apart
are one action (a form's changes may straddle a second; two real actions merged are still both applied).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.helpdesk.desk.port import INACTIVE_STATUSES, Change
from services.helpdesk.inbound.fields import RESOLUTION_FIELDS


@dataclass(frozen=True)
class Action:
    author: str
    changes: tuple[Change, ...]

    @property
    def last_id(self) -> int:
        return self.changes[-1].id

    @property
    def at(self) -> datetime:
        return self.changes[-1].at

    @property
    def replies(self) -> list[Change]:
        return [c for c in self.changes if c.kind in ("reply", "comment")]

    @property
    def new_owner(self) -> Change | None:
        """The owner change that stands (the last one), if the owner changed."""
        owners = [c for c in self.changes if c.kind == "owner"]
        return owners[-1] if owners and owners[0].old != owners[-1].new else None

    @property
    def resolution_set(self) -> bool:
        return any(c.kind == "field" and c.field in RESOLUTION_FIELDS for c in self.changes)

    @property
    def resolved(self) -> bool:
        status = self._status()
        return status is not None and status.new == "resolved" and (status.old or "") != "resolved"

    @property
    def reopened(self) -> bool:
        status = self._status()
        return (
            status is not None
            and (status.old or "") in INACTIVE_STATUSES
            and (status.new or "") not in INACTIVE_STATUSES
        )

    def _status(self) -> Change | None:
        statuses = [c for c in self.changes if c.kind == "status"]
        if not statuses:
            return None
        return Change(
            id=statuses[-1].id,
            ticket_id=statuses[-1].ticket_id,
            kind="status",
            author=self.author,
            at=statuses[-1].at,
            field="Status",
            old=statuses[0].old,
            new=statuses[-1].new,
        )


def group(changes: Sequence[Change]) -> list[Action]:
    """The changes (oldest first) as actions, in order."""
    actions: list[list[Change]] = []
    for change in changes:
        last = actions[-1][-1] if actions else None
        if last is not None and last.author == change.author and _together(last.at, change.at):
            actions[-1].append(change)
        else:
            actions.append([change])
    return [Action(author=items[0].author, changes=tuple(items)) for items in actions]


def _together(a: datetime, b: datetime) -> bool:
    return abs((a - b).total_seconds()) <= 2
