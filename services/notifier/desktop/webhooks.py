"""Desktop webhook subscriptions: an agent's, a team's or the contact center's, with a secret never stored.

They are rows of `subscriptions` (audience `agent`, `team` or `center`), so the delivery worker signs,
retries, pauses and cancels their deliveries exactly as it does the ops subscriptions'. An agent's own key
manages only the subscriptions of that agent; contact-center, supervisor and admin keys manage any.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.desktop.schemas import DesktopWebhookCreate
from services.notifier.subscriptions import secrets
from services.notifier.subscriptions.models import Subscription
from shared.errors import Conflict, NotFound, ProblemError, invalid
from shared.web.auth import Principal, Scope
from shared.web.pagination import decode_time_cursor, encode_cursor, invalid_cursor

DESKTOP_AUDIENCES = ("agent", "team", "center")
# Deliveries per event grow with the subscriptions of the agents it names: each target gets a few.
MAX_PER_TARGET = 10


@dataclass(frozen=True)
class Caller:
    """Whose subscriptions a key may see: every one, or one agent's (an agent's own key; a key of no agent
    has none)."""

    everyone: bool
    agent_id: uuid.UUID | None = None

    @classmethod
    def of(cls, principal: Principal) -> Caller:
        return cls(principal.allows(Scope.CONTACT_CENTER, Scope.SUPERVISOR), principal.agent_id)

    def may_see(self, subscription: Subscription) -> bool:
        return self.everyone or (subscription.audience == "agent" and subscription.agent_id == self.agent_id)


async def create_webhook(
    *, session: AsyncSession, request: DesktopWebhookCreate, caller: Caller, allow_http: bool
) -> Subscription:
    """Subscribe a desktop receiver after checking its audience, its URL and who asks."""
    _check_audience(request, caller)
    if request.url.scheme != "https" and not allow_http:
        raise invalid("body.url", "must be an https:// URL", type="insecure_url")
    target = (
        Subscription.agent_id == request.agent_id if request.audience == "agent" else Subscription.team == request.team
    )
    live = await session.scalar(
        select(func.count()).where(Subscription.active.is_(True), Subscription.audience == request.audience, target)
    )
    if (live or 0) >= MAX_PER_TARGET:
        raise Conflict("too-many-webhooks", f"This {request.audience} has {MAX_PER_TARGET} webhooks already.")
    subscription = Subscription(
        id=uuid.uuid4(),
        url=str(request.url),
        event_types=sorted(set(request.event_types)),
        secret="",
        secret_nonce=secrets.new_nonce(),
        audience=request.audience,
        agent_id=request.agent_id,
        team=request.team,
        description=request.description,
        on_call=False,
        products=[],
        active=True,
        created_at=datetime.now(UTC),
    )
    session.add(subscription)
    await session.flush()
    return subscription


def _check_audience(request: DesktopWebhookCreate, caller: Caller) -> None:
    if request.audience == "agent" and request.agent_id is None:
        raise invalid("body.agent_id", "required for the agent audience", type="missing")
    if request.audience != "agent" and request.agent_id is not None:
        raise invalid("body.agent_id", f"only for the agent audience, not {request.audience}", type="extra_forbidden")
    if request.audience == "team" and request.team is None:
        raise invalid("body.team", "required for the team audience", type="missing")
    if request.audience != "team" and request.team is not None:
        raise invalid("body.team", f"only for the team audience, not {request.audience}", type="extra_forbidden")
    if not caller.everyone and (request.agent_id is None or request.agent_id != caller.agent_id):
        raise ProblemError(
            403, "own-agent-only", "An agent's key subscribes its own agent only", "Use the audience agent and your id."
        )


async def get_webhook(*, session: AsyncSession, webhook_id: uuid.UUID, caller: Caller) -> Subscription:
    """A live desktop webhook the caller may see, or a 404 problem."""
    subscription = await session.get(Subscription, webhook_id)
    if (
        subscription is None
        or not subscription.active
        or subscription.audience not in DESKTOP_AUDIENCES
        or not caller.may_see(subscription)
    ):
        raise NotFound("Desktop webhook", webhook_id)
    return subscription


async def list_webhooks(
    *,
    session: AsyncSession,
    caller: Caller,
    audience: str | None,
    agent_id: uuid.UUID | None,
    team: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Subscription], str | None]:
    """The live desktop webhooks the caller may see, oldest first, a page at a time."""
    statement = select(Subscription).where(Subscription.active.is_(True), Subscription.audience.in_(DESKTOP_AUDIENCES))
    if not caller.everyone:
        if caller.agent_id is None or audience not in (None, "agent") or agent_id not in (None, caller.agent_id):
            return [], None
        audience, agent_id = "agent", caller.agent_id
    for column, value in (
        (Subscription.audience, audience),
        (Subscription.agent_id, agent_id),
        (Subscription.team, team),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if cursor is not None:
        # Keyed by hand: shared Keyset reads a UtcDateTime column's cursor value as no type (a 422 every time).
        at, after_id = decode_time_cursor(cursor)
        try:
            at = at.astimezone(UTC)
        except OverflowError as exc:  # a forged cursor's year 1 with a positive offset is before any UTC time
            raise invalid_cursor() from exc
        later = (Subscription.created_at > at) | ((Subscription.created_at == at) & (Subscription.id > after_id))
        statement = statement.where(later)
    rows = list(await session.scalars(statement.order_by(Subscription.created_at, Subscription.id).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last.created_at.isoformat(), str(last.id))


async def delete_webhook(*, session: AsyncSession, webhook_id: uuid.UUID, caller: Caller) -> None:
    """Stop a desktop webhook; what was queued for it is cancelled (the row stays for the delivery log)."""
    subscription = await get_webhook(session=session, webhook_id=webhook_id, caller=caller)
    subscription.active = False


async def issued_secret(*, session: AsyncSession, webhook_id: uuid.UUID, service_key: str) -> str:
    """The signing secret, shown to the subscriber when it is created (and to a replay of that request)."""
    subscription = await session.get(Subscription, webhook_id)
    if subscription is None:
        raise NotFound("Desktop webhook", webhook_id)
    return secrets.signing_secret(subscription, service_key=service_key)
