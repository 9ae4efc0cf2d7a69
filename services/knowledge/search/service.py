"""Searching the knowledge base: validated queries ranked on this replica's index, with snippets."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.articles.models import Article, ArticleVersion
from services.knowledge.known_issues.models import KnownIssue
from services.knowledge.search.ranking import Filters, Hit, Position
from services.knowledge.search.replica import SearchReplica
from services.knowledge.search.schemas import SearchHit, SearchQuery, SearchResults
from services.knowledge.search.snippets import PassageCache, Passages, snippet
from services.knowledge.search.sources import known_issue_document
from shared.web.pagination import decode_cursor, encode_cursor, invalid_cursor


async def search(*, session: AsyncSession, replica: SearchReplica, query: SearchQuery) -> SearchResults:
    """One page of ranked articles and known issues for the query, the same on every database."""
    filters = Filters(products=query.products, tags=query.tags, locales=query.locales, kind=query.kind)
    digest = _fingerprint(query)
    after = None
    if query.cursor is not None:
        key, last_id, cursor_digest = decode_cursor(query.cursor, 3)
        if cursor_digest != digest or not isinstance(key, float | int) or not isinstance(last_id, str):
            raise invalid_cursor("made for another query or other filters")
        after = Position(float(key), last_id)
    state = await replica.catch_up(session)
    hits, more = state.ranker.rank(query.q, filters, after=after, limit=query.limit)
    bodies = await bodies_of(session, hits)
    results = [_hit(hit, snippet(bodies.get(hit.entry.id, ""), query.q)) for hit in hits]
    next_cursor = encode_cursor(hits[-1].position.key, hits[-1].position.id, digest) if more and hits else None
    return SearchResults(query=query.q, results=results, next_cursor=next_cursor)


async def bodies_of(session: AsyncSession, hits: Sequence[Hit]) -> dict[uuid.UUID, str]:
    """The text behind each hit, read from the database (the index keeps no bodies, to stay small)."""
    articles = [(hit.entry.id, hit.entry.version) for hit in hits if hit.entry.kind == "article"]
    issues = [hit.entry.id for hit in hits if hit.entry.kind == "known_issue"]
    found = {article_id: body for article_id, (_, body) in (await _published_bodies(session, articles)).items()}
    if issues:
        for issue in await session.scalars(select(KnownIssue).where(KnownIssue.id.in_(issues))):
            found[issue.id] = known_issue_document(issue).body
    return found


async def article_passages(
    session: AsyncSession, cache: PassageCache, hits: Sequence[Hit]
) -> dict[uuid.UUID, Passages]:
    """The analysed passages of each article hit: from the cache, else its published body, read and kept."""
    found: dict[uuid.UUID, Passages] = {}
    missing: list[tuple[uuid.UUID, int]] = []
    for hit in hits:
        if hit.entry.kind != "article":
            continue
        if (cached := cache.get(hit.entry.id, hit.entry.version)) is not None:
            found[hit.entry.id] = cached
        else:
            missing.append((hit.entry.id, hit.entry.version))
    # Keyed by the version read, which is the hit's unless the index is a refresh behind the database.
    for article_id, (version, body) in (await _published_bodies(session, missing)).items():
        found[article_id] = cache.put(article_id, version, body)
    return found


async def _published_bodies(
    session: AsyncSession, articles: Sequence[tuple[uuid.UUID, int]]
) -> dict[uuid.UUID, tuple[int, str]]:
    if not articles:
        return {}
    rows = await session.execute(
        select(ArticleVersion.article_id, ArticleVersion.version, ArticleVersion.body)
        .join(Article, Article.id == ArticleVersion.article_id)
        .where(ArticleVersion.article_id.in_([article_id for article_id, _ in articles]))
        .where(ArticleVersion.version == Article.published_version)
    )
    return {row.article_id: (row.version, row.body) for row in rows}


def _hit(hit: Hit, text: str) -> SearchHit:
    entry = hit.entry
    return SearchHit(
        id=entry.id,
        kind=entry.kind,
        version=entry.version,
        title=entry.title,
        snippet=text,
        score=hit.score,
        exact=hit.exact,
        products=list(entry.products),
        tags=list(entry.tags),
        locale=entry.locale,
    )


def _fingerprint(query: SearchQuery) -> str:
    filters = [query.q, query.products, query.tags, query.locales, query.kind]
    return hashlib.sha256(orjson.dumps(filters)).hexdigest()[:16]
