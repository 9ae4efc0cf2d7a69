"""Comments for what happens in firstcall after a ticket is in RT, written for the agent reading the ticket."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.helpdesk.desk.port import Comment
from services.helpdesk.outbound.context import known_issue_lines
from shared.events.catalogue import (
    AccountOwnerChanged,
    ApprovalDecided,
    ApprovalRequested,
    KnowledgeSuggested,
    KnownIssueUpdated,
    ProblemResolved,
    SlaBreached,
    TicketPriorityChanged,
    TicketQueued,
    TicketReopened,
    TicketResolved,
    TicketTransferred,
)
from shared.events.problems import ProblemState

PROBLEM_FIELD_LIMIT = 250


def _comment(subject: str, *lines: str) -> Comment:
    return Comment(subject=f"firstcall: {subject}", text="\n".join(line for line in lines if line))


def suggestions(event: KnowledgeSuggested, *, article_url: str) -> Comment:
    articles = [f"- {a.title}: {article_url.format(id=a.article_id)}" for a in event.articles[:8]]
    issue = (
        ["Known issue:", *(f"- {line}" for line in known_issue_lines(event.known_issue.model_dump()))]
        if (event.known_issue)
        else []
    )
    return _comment(
        "suggested articles", "Suggested articles:" if articles else "No article matches.", *articles, *issue
    )


def known_issue(event: KnownIssueUpdated) -> Comment:
    lines = known_issue_lines(event.model_dump())
    return _comment(f"known issue {event.status.replace('_', ' ')}", *lines)


def known_issue_field(title: str, status: str) -> str:
    return f"{title} ({status.replace('_', ' ')})"[:PROBLEM_FIELD_LIMIT]


def problem(event: ProblemState, *, what: str) -> Comment:
    others = max(event.customer_count - 1, 0)
    return _comment(
        f"problem {what}",
        f"This ticket is part of a problem {what} by firstcall: {event.summary_text}",
        f"{others} other customer{'s' if others != 1 else ''} report it ({event.report_count} reports, "
        f"{event.severity}).",
        "Ops handle the problem; the customer will be told when it is resolved.",
    )


def problem_field(event: ProblemState) -> str:
    return f"{event.summary_text} ({event.customer_count} customers, {event.severity})"[:PROBLEM_FIELD_LIMIT]


def problem_resolved(event: ProblemResolved) -> Comment:
    version = f" (fix version {event.fix_version})" if event.fix_version else ""
    return _comment(
        "problem resolved",
        f"The problem this ticket belongs to is resolved: {event.resolution}{version}.",
        "firstcall tells the affected customers; you may resolve this ticket with an answer.",
    )


def split_off() -> Comment:
    return _comment("problem", "Ops took this ticket out of the problem it was grouped in.")


def queued(event: TicketQueued) -> Comment:
    skills = ", ".join(event.required_skills) or "none in particular"
    return _comment("waiting for an agent", f"No capable agent was free; skills needed: {skills}.")


def transferred(event: TicketTransferred) -> Comment:
    note = f" Note: {event.note}" if event.note else ""
    return _comment("transferred", f"firstcall recorded a transfer ({event.reason.replace('_', ' ')}).{note}")


def resolved(event: TicketResolved) -> Comment:
    first = "at first contact" if event.first_contact else f"after {event.transfers} transfer(s)"
    note = f"Note: {event.resolution_note}" if event.resolution_note else ""
    return _comment("resolved", f"Resolved in firstcall with {event.resolution_type}, {first}.", note)


def reopened(event: TicketReopened) -> Comment:
    return _comment("reopened", f"Reopened in firstcall{': ' + event.reason if event.reason else ''}.")


def priority(event: TicketPriorityChanged) -> Comment:
    return _comment("priority", f"Priority {event.previous} -> {event.priority}: {event.reason}.")


def sla_breached(event: SlaBreached) -> Comment:
    actions = {"reassigned": "firstcall reassigned it", "team_lead_notified": "the team lead was told", "none": ""}
    return _comment(
        "first response overdue",
        f"No first response by {event.due_at:%Y-%m-%d %H:%M} UTC ({event.priority} priority).",
        actions[event.action] + "." if actions[event.action] else "",
    )


def approval_requested(event: ApprovalRequested) -> Comment:
    return _comment(
        "approval requested",
        f"{event.resolution_type} of {event.amount:.2f} {event.currency} is above authority ({event.rule}): "
        "a supervisor decides. The ticket stays with its agent.",
    )


def approval_decided(event: ApprovalDecided) -> Comment:
    verdict = "approved: the resolution is carried out" if event.approved else "denied: the agent keeps the ticket"
    return _comment(
        f"approval {'granted' if event.approved else 'denied'}", f"The supervisor {verdict}.", event.note or ""
    )


def handoff(event: AccountOwnerChanged) -> Comment:
    items = [f"- {item.summary}" for item in (event.open_items + event.recent)[:10]]
    return _comment("account owner changed", event.briefing, *items)


def outcome(answer: Mapping[str, Any], *, what: str) -> Comment:
    """The router's answer to an agent's action taken in RT."""
    result = str(answer.get("outcome", "done")).replace("_", " ")
    lines = [f"{what}: {result} ({answer.get('rule')}). {answer.get('explanation', '')}"]
    entry = answer.get("ledger_entry") or {}
    if entry:
        lines.append(f"Ledger: {entry.get('type')} {entry.get('amount')} {entry.get('currency')}.")
    if answer.get("approval"):
        lines.append("A supervisor decides; the decision will be posted here.")
    return _comment(f"{what} {result}", *lines)


def refused(what: str, explanation: str) -> Comment:
    return _comment(f"{what} not applied", f"firstcall did not apply {what}: {explanation}")


def unreadable(what: str, problems: list[str]) -> Comment:
    return _comment(
        f"{what} not applied",
        f"firstcall did not apply {what}, nothing was changed there:",
        *(f"- {p}" for p in problems),
    )
