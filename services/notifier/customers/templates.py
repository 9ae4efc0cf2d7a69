"""Personal messages from templates the team can edit, rendered in a sandbox.

A template sees the customer's name, their own report, the problem and what is known or what changed;
it cannot reach anything else (Jinja's sandbox), and a variable it names that does not exist is an error
when the template is saved, not when a customer is waiting for the message.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.customers.models import MessageTemplate
from services.notifier.customers.schemas import TemplateName, TemplateRead, TemplateUpdate
from shared.errors import FieldError, ProblemError

_ENVIRONMENT = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)

VARIABLES = {
    "customer_name": "the customer's name, or 'there' when unknown",
    "ticket_subject": "the subject of the customer's own report",
    "ticket_opened_at": "when they reported it (YYYY-MM-DD HH:MM UTC)",
    "problem_summary": "the problem in one line",
    "other_customers": "how many other customers reported it",
    "known_status": "investigating, workaround_available or fix_available (empty when unknown)",
    "workaround": "the known workaround (empty when none)",
    "fix": "the known or shipped fix (empty when none)",
    "fix_version": "the version that fixes it (empty when none)",
    "resolution": "what ops said resolved it (resolution messages)",
    "article_title": "the article that explains it (empty when none)",
}

DEFAULTS: dict[str, tuple[str, str]] = {
    "acknowledgement": (
        "We know about it: {{ ticket_subject }}",
        """Hello {{ customer_name }},

Thank you for telling us about "{{ ticket_subject }}". You are not alone: {{ other_customers }} other \
customers reported the same problem, and our team is on it.
{% if workaround %}
Until it is fixed, this should help: {{ workaround }}
{% endif %}{% if fix_version %}
A fix is expected in version {{ fix_version }}.
{% elif fix %}
The fix: {{ fix }}
{% endif %}
We will write to you again, once, when it is resolved.
""",
    ),
    "resolution": (
        "Resolved: {{ ticket_subject }}",
        """Hello {{ customer_name }},

On {{ ticket_opened_at }} you reported "{{ ticket_subject }}". It is resolved: {{ resolution }}
{% if fix_version %}
The fix is in version {{ fix_version }}.
{% endif %}{% if article_title %}
More in our article "{{ article_title }}".
{% endif %}
Thank you for your patience, and for telling us.
""",
    ),
}

SAMPLE_CONTEXT: dict[str, Any] = {
    "customer_name": "Ada",
    "ticket_subject": "Checkout fails",
    "ticket_opened_at": "2026-01-01 09:00 UTC",
    "problem_summary": "Checkout fails with a payment error",
    "other_customers": 4,
    "known_status": "workaround_available",
    "workaround": "Pay with PayPal",
    "fix": "",
    "fix_version": "2.4.1",
    "resolution": "The payment provider fixed its certificate.",
    "article_title": "",
}


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    body: str


async def current(*, session: AsyncSession, name: TemplateName) -> TemplateRead:
    """The template in force: ops' latest edit, or the built-in default."""
    stored = await session.get(MessageTemplate, name)
    if stored is not None:
        return TemplateRead(
            name=name,
            subject=stored.subject,
            body=stored.body,
            revision=stored.revision,
            updated_at=stored.updated_at,
            variables=sorted(VARIABLES),
        )
    subject, body = DEFAULTS[name]
    return TemplateRead(name=name, subject=subject, body=body, revision=0, updated_at=None, variables=sorted(VARIABLES))


async def save(*, session: AsyncSession, name: TemplateName, update: TemplateUpdate) -> TemplateRead:
    """Replace a template after proving it renders (a broken template is refused, naming the field)."""
    for field in ("subject", "body"):
        _check(getattr(update, field), field)
    stored = await session.get(MessageTemplate, name)
    now = datetime.now(UTC)
    if stored is None:
        session.add(MessageTemplate(name=name, subject=update.subject, body=update.body, revision=1, updated_at=now))
    else:
        stored.subject, stored.body, stored.revision, stored.updated_at = (
            update.subject,
            update.body,
            stored.revision + 1,
            now,
        )
    await session.flush()
    return await current(session=session, name=name)


def render(template: TemplateRead, context: dict[str, Any]) -> RenderedMessage:
    """The personal message for one customer, from the template in force (`current`, read once a batch)."""
    subject = compiled(template.subject).render(context)
    return RenderedMessage(" ".join(subject.split()), compiled(template.body).render(context))


@functools.lru_cache(maxsize=64)
def compiled(source: str) -> Template:
    """A template's source, compiled once: a problem resolved for thousands of customers renders the same
    two sources thousands of times, and compiling took longer than rendering. An edit is a new source."""
    return _ENVIRONMENT.from_string(source)


def _check(source: str, field: str) -> None:
    try:
        _ENVIRONMENT.from_string(source).render(SAMPLE_CONTEXT)
    except TemplateError as exc:
        raise ProblemError(
            422,
            "invalid-template",
            "Template does not render",
            f"body.{field}: {exc}",
            errors=[FieldError(field=f"body.{field}", message=str(exc), type="template_error")],
        ) from exc
