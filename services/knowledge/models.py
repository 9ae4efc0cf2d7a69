"""Every ORM model of the knowledge service, imported in one place for migrations."""

from services.knowledge.articles.models import Article, ArticleVersion
from services.knowledge.db import Base
from services.knowledge.feedback.models import ArticleFeedback
from services.knowledge.known_issues.models import KnownIssue, KnownIssueTicket
from services.knowledge.search.models import SearchChange
from services.knowledge.suggestions.models import TicketSuggestion

__all__ = [
    "Article",
    "ArticleFeedback",
    "ArticleVersion",
    "Base",
    "KnownIssue",
    "KnownIssueTicket",
    "SearchChange",
    "TicketSuggestion",
]
