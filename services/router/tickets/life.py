"""A ticket's life: its statuses, and the one table of the transitions between them.

Every status change in the router goes through `refusal`/`ensure_allowed` with the trigger that causes it,
so no code path can move a ticket in a way this table does not list. Each (from, to) pair names the
triggers that may make it: an agent's explicit status change, a resolution, an approval's request or
outcome, a reopen, or the quiet period. docs/router.md shows this table; tests/unit/router/test_ticket_life.py
drives every pair of it, allowed and refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args

from shared.errors import Conflict
from shared.events.catalogue import TicketStatus

STATUSES: tuple[TicketStatus, ...] = get_args(TicketStatus)
CancelReason = Literal["duplicate", "spam"]

# Statuses in which the ticket occupies its agent's capacity: being worked on, or waiting for a supervisor
# while the agent keeps the customer. Waiting on the customer or on someone else frees the agent.
CAPACITY_STATUSES: tuple[TicketStatus, ...] = ("open", "pending_approval")
# Not finished: someone still owes the customer an outcome.
UNFINISHED_STATUSES: tuple[TicketStatus, ...] = ("open", "pending_customer", "on_hold", "pending_approval")
# The first-response clock runs in these; pending_customer pauses it (the due time moves by the pause).
SLA_CLOCK_STATUSES: tuple[TicketStatus, ...] = ("open", "on_hold", "pending_approval")
# A resolution may be recorded from these (an agent need not reopen a waiting ticket to resolve it).
RESOLVABLE_STATUSES: tuple[TicketStatus, ...] = ("open", "pending_customer", "on_hold")
FINAL_STATUSES: tuple[TicketStatus, ...] = ("closed", "cancelled")


class Trigger(StrEnum):
    """What moves a ticket, each through one operation."""

    STATUS_CHANGE = "status-change"
    RESOLUTION = "resolution"
    APPROVAL_REQUESTED = "approval-requested"
    APPROVAL_APPROVED = "approval-approved"
    APPROVAL_DENIED = "approval-denied"
    APPROVAL_WITHDRAWN = "approval-withdrawn"
    REOPEN = "reopen"
    QUIET_PERIOD = "quiet-period"


# Where each trigger comes from, for a refusal that tells the client what to call instead.
OPERATIONS: dict[Trigger, str] = {
    Trigger.STATUS_CHANGE: "POST /v1/tickets/{id}/status",
    Trigger.RESOLUTION: "POST /v1/tickets/{id}/resolutions",
    Trigger.APPROVAL_REQUESTED: "POST /v1/tickets/{id}/resolutions (above the agent's authority)",
    Trigger.APPROVAL_APPROVED: "POST /v1/approvals/{id}/decision (approved)",
    Trigger.APPROVAL_DENIED: "POST /v1/approvals/{id}/decision (denied)",
    Trigger.APPROVAL_WITHDRAWN: "POST /v1/approvals/{id}/withdrawal",
    Trigger.REOPEN: "POST /v1/tickets/{id}/reopen",
    Trigger.QUIET_PERIOD: "the router, once a resolved ticket has been quiet for FIRSTCALL_ROUTER_CLOSE_AFTER_DAYS",
}

_WORK = frozenset({Trigger.STATUS_CHANGE})
_BY_RESOLUTION = frozenset({Trigger.RESOLUTION})
_BY_APPROVAL_REQUEST = frozenset({Trigger.APPROVAL_REQUESTED})

# (from, to) -> the triggers that may make the move. A pair not listed is no transition at all.
TRANSITIONS: dict[tuple[TicketStatus, TicketStatus], frozenset[Trigger]] = {
    ("open", "pending_customer"): _WORK,
    ("open", "on_hold"): _WORK,
    ("open", "pending_approval"): _BY_APPROVAL_REQUEST,
    ("open", "resolved"): _BY_RESOLUTION,
    ("open", "cancelled"): _WORK,
    ("pending_customer", "open"): _WORK,
    ("pending_customer", "on_hold"): _WORK,
    ("pending_customer", "pending_approval"): _BY_APPROVAL_REQUEST,
    ("pending_customer", "resolved"): _BY_RESOLUTION,
    ("pending_customer", "cancelled"): _WORK,
    ("on_hold", "open"): _WORK,
    ("on_hold", "pending_customer"): _WORK,
    ("on_hold", "pending_approval"): _BY_APPROVAL_REQUEST,
    ("on_hold", "resolved"): _BY_RESOLUTION,
    ("on_hold", "cancelled"): _WORK,
    ("pending_approval", "open"): frozenset({Trigger.APPROVAL_DENIED, Trigger.APPROVAL_WITHDRAWN}),
    ("pending_approval", "resolved"): frozenset({Trigger.APPROVAL_APPROVED}),
    ("resolved", "open"): frozenset({Trigger.REOPEN}),
    ("resolved", "closed"): frozenset({Trigger.QUIET_PERIOD, Trigger.STATUS_CHANGE}),
}


@dataclass(frozen=True)
class Refusal:
    """Why a move is not a transition: the rule, and what to do instead."""

    rule: str
    detail: str


def refusal(current: TicketStatus, target: TicketStatus, trigger: Trigger) -> Refusal | None:
    """None if `trigger` may move a ticket from `current` to `target`; otherwise the rule that forbids it."""
    if current in FINAL_STATUSES:
        return Refusal("ticket-final", f"a {current} ticket is final; a customer who comes back gets a new ticket")
    if current == target:
        return Refusal("same-status", f"the ticket is already {current}")
    triggers = TRANSITIONS.get((current, target))
    if triggers is None:
        return Refusal("no-such-transition", f"a ticket does not go from {current} to {target}")
    if trigger not in triggers:
        via = " or ".join(OPERATIONS[t] for t in sorted(triggers))
        return Refusal("transition-has-its-own-operation", f"{current} -> {target} happens through {via}")
    return None


def ensure_allowed(
    current: TicketStatus, target: TicketStatus, trigger: Trigger, *, slug: str = "ticket-transition-refused"
) -> None:
    """Nothing if the move is a transition for `trigger`; otherwise a 409 problem naming the rule.

    `slug` keeps the problem type an older operation answered before the table existed (reopen:
    `ticket-not-resolved`), so clients that match on it keep working.
    """
    refused = refusal(current, target, trigger)
    if refused is not None:
        raise Conflict(slug, refused.detail, rule=refused.rule, from_status=current, to_status=target)
