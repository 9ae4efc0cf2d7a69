"""Every ORM model of the knowledge service, imported in one place for migrations."""

from services.knowledge.db import Base
from services.knowledge.suggestions.models import TicketSuggestion

__all__ = ["Base", "TicketSuggestion"]
