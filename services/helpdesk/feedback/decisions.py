"""Reading the owner's decision from RT's firstcall fields: what to send the notifier, or what is wrong.

Everything is checked before the notifier is asked, and every problem is named, so the owner reads in one
comment all there is to correct (the notifier's own rules, so that a 422 is the exception).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DECISION_FIELDS = ("decision", "change", "change due", "reason")
DECISIONS = ("accepted", "already_done", "declined")
MAX_REASON = MAX_CHANGE = 2_000
MAX_CHANGE_DUE = 100
MAX_DECIDED_BY = 100


@dataclass(frozen=True)
class DecisionRequest:
    decision: str
    change: str | None
    change_due: str | None
    reason: str

    def body(self, *, decided_by: str) -> dict[str, Any]:
        """The notifier's `POST /v1/feedback/{id}/decision` body (a change only with an acceptance)."""
        body: dict[str, Any] = {
            "decision": self.decision,
            "reason": self.reason,
            "decided_by": decided_by[:MAX_DECIDED_BY],
        }
        if self.decision == "accepted":
            body["change"] = self.change
            if self.change_due:
                body["change_due"] = self.change_due
        return body


def decision_of(fields: Mapping[str, str | None]) -> str:
    """The decision field as typed (`already done` and `already-done` read as `already_done`)."""
    return _clean(fields.get("decision")).lower().replace(" ", "_").replace("-", "_")


def parse_decision(fields: Mapping[str, str | None]) -> DecisionRequest | list[str]:
    """The decision the fields ask for, or every problem found in them."""
    problems: list[str] = []
    decision = decision_of(fields)
    if decision not in DECISIONS:
        problems.append(f"firstcall decision {decision!r} is not one of {', '.join(DECISIONS)}")
    reason, change, due = _clean(fields.get("reason")), _clean(fields.get("change")), _clean(fields.get("change due"))
    if not reason:
        why = {"declined": "why it is declined", "already_done": "what was done already"}.get(decision, "why")
        problems.append(f"firstcall reason is empty: say {why}; every customer who gave this feedback reads it")
    if decision == "accepted" and not change:
        problems.append("firstcall change is empty: accepting feedback says what changes")
    for name, value, limit in (("reason", reason, MAX_REASON), ("change", change, MAX_CHANGE)):
        if len(value) > limit:
            problems.append(f"firstcall {name} is longer than {limit} characters")
    if len(due) > MAX_CHANGE_DUE:
        problems.append(f"firstcall change due is longer than {MAX_CHANGE_DUE} characters")
    if problems:
        return problems
    return DecisionRequest(decision, change or None, due or None, reason)


def _clean(value: str | None) -> str:
    return (value or "").strip()
