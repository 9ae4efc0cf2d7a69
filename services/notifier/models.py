"""Every ORM model of the notifier, imported in one place for migrations."""

from services.notifier.db import Base
from services.notifier.reports.models import Report

__all__ = ["Base", "Report"]
