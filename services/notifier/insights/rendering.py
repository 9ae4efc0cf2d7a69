"""The digest in plain words, as Markdown and as HTML: one set of sentences (`view`), two Jinja templates.

Everything in the digest that a person wrote (customers' words in the summaries, owners' changes and
reasons, team names) is escaped: by Jinja's autoescape in HTML, by backslash-escaping Markdown's
punctuation in Markdown, so a customer's `<script>` or `[link](...)` is shown as written, never acted on.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notifier.feedback.models import FeedbackCluster
from services.notifier.feedback.outcomes import quote
from services.notifier.insights.digest import Digest

Format = Literal["markdown", "html"]
SUMMARY_CHARS = 160
# What can start markup in the middle of a line (the text never starts one: it follows a quote or a label).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]<>&!|~])")
_SPACES = re.compile(r"\s+")
_DECISIONS = {"accepted": "accepted", "already_done": "already done", "declined": "declined"}


def markdown_escaped(value: object) -> str:
    """Text as Markdown shows it literally: one line, its punctuation backslash-escaped."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", _SPACES.sub(" ", str(value)).strip())


_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    auto_reload=False,
)
_TEMPLATES.filters["md"] = markdown_escaped


def render(digest: Digest, fmt: Format) -> str:
    """The digest as a Markdown document or a whole HTML page."""
    template = _TEMPLATES.get_template("digest.html" if fmt == "html" else "digest.md")
    return template.render(**view(digest))


def subject(digest: Digest) -> str:
    return f"What customers told us, {_day(digest.start)} to {_day(digest.end)}"


def view(digest: Digest) -> dict[str, Any]:
    """The digest's sentences and lists, as plain values the two templates lay out alike."""
    figures = digest.figures
    return {
        "title": subject(digest),
        "problems": [_problem(p) for p in figures["top_problems"]],
        "feedback": [_feedback(item, digest.new_voices.get(item["id"], 0)) for item in figures["top_feedback"]],
        "decided": [_decided(c) for c in digest.decided],
        "decided_more": max(digest.decided_total - len(digest.decided), 0),
        "waiting": _waiting_sentence(
            figures["feedback_waiting_for_a_decision"], figures["feedback_waiting_for_an_owner"]
        ),
        "unowned": [_waiting(c) for c in digest.unowned],
        "escalated": [_waiting(c) for c in digest.escalated],
        "fcr": _first_contact(figures["first_contact"]),
        "transfers": _transfers(figures["transfers"]),
    }


def _problem(problem: dict[str, Any]) -> dict[str, Any]:
    state = "resolved" if problem["status"] == "resolved" else f"{problem['severity']}, {problem['status']}"
    return {
        "summary": _short(problem["summary"]),
        "detail": f"{_people(problem['customers'])}, {problem['growth_per_hour']:g} new an hour at its last report; {state}",
    }


def _feedback(item: dict[str, Any], new: int) -> dict[str, Any]:
    owner = f"{item['owner']} (no owner mapped)" if item["unowned"] else item["owner"]
    if item["decision"]:
        outcome = _DECISIONS.get(item["decision"], item["decision"])
    elif item["escalated_to"]:
        outcome = f"waiting for a decision, escalated to {item['escalated_to']}"
    else:
        outcome = "waiting for a decision"
    return {
        "summary": _short(item["summary"]),
        "detail": f"{_people(item['customers'])}, {new} new in this period; owner {owner}; {outcome}",
    }


def _decided(cluster: FeedbackCluster) -> dict[str, Any]:
    decision = _DECISIONS.get(cluster.decision or "", cluster.decision or "")
    change = f"{cluster.change}{f' ({cluster.change_due})' if cluster.change_due else ''}" if cluster.change else None
    return {
        "summary": _short(cluster.summary_text),
        "verdict": f"{decision} by {cluster.owner} for {_people(cluster.customer_count)}",
        "change": change,
        "reason": cluster.reason or "",
    }


def _waiting(cluster: FeedbackCluster) -> dict[str, Any]:
    since = f"heard since {_day(cluster.created_at)}"
    escalated = f"; escalated to {cluster.escalated_to}" if cluster.escalated_to else ""
    return {
        "summary": _short(cluster.summary_text),
        "detail": f"{_people(cluster.customer_count)}, {since}; with {cluster.owner}{escalated}",
    }


def _waiting_sentence(undecided: int, unowned: int) -> str:
    if not undecided:
        return "No feedback waits for a decision."
    if undecided == 1:
        return f"1 piece of feedback waits for a decision; it has {'no' if unowned else 'an'} owner."
    verb = "has" if unowned == 1 else "have"
    return f"{undecided} pieces of feedback wait for a decision; {unowned} of them {verb} no owner."


def _first_contact(fcr: dict[str, Any]) -> dict[str, Any]:
    if not fcr["answered"]:
        return {"answered": 0}
    gap = round(fcr["gap"] * 100, 1)
    return {
        "answered": fcr["answered"],
        "firstcall": _percent(fcr["fcr_rate_firstcall"]),
        "customers": _percent(fcr["fcr_rate_customers"]),
        "gap": f"{abs(gap):g} points {'above' if gap >= 0 else 'below'}",
        "disputed": fcr["disputed"],
    }


def _transfers(transfers: dict[str, Any]) -> dict[str, Any]:
    def reasons(counts: dict[str, int]) -> str:
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return ", ".join(f"{reason.replace('_', ' ')} {count}" for reason, count in ordered)

    def top(groups: dict[str, dict[str, int]]) -> list[dict[str, str]]:
        ordered = sorted(groups.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:5]
        return [
            {"name": name, "reasons": reasons(counts), "total": str(sum(counts.values()))} for name, counts in ordered
        ]

    return {
        "total": transfers["total"],
        "by_reason": reasons(transfers["by_reason"]),
        "by_intent": top(transfers["by_intent"]),
        "by_team": top(transfers["by_team"]),
        "by_channel": top(transfers["by_channel"]),
    }


def _short(words: str) -> str:
    return quote(words, limit=SUMMARY_CHARS)


def _people(count: int) -> str:
    return f"{count} customer{'' if count == 1 else 's'}"


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _day(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d" if (moment.hour, moment.minute) == (0, 0) else "%Y-%m-%d %H:%M UTC")
