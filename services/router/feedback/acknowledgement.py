"""The acknowledgement of feedback, in the customer's own terms: it quotes what they asked for.

A thank-you that could be sent to anyone tells the customer nobody read them. This one repeats their words
(the subject, and the start of what they wrote when it says more), says what happens next, and promises
the one thing firstcall then keeps: they will hear the owner's decision and its reason.
"""

from __future__ import annotations

import re

from shared.events.catalogue import FeedbackKind

QUOTE_CHARS = 400
MAX_CHARS = 2_000
_SPACES = re.compile(r"\s+")

_LEAD = {"suggestion": "You suggested", "complaint": "You told us", "compliment": "You wrote"}
_NEXT = {
    "suggestion": "This is about how we do things, not a fault to fix on your account, so we have passed it on, "
    "in your words, to the team that owns it.",
    "complaint": "This is about how we do things, not a fault to fix on your account, so we have passed it on, "
    "in your words, to the team that owns it.",
    "compliment": "We have passed it on, in your words, to the team it is about.",
}
_PROMISE = "When they have decided what to do about it, we will write to you with their decision and the reason."


def quote_of(subject: str, description: str, *, limit: int = QUOTE_CHARS) -> str:
    """The customer's words to quote: the subject, with the description when it adds to it, cut at a word."""
    subject, description = _SPACES.sub(" ", subject).strip(), _SPACES.sub(" ", description).strip()
    if not description or description.casefold().startswith(subject.casefold()):
        words = description or subject
    elif not subject or subject.casefold() in description.casefold():
        words = description
    else:
        words = f"{subject.rstrip('.:!?')}: {description}"
    if len(words) <= limit:
        return words
    cut = words[:limit].rsplit(" ", 1)[0] if " " in words[:limit] else words[:limit]
    return cut.rstrip(",;:.- ") + "…"


def acknowledgement(*, kind: FeedbackKind, subject: str, description: str, customer_name: str | None) -> str:
    """What the customer is told when their feedback is heard (resolving the conversation)."""
    greeting = f"{customer_name.strip()}, t" if customer_name and customer_name.strip() else "T"
    quoted = quote_of(subject, description)
    return f"{greeting}hank you. {_LEAD[kind]}: “{quoted}”. {_NEXT[kind]} {_PROMISE}"[:MAX_CHARS]
