"""Which outbox positions are settled: nothing at or below the horizon can still appear.

Outbox rows are numbered by a sequence when they are written, just before their transaction commits, so
on PostgreSQL they become visible out of order: row 11 may commit while row 10's transaction is still
running, or row 10 may never come (its transaction rolled back; sequences never give numbers back). A
reader that moved past 11 would never see 10. So a missing position (a hole) holds everything after it
until it is filled, or known to stay empty:

- whoever took a missing number did so before the next present row was written, hence before the read
  that saw the hole; if it had a transaction id then, that id is below the read snapshot's `xmax`;
- once the snapshot's `xmin` (the oldest transaction still running anywhere) reaches that `xmax`, all those
  transactions have ended, and a read from then on shows the row if it committed;
- the id is assigned in the same INSERT that takes the number, a moment later: the `xmax` recorded is the
  one of a read `grace` seconds after the hole was first seen, so that moment is long past.

A hole that fills in time costs nothing (the next read finds the row); one that stays empty (a rollback)
holds the stream back for `grace` plus the time the transactions running then take to end. SQLite has a
single writer: a row visible after a hole means the hole's transaction has ended, so holes settle at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Hole:
    """Missing positions starting at one number, seen first at `first_seen` (monotonic seconds)."""

    first_seen: float
    watermark: int | None = None  # a snapshot's xmax, taken `grace` after first_seen


class Horizon:
    """The highest outbox position such that every position at or below it is settled."""

    def __init__(self, value: int, *, grace: float, holes_may_fill: bool) -> None:
        self.value, self.grace, self.holes_may_fill = value, grace, holes_may_fill
        self._holes: dict[int, Hole] = {}

    def settled_prefix(self, seqs: Sequence[int], *, xmin: int | None, xmax: int | None, now: float) -> int:
        """How many of `seqs` (the positions visible after `value`, ascending) are settled by this read.

        `xmin`/`xmax` are the read's own snapshot (PostgreSQL). The holes are remembered, not the value:
        call `move_to` once what the settled rows carry is kept."""
        holes: dict[int, Hole] = {}
        settled, blocked, expected = 0, False, self.value + 1
        for seq in seqs:
            if seq > expected:
                hole = holes[expected] = self._holes.get(expected) or Hole(first_seen=now)
                # Every hole ripens, not only the first: holes seen together settle together.
                blocked = not self._hole_settled(hole, xmin=xmin, xmax=xmax, now=now) or blocked
            if not blocked:
                settled += 1
            expected = seq + 1
        self._holes = holes
        return settled

    def move_to(self, seq: int) -> None:
        self.value = max(self.value, seq)

    def restart(self, value: int) -> None:
        """The sequence went back (SQLite reuses numbers once its table is empty): start over at `value`."""
        self.value, self._holes = value, {}

    def oldest_hole_age(self, now: float) -> float:
        """Seconds the oldest hole still open has been waited on (0 when none)."""
        return max((now - hole.first_seen for hole in self._holes.values()), default=0.0)

    def _hole_settled(self, hole: Hole, *, xmin: int | None, xmax: int | None, now: float) -> bool:
        if not self.holes_may_fill:
            return True
        if xmin is None or xmax is None:
            return False
        if hole.watermark is None and now - hole.first_seen >= self.grace:
            hole.watermark = xmax
        # xmin == xmax in the read that set the watermark means nothing was running: settled right there.
        return hole.watermark is not None and xmin >= hole.watermark
