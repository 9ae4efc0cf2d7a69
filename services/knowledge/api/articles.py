"""/v1/articles: writing, versioning, importing and rating the answers agents read.

Ids in paths are UUIDs by the route itself (`{article_id:uuid}`): `/v1/articles/import` is never read as an
article id (a method it does not take is a 405), and a path naming no UUID names nothing (404).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.api.access import EDIT, FEEDBACK, READ
from services.knowledge.api.deps import LOCATION, conflict, idempotent_write, only_params
from services.knowledge.articles import importer
from services.knowledge.articles import service as article_service
from services.knowledge.articles.schemas import (
    ArticleCreate,
    ArticleImportLine,
    ArticlePage,
    ArticleRead,
    ArticleStatus,
    ArticleUpdate,
    ArticleVersionList,
    ArticleVersionRead,
    ImportReport,
)
from services.knowledge.feedback import service as feedback_service
from services.knowledge.feedback.schemas import FeedbackCreate, FeedbackRead
from shared.web import conditional
from shared.web.app import RuntimeDep, SessionDep
from shared.web.conditional import ETAG_HEADER, PRECONDITION_FAILED, IfMatch
from shared.web.idempotency import IdempotencyKey
from shared.web.openapi import ndjson_body
from shared.web.pagination import next_page_link

router = APIRouter(prefix="/v1/articles", tags=["articles"], dependencies=[READ])
ARCHIVED = "`article-archived`: archived articles are not edited"


def _location(body: Any) -> str | None:
    return f"/v1/articles/{body['id']}" if isinstance(body, dict) and "id" in body else None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ArticleRead,
    summary="Write a new article",
    dependencies=[EDIT],
    responses={
        201: {"description": "The article, written now", "headers": LOCATION},
        **conflict(
            "`external-id-taken`: an article has this `external_id` already (`article_id` names it)",
            slug="external-id-taken",
            detail="Article 3f2b8c1e-6d4a-4e0f-9b7c-2a1d5e8f4c30 has external_id 'zendesk:1042': edit it (PATCH), or "
            "import to update it.",
            article_id="3f2b8c1e-6d4a-4e0f-9b7c-2a1d5e8f4c30",
        ),
    },
)
async def create_article(
    body: ArticleCreate, runtime: RuntimeDep, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, Any]:
        article = await article_service.create_article(session=session, request=body)
        return status.HTTP_201_CREATED, article.model_dump(mode="json")

    return await idempotent_write(
        runtime,
        request,
        method="POST",
        route="/v1/articles",
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
        location=_location,
    )


@router.get("", response_model=ArticlePage, summary="List articles in creation order (cursor pages)")
async def list_articles(
    request: Request,
    response: Response,
    session: SessionDep,
    _: Annotated[None, Depends(only_params("status", "limit", "cursor"))],
    status_filter: Annotated[ArticleStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ArticlePage:
    items, next_cursor = await article_service.list_articles(
        session=session, status=status_filter, cursor=cursor, limit=limit
    )
    next_page_link(request, response, next_cursor)
    return ArticlePage(items=items, next_cursor=next_cursor)


@router.post(
    "/import",
    dependencies=[EDIT],
    response_model=ImportReport,
    summary="Import articles from JSON lines, idempotent on `external_id` (all lines or none)",
    openapi_extra=ndjson_body(ArticleImportLine, description="one ArticleImportLine per line (at most 5,000)"),
    responses=conflict(
        f"A line's `external_id` names an archived article ({ARCHIVED}): nothing was imported",
        slug="article-archived",
        detail="Line 3: article 3f2b8c1e-6d4a-4e0f-9b7c-2a1d5e8f4c30 (zendesk:1042) is archived and cannot be "
        "re-imported.",
    ),
)
async def import_articles(
    request: Request, runtime: RuntimeDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    lines = importer.parse_lines(await request.body())

    async def write(session: AsyncSession) -> tuple[int, Any]:
        report = await importer.import_articles(session=session, lines=lines)
        return status.HTTP_200_OK, report.model_dump(mode="json")

    payload = [line.model_dump(mode="json") for _, line in lines]
    return await idempotent_write(
        runtime, request, method="POST", route="/v1/articles/import", key=idempotency_key, payload=payload, write=write
    )


@router.get(
    "/{article_id:uuid}",
    response_model=ArticleRead,
    summary="Read an article as readers see it",
    responses={200: {"headers": ETAG_HEADER}},
)
async def get_article(article_id: uuid.UUID, response: Response, session: SessionDep) -> ArticleRead:
    article = await article_service.get_article(session=session, article_id=article_id)
    response.headers["ETag"] = conditional.entity_tag(article)
    return article


@router.patch(
    "/{article_id:uuid}",
    dependencies=[EDIT],
    response_model=ArticleRead,
    summary="Edit an article: a new version, if `version` is the latest (409 otherwise) and If-Match holds (412)",
    responses={200: {"headers": ETAG_HEADER}, **PRECONDITION_FAILED}
    | conflict(
        "`stale-version`: `version` is not the latest (`current_version` names it: read the article again and "
        f"reapply the edit); {ARCHIVED}",
        slug="stale-version",
        detail="Version 2 is not the latest (3): read it again and reapply.",
        current_version=3,
    ),
)
async def update_article(
    article_id: uuid.UUID,
    body: ArticleUpdate,
    runtime: RuntimeDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, Any]:
        article = await article_service.update_article(
            session=session, article_id=article_id, request=body, expected=conditional.expected(if_match)
        )
        return status.HTTP_200_OK, article.model_dump(mode="json")

    response = await idempotent_write(
        runtime,
        request,
        method="PATCH",
        route=f"/v1/articles/{article_id}",
        key=idempotency_key,
        payload=body.model_dump(mode="json", exclude_unset=True),
        write=write,
    )
    if response.status_code == status.HTTP_200_OK:
        response.headers["ETag"] = conditional.entity_tag(orjson.loads(bytes(response.body)))
    return response


@router.get("/{article_id:uuid}/versions", response_model=ArticleVersionList, summary="Every version, oldest first")
async def list_versions(article_id: uuid.UUID, session: SessionDep) -> ArticleVersionList:
    versions = await article_service.list_versions(session=session, article_id=article_id)
    return ArticleVersionList(article_id=article_id, versions=[ArticleVersionRead.model_validate(v) for v in versions])


@router.post(
    "/{article_id:uuid}/feedback",
    dependencies=[FEEDBACK],
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackRead,
    summary="Say an article resolved a ticket, helped, or did not help (teaches ranking)",
)
async def give_feedback(
    article_id: uuid.UUID,
    body: FeedbackCreate,
    runtime: RuntimeDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, Any]:
        feedback = await feedback_service.record_feedback(session=session, article_id=article_id, request=body)
        return status.HTTP_201_CREATED, FeedbackRead.model_validate(feedback).model_dump(mode="json")

    return await idempotent_write(
        runtime,
        request,
        method="POST",
        route=f"/v1/articles/{article_id}/feedback",
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )
