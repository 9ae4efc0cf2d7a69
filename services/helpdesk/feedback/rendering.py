"""What an owner reads in RT about a feedback cluster: the ticket, new voices, the decision, a refusal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.helpdesk.desk.port import Comment

SUBJECT_LIMIT = 200
VOICE_LIMIT = 1_000  # one customer's words in RT; the notifier keeps them whole
HOW_TO_DECIDE = (
    "To decide, set this ticket's fields (Basics, or the Resolve form): firstcall decision (accepted, "
    "already_done or declined), firstcall change and firstcall change due (what changes, and when: needed to "
    "accept), firstcall reason (why, in the words every customer will read: always needed). The bridge sends "
    "the decision to firstcall, and every customer who gave this feedback is told once, quoting them."
)


def subject(cluster: Mapping[str, Any]) -> str:
    return _cut(f"Feedback: {cluster.get('summary_text') or ''}".strip(), SUBJECT_LIMIT)


def ticket_text(cluster: Mapping[str, Any], voices: Sequence[Mapping[str, Any]]) -> str:
    owner = str(cluster.get("owner"))
    unowned = " (no mapping named an owner: the default owner has it)" if cluster.get("unowned") else ""
    lines = [
        f"{_customers(cluster)} gave this feedback. Owner: {owner}{unowned}.",
        f"Summary: {cluster.get('summary_text')}",
        "",
        "In their own words:",
        *voice_lines(voices, start=1),
        "",
        HOW_TO_DECIDE,
    ]
    return "\n".join(lines)


def voices_comment(cluster: Mapping[str, Any], voices: Sequence[Mapping[str, Any]], *, start: int) -> Comment:
    heard = voice_lines(voices, start=start) or [
        "(their words are in firstcall: GET /v1/feedback/{id} on the notifier)"
    ]
    text = "\n".join([f"Now {_customers(cluster)} gave this feedback. New, in their own words:", *heard])
    return Comment(subject="firstcall: more customers said the same", text=text)


def decision_comment(cluster: Mapping[str, Any]) -> Comment:
    decision = str(cluster.get("decision"))
    lines = [f"Decided in firstcall by {cluster.get('decided_by')}: {decision.replace('_', ' ')}."]
    if cluster.get("change"):
        lines.append(f"What changes: {cluster.get('change')}")
    if cluster.get("change_due"):
        lines.append(f"When: {cluster.get('change_due')}")
    lines.append(f"Reason: {cluster.get('reason')}")
    lines.append(f"Each of the {_customers(cluster)} who gave this feedback is told once, quoting their words.")
    return Comment(subject=f"firstcall: feedback {decision.replace('_', ' ')}", text="\n".join(lines))


def decision_fields(cluster: Mapping[str, Any]) -> dict[str, str | None]:
    """RT's decision fields as firstcall recorded the decision (an API decision shows in RT the same way)."""
    return {
        "decision": str(cluster.get("decision")),
        "change": cluster.get("change") or None,
        "change due": cluster.get("change_due") or None,
        "reason": cluster.get("reason") or None,
    }


def not_sent(problems: Sequence[str]) -> Comment:
    text = "\n".join(["The decision was not sent to firstcall; nobody was told. Please correct:", *problems])
    return Comment(subject="firstcall: the decision not sent", text=f"{text}\n\n{HOW_TO_DECIDE}")


def refused(explanation: str) -> Comment:
    text = f"firstcall did not take the decision: {explanation}. Nobody was told; correct the fields and save."
    return Comment(subject="firstcall: the decision not taken", text=text)


def already_decided() -> Comment:
    text = (
        "This feedback was decided in firstcall already, and its customers were told: a decision is taken once. "
        "The fields show the decision that stands."
    )
    return Comment(subject="firstcall: the feedback was decided already", text=text)


def resolving_is_not_deciding() -> Comment:
    text = "The ticket was resolved without a firstcall decision, so nobody would be told: it is open again."
    return Comment(subject="firstcall: the decision not sent", text=f"{text}\n\n{HOW_TO_DECIDE}")


def voice_lines(voices: Sequence[Mapping[str, Any]], *, start: int) -> list[str]:
    lines = []
    for number, voice in enumerate(voices, start=start):
        who = voice.get("customer_name") or "a customer"
        when = str(voice.get("received_at") or "")[:10]
        heard = f"{voice.get('channel')}, {voice.get('kind')}, {when}"
        lines.append(f"{number}. {who} ({heard}): “{_cut(str(voice.get('text') or '').strip(), VOICE_LIMIT)}”")
    return lines


def _customers(cluster: Mapping[str, Any]) -> str:
    count = int(cluster.get("customer_count") or cluster.get("voice_count") or 1)
    return "1 customer" if count == 1 else f"{count} customers"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
