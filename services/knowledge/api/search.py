"""/v1/search: the answer to how a customer put it, ranked the same on every database."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import StringConstraints

from services.knowledge.api.access import READ
from services.knowledge.api.deps import ReplicaDep, only_params
from services.knowledge.articles.schemas import MAX_LABEL_CHARS
from services.knowledge.search import service as search_service
from services.knowledge.search.schemas import MAX_QUERY_CHARS, DocumentKind, SearchQuery, SearchResults
from shared.errors import invalid
from shared.web.app import SessionDep

router = APIRouter(prefix="/v1/search", tags=["search"], dependencies=[READ])
Facet = Annotated[list[Annotated[str, StringConstraints(max_length=MAX_LABEL_CHARS)]], Query(max_length=20)]


@router.get(
    "",
    response_model=SearchResults,
    summary="Ranked articles and known issues with snippets; typos, paraphrase and missing words welcome",
)
async def search(
    session: SessionDep,
    replica: ReplicaDep,
    _: Annotated[None, Depends(only_params("q", "product", "tag", "locale", "kind", "limit", "cursor"))],
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_CHARS,
            description="the customer's words",
            examples=["card declined but I have money"],
        ),
    ],
    product: Facet = [],  # noqa: B006 - FastAPI copies defaults per request
    tag: Facet = [],  # noqa: B006
    locale: Facet = [],  # noqa: B006
    kind: DocumentKind | None = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> SearchResults:
    if not q.strip():
        raise invalid("query.q", "must contain words", type="string_blank")
    query = SearchQuery(
        q=q.strip(),
        products=tuple(sorted({p.lower() for p in product})),
        tags=tuple(sorted({t.lower() for t in tag})),
        locales=tuple(sorted({loc.lower() for loc in locale})),
        kind=kind,
        limit=limit,
        cursor=cursor,
    )
    return await search_service.search(session=session, replica=replica, query=query)
