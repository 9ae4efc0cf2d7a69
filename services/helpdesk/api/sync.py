"""/v1/sync, /v1/effects, /v1/tickets/{id}/link: how the bridge stands, for ops and the helpdesk admin."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from services.helpdesk.api.access import Admin, Reader, SidesDep
from services.helpdesk.effects import service as effects
from services.helpdesk.effects.models import PENDING, Effect
from services.helpdesk.effects.schemas import EffectPage, EffectRead, SyncStatus
from services.helpdesk.inbound.models import SyncCursor
from services.helpdesk.inbound.reader import CURSOR
from services.helpdesk.links import service as links
from services.helpdesk.links.schemas import TicketLinkRead
from shared.errors import NotFound
from shared.web.app import SessionDep
from shared.web.pagination import Cursor, Limit, decode_cursor, encode_cursor, invalid_cursor

router = APIRouter(tags=["sync"])


@router.get("/v1/sync", response_model=SyncStatus, summary="Where the sync stands: cursor, waiting and failed writes")
async def sync_status(session: SessionDep, sides: SidesDep, _: Reader) -> SyncStatus:
    cursor = await session.get(SyncCursor, CURSOR)
    pending, oldest = await effects.pending_count(session=session)
    return SyncStatus(
        connected=sides is not None,
        cursor=cursor.value if cursor else None,
        pending_effects=pending,
        oldest_pending_at=oldest,
        failed_effects=await effects.failed_count(session=session),
    )


@router.get("/v1/effects", response_model=EffectPage, summary="Writes to RT, newest first (filter failed ones)")
async def list_effects(
    session: SessionDep,
    _: Reader,
    effect_status: str | None = Query(None, alias="status", pattern="^(pending|done|failed|superseded|dropped)$"),
    cursor: Cursor = None,
    limit: Limit = 50,
) -> EffectPage:
    after = decode_cursor(cursor, 1)[0] if cursor else None
    if after is not None and (isinstance(after, bool) or not isinstance(after, int)):
        raise invalid_cursor()
    rows = await effects.listing(session=session, status=effect_status, after=after, limit=limit + 1)
    page = rows[:limit]
    return EffectPage(
        items=[EffectRead.model_validate(row) for row in page],
        next_cursor=encode_cursor(page[-1].seq) if len(rows) > limit else None,
    )


@router.post("/v1/effects/{effect_id}/retry", response_model=EffectRead, summary="Queue a failed write again")
async def retry_effect(effect_id: uuid.UUID, session: SessionDep, _: Admin) -> EffectRead:
    effect = await effects.retry(session=session, effect_id=effect_id, now=datetime.now(UTC))
    await session.commit()
    return EffectRead.model_validate(effect)


@router.get("/v1/tickets/{ticket_id}/link", response_model=TicketLinkRead, summary="A firstcall ticket's RT ticket")
async def ticket_link(ticket_id: uuid.UUID, session: SessionDep, sides: SidesDep, _: Reader) -> TicketLinkRead:
    link = await links.ticket_link(session=session, ticket_id=ticket_id)
    if link is None:
        raise NotFound("Ticket link", ticket_id)
    pending = await session.scalar(select(func.count()).where(Effect.ticket_id == ticket_id, Effect.status == PENDING))
    url = sides.helpdesk.ticket_url(link.rt_ticket_id) if sides and link.rt_ticket_id else None
    return TicketLinkRead(
        ticket_id=link.ticket_id,
        rt_ticket_id=link.rt_ticket_id,
        rt_url=url,
        queue=link.queue,
        rt_last_change_id=link.rt_last_change_id,
        pending_effects=int(pending or 0),
    )
