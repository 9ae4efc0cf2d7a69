"""Knowledge events, published by the knowledge service on `firstcall.knowledge`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from shared.events import topics
from shared.events.base import Event, register

KnownIssueStatus = Literal["investigating", "workaround_available", "fix_available"]


class KnowledgeEvent(Event):
    topic = topics.KNOWLEDGE
    producer = "knowledge"


class ArticleEvent(KnowledgeEvent):
    article_id: UUID
    article_version: int = Field(ge=1)

    @property
    def aggregate_id(self) -> str:
        return str(self.article_id)


@register
class ArticlePublished(ArticleEvent):
    """A version of an article became the one readers see."""

    name = "article.published"
    summary = "An article version was published."

    title: str
    tags: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)
    locale: str
    published_at: datetime


@register
class ArticleUpdated(ArticleEvent):
    """An article got a new version (draft or published)."""

    name = "article.updated"
    summary = "An article was edited (a new version exists)."

    title: str
    status: Literal["draft", "published", "archived"]
    updated_at: datetime


@register
class ArticleArchived(ArticleEvent):
    """An article is no longer offered to agents."""

    name = "article.archived"
    summary = "An article was archived."

    archived_at: datetime


@register
class ArticleDraftProposed(ArticleEvent):
    """A resolved ticket with no article used became a draft article for a reviewer (knowledge-centred service)."""

    name = "article.draft_proposed"
    summary = "A draft article was proposed from a resolved ticket."

    ticket_id: UUID
    title: str
    proposed_at: datetime


class SuggestedArticle(BaseModel):
    article_id: UUID
    article_version: int
    title: str
    snippet: str
    score: float


class KnownIssueRef(BaseModel):
    known_issue_id: UUID
    title: str
    status: KnownIssueStatus
    workaround: str | None = None
    fix: str | None = None
    problem_id: UUID | None = None


@register
class KnowledgeSuggested(KnowledgeEvent):
    """The articles and known issue most likely to answer a ticket, for the agent's context."""

    name = "knowledge.suggested"
    summary = "Articles and a known issue were suggested for a ticket."

    ticket_id: UUID
    articles: list[SuggestedArticle]
    known_issue: KnownIssueRef | None = None
    computed_at: datetime

    @property
    def aggregate_id(self) -> str:
        return str(self.ticket_id)


@register
class KnownIssueUpdated(KnowledgeEvent):
    """A known issue was drafted or changed status (workaround or fix available): tell affected customers."""

    name = "known_issue.updated"
    summary = "A known issue was created or changed."

    known_issue_id: UUID
    revision: int = Field(ge=1, description="grows with every change, so consumers can ignore stale ones")
    problem_id: UUID | None
    title: str
    symptoms: str
    status: KnownIssueStatus
    workaround: str | None = None
    fix: str | None = None
    fix_version: str | None = None
    affected_products: list[str] = Field(default_factory=list)
    updated_at: datetime

    @property
    def aggregate_id(self) -> str:
        return str(self.known_issue_id)
