"""/v1/questions: the one question after a resolution, the customer's answer, and the disputed first contacts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.api.deps import CustomerDesk, Instant, SettingsDep, TicketId, conflict, idempotency_scope
from services.notifier.feedback import questions
from services.notifier.feedback.models import TicketQuestion
from services.notifier.feedback.schemas import AnswerCreate, QuestionList, QuestionRead
from shared.errors import NotFound
from shared.web.app import RuntimeDep, SessionDep
from shared.web.auth import Principal, Scope, require
from shared.web.idempotency import IdempotencyKey, respond_once
from shared.web.pagination import Cursor, Keyset, Limit, fetch_page, next_page_link

router = APIRouter(prefix="/v1/questions", tags=["feedback"])
Supervising = Annotated[Principal, Depends(require(Scope.OPS, Scope.SUPERVISOR))]
NEWEST_FIRST = Keyset("questions", ((TicketQuestion.asked_at, True), (TicketQuestion.ticket_id, True)))
ANSWERED = conflict(
    "`already-answered`: the customer answered this question already",
    slug="already-answered",
    detail="the customer answered this question already",
)


@router.get("", response_model=QuestionList, summary="Questions asked after resolutions, newest first, by cursor")
async def list_questions(
    request: Request,
    response: Response,
    session: SessionDep,
    _: Supervising,
    disputed: Annotated[bool | None, Query(description="only a `no` on a ticket counted first contact")] = None,
    since: Annotated[Instant | None, Query(description="asked at or after", examples=["2026-12-01T00:00:00Z"])] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> QuestionList:
    statement = select(TicketQuestion)
    if disputed is not None:
        statement = statement.where(TicketQuestion.disputed == disputed)
    if since is not None:
        statement = statement.where(TicketQuestion.asked_at >= since)
    items, next_cursor = await fetch_page(session, statement, NEWEST_FIRST, limit=limit, cursor=cursor)
    next_page_link(request, response, next_cursor)
    return QuestionList(items=[QuestionRead.model_validate(item) for item in items], next_cursor=next_cursor)


@router.get("/{ticket_id:uuid}", response_model=QuestionRead, summary="The question about a ticket, and its answer")
async def get_question(ticket_id: TicketId, session: SessionDep, _: Supervising) -> QuestionRead:
    question = await session.get(TicketQuestion, ticket_id)
    if question is None:
        raise NotFound("Question about ticket", ticket_id)
    return QuestionRead.model_validate(question)


@router.post(
    "/{ticket_id:uuid}/answer",
    response_model=QuestionRead,
    summary="The customer's answer, relayed by the contact center (once); free text is followed up",
    responses=ANSWERED,
)
async def answer_question(
    ticket_id: TicketId,
    body: AnswerCreate,
    runtime: RuntimeDep,
    settings: SettingsDep,
    caller: CustomerDesk,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, Any]:
        question = await questions.record_answer(
            session=session,
            ticket_id=uuid.UUID(str(ticket_id)),
            resolved=body.resolved,
            text=body.text,
            settings=settings,
            now=datetime.now(UTC),
        )
        return 200, QuestionRead.model_validate(question).model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(caller, f"POST /v1/questions/{ticket_id}/answer"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )
