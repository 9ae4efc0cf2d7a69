"""/v1/known-issues: problems many customers hit, and whether a workaround or fix exists yet."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.api.access import KNOWN_ISSUES, READ
from services.knowledge.api.deps import LOCATION, conflict, idempotent_write, only_params
from services.knowledge.known_issues import service as known_issue_service
from services.knowledge.known_issues.schemas import (
    KnownIssueCreate,
    KnownIssuePage,
    KnownIssueRead,
    KnownIssueUpdate,
)
from shared.events.catalogue import KnownIssueStatus
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey
from shared.web.pagination import next_page_link

router = APIRouter(prefix="/v1/known-issues", tags=["known issues"], dependencies=[READ])


def _location(body: Any) -> str | None:
    return f"/v1/known-issues/{body['id']}" if isinstance(body, dict) and "id" in body else None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=KnownIssueRead,
    summary="Record a known issue",
    dependencies=[KNOWN_ISSUES],
    responses={
        201: {"description": "The known issue, recorded now (revision 1)", "headers": LOCATION},
        **conflict(
            "`known-issue-exists`: the problem named in `problem_id` has its known issue already (one per problem)",
            slug="known-issue-exists",
            detail="Problem 0b6f3a52-8a7e-4d47-9f0e-3c2d1a4b5e60 already has a known issue.",
        ),
    },
)
async def create_known_issue(
    body: KnownIssueCreate, runtime: RuntimeDep, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, Any]:
        issue = await known_issue_service.create_known_issue(session=session, request=body)
        return status.HTTP_201_CREATED, KnownIssueRead.model_validate(issue).model_dump(mode="json")

    return await idempotent_write(
        runtime,
        request,
        method="POST",
        route="/v1/known-issues",
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
        location=_location,
    )


@router.get("", response_model=KnownIssuePage, summary="Known issues, most recently changed first (cursor pages)")
async def list_known_issues(
    request: Request,
    response: Response,
    session: SessionDep,
    _: Annotated[None, Depends(only_params("status", "limit", "cursor"))],
    status_filter: Annotated[KnownIssueStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> KnownIssuePage:
    issues, next_cursor = await known_issue_service.list_known_issues(
        session=session, status=status_filter, cursor=cursor, limit=limit
    )
    next_page_link(request, response, next_cursor)
    return KnownIssuePage(items=[KnownIssueRead.model_validate(i) for i in issues], next_cursor=next_cursor)


@router.get("/{issue_id:uuid}", response_model=KnownIssueRead, summary="Read a known issue")
async def get_known_issue(issue_id: uuid.UUID, session: SessionDep) -> KnownIssueRead:
    return KnownIssueRead.model_validate(await known_issue_service.get_known_issue(session=session, issue_id=issue_id))


@router.patch(
    "/{issue_id:uuid}",
    dependencies=[KNOWN_ISSUES],
    response_model=KnownIssueRead,
    summary="Change a known issue (status, workaround, fix), if `revision` is the latest (409 otherwise)",
    responses=conflict(
        "`stale-revision`: `revision` is not the latest (`current_revision` names it: read the known issue again "
        "and reapply the change)",
        slug="stale-revision",
        detail="Revision 1 is not the latest (2): read it again and reapply.",
        current_revision=2,
    ),
)
async def update_known_issue(
    issue_id: uuid.UUID,
    body: KnownIssueUpdate,
    runtime: RuntimeDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, Any]:
        issue = await known_issue_service.update_known_issue(session=session, issue_id=issue_id, request=body)
        return status.HTTP_200_OK, KnownIssueRead.model_validate(issue).model_dump(mode="json")

    return await idempotent_write(
        runtime,
        request,
        method="PATCH",
        route=f"/v1/known-issues/{issue_id}",
        key=idempotency_key,
        payload=body.model_dump(mode="json", exclude_unset=True),
        write=write,
    )
