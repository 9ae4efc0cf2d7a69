"""The router consumer group: knowledge suggestions, known issues, problems and commerce orders in."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.router.context import feeds, offers
from services.router.customers.schemas import CustomerRef
from services.router.orders import service as order_service
from services.router.orders.schemas import OrderCreate, OrderLineIn
from services.router.settings import RouterSettings
from shared.bus.port import PoisonEvent
from shared.errors import ProblemError
from shared.events.catalogue import (
    Event,
    KnowledgeSuggested,
    KnownIssueUpdated,
    OrderPlaced,
    ProblemDetected,
    ProblemEscalated,
    ProblemResolved,
    ProblemUpdated,
    ProblemUpdatedV2,
)
from shared.messaging.inbox import EventHandler


def handlers(settings: RouterSettings) -> dict[type[Event], EventHandler]:
    """The event -> handler table of the router's consumer group."""

    async def on_suggested(event: KnowledgeSuggested, session: AsyncSession) -> None:
        await feeds.keep_suggestion(session=session, event=event)

    async def on_known_issue(event: KnownIssueUpdated, session: AsyncSession) -> None:
        await feeds.keep_known_issue(session=session, event=event)

    async def on_problem_detected(event: ProblemDetected, session: AsyncSession) -> None:
        await feeds.keep_problem_tickets(session=session, event=event, at=event.detected_at)

    async def on_problem_updated_v1(event: ProblemUpdated, session: AsyncSession) -> None:
        await feeds.keep_problem_tickets(session=session, event=event, at=event.updated_at)

    async def on_problem_updated(event: ProblemUpdatedV2, session: AsyncSession) -> None:
        await feeds.apply_problem_change(session=session, event=event)

    async def on_problem_escalated(event: ProblemEscalated, session: AsyncSession) -> None:
        await feeds.keep_problem_tickets(session=session, event=event, at=event.escalated_at)
        await feeds.raise_to_urgent(
            session=session, ticket_ids=event.ticket_ids, problem_id=event.problem_id, at=event.escalated_at
        )

    async def on_problem_resolved(event: ProblemResolved, session: AsyncSession) -> None:
        await feeds.close_problem(session=session, event=event)
        await offers.offer_fix(session=session, event=event, settings=settings)

    async def on_order_placed(event: OrderPlaced, session: AsyncSession) -> None:
        try:
            request = OrderCreate(
                customer=CustomerRef(
                    email=event.customer_email,
                    phone=event.customer_phone,
                    external_id=event.customer_external_id,
                    name=event.customer_name,
                ),
                source=event.system,
                external_ref=event.external_ref,
                currency=event.currency,
                lines=[OrderLineIn.model_validate(line.model_dump()) for line in event.lines],
                ordered_at=event.ordered_at,
                delivered_at=event.delivered_at,
            )
        except ValueError as exc:
            raise PoisonEvent(f"order {event.aggregate_id} cannot be recorded: {exc}") from exc
        try:
            await order_service.record_order(
                session=session,
                request=request,
                settings=settings,
                actor=f"commerce:{event.system}",
                now=datetime.now(UTC),
            )
        except ProblemError as exc:  # an identity that cannot be normalised will not improve with retries
            raise PoisonEvent(f"order {event.aggregate_id} cannot be recorded: {exc.detail or exc.title}") from exc

    return {
        KnowledgeSuggested: on_suggested,
        KnownIssueUpdated: on_known_issue,
        ProblemDetected: on_problem_detected,
        ProblemUpdated: on_problem_updated_v1,
        ProblemUpdatedV2: on_problem_updated,
        ProblemEscalated: on_problem_escalated,
        ProblemResolved: on_problem_resolved,
        OrderPlaced: on_order_placed,
    }
