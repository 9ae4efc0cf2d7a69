"""/v1/problems: what ops see and do: list, inspect, merge, split, resolve.

Ids in paths are UUIDs by the route itself (`{problem_id:uuid}`), as in every notifier route: a path naming no
UUID names nothing (404).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.api.deps import Instant, Ops, ProblemId, SettingsDep, conflict, idempotency_scope
from services.notifier.problems import operations, presenting
from services.notifier.problems import service as problem_service
from services.notifier.problems.schemas import (
    MergeRequest,
    ProblemDetail,
    ProblemList,
    ResolveRequest,
    SplitRequest,
    SplitResult,
)
from shared.web.app import RuntimeDep, SessionDep
from shared.web.auth import Principal
from shared.web.idempotency import IdempotencyKey, respond_once
from shared.web.pagination import Cursor, DeprecatedOffset, Limit, deprecated_offset, next_page_link

router = APIRouter(prefix="/v1/problems", tags=["problems"])
NOT_ACTIVE = conflict(
    "`problem-not-active`: the problem (or the one named in the body) is resolved or merged; only forming and "
    "open problems change",
    slug="problem-not-active",
    detail="Problem 1a393a70-4f8c-4183-87e7-a1deaf2bff90 is resolved; only active ones change.",
)
NOT_OPEN = conflict(
    "`problem-not-open`: the problem is not open (still forming, resolved already, or merged into another)",
    slug="problem-not-open",
    detail="Only open problems can be resolved; this one is resolved.",
)


@router.get("", response_model=ProblemList, summary="Problems, most recently active first, cursor-paginated")
async def list_problems(
    request: Request,
    response: Response,
    session: SessionDep,
    _: Ops,
    status: Annotated[Literal["forming", "open", "resolved", "merged"] | None, Query()] = None,
    severity: Annotated[Literal["minor", "major"] | None, Query()] = None,
    since: Annotated[
        Instant | None,
        Query(description="last report at or after (with its time zone)", examples=["2026-11-24T08:00:00Z"]),
    ] = None,
    until: Annotated[
        Instant | None,
        Query(description="last report at or before (with its time zone)", examples=["2026-11-24T18:00:00+01:00"]),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    offset: DeprecatedOffset = 0,
) -> ProblemList:
    problems, next_cursor = await problem_service.list_problems(
        session=session,
        status=status,
        severity=severity,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
        offset=deprecated_offset(offset, cursor),
    )
    next_page_link(request, response, next_cursor)
    items = await presenting.summaries(session=session, problems=problems)
    return ProblemList(items=items, next_cursor=next_cursor, limit=limit, offset=offset)


@router.get("/{problem_id:uuid}", response_model=ProblemDetail, summary="A problem with its member tickets")
async def get_problem(problem_id: ProblemId, session: SessionDep, _: Ops) -> ProblemDetail:
    problem = await problem_service.get_problem(session=session, problem_id=problem_id)
    return await presenting.detail(session=session, problem=problem)


@router.post(
    "/{problem_id:uuid}/merge",
    response_model=ProblemDetail,
    summary="Fold another problem into this one",
    responses=NOT_ACTIVE,
)
async def merge_problems(
    problem_id: ProblemId,
    body: MergeRequest,
    runtime: RuntimeDep,
    caller: Ops,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, object]:
        problem = await operations.merge_problems(
            session=session, problem_id=problem_id, other_id=body.problem_id, settings=settings
        )
        return 200, (await presenting.detail(session=session, problem=problem)).model_dump(mode="json")

    return await _once(runtime, caller, f"/v1/problems/{problem_id}/merge", idempotency_key, body, write)


@router.post(
    "/{problem_id:uuid}/split",
    response_model=SplitResult,
    summary="Take wrongly grouped tickets out, for good",
    responses=NOT_ACTIVE,
)
async def split_problem(
    problem_id: ProblemId,
    body: SplitRequest,
    runtime: RuntimeDep,
    caller: Ops,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, object]:
        problem, new = await operations.split_problem(
            session=session,
            problem_id=problem_id,
            ticket_ids=body.ticket_ids,
            as_new_problem=body.as_new_problem,
            settings=settings,
        )
        result = SplitResult(
            problem=await presenting.detail(session=session, problem=problem), new_problem_id=new.id if new else None
        )
        return 200, result.model_dump(mode="json")

    return await _once(runtime, caller, f"/v1/problems/{problem_id}/split", idempotency_key, body, write)


@router.post(
    "/{problem_id:uuid}/resolve",
    response_model=ProblemDetail,
    summary="Resolve a problem: ProblemResolved, and every affected customer told once",
    responses=NOT_OPEN,
)
async def resolve_problem(
    problem_id: ProblemId,
    body: ResolveRequest,
    runtime: RuntimeDep,
    caller: Ops,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, object]:
        problem = await operations.resolve_problem(session=session, problem_id=problem_id, request=body)
        return 200, (await presenting.detail(session=session, problem=problem)).model_dump(mode="json")

    return await _once(runtime, caller, f"/v1/problems/{problem_id}/resolve", idempotency_key, body, write)


async def _once(
    runtime: RuntimeDep,
    caller: Principal,
    route: str,
    key: str | None,
    body: BaseModel,
    write: Callable[[AsyncSession], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    return await respond_once(
        runtime.database,
        scope=idempotency_scope(caller, f"POST {route}"),
        key=key,
        payload=body.model_dump(mode="json"),
        write=write,
    )
