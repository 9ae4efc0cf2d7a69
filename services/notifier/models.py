"""Every ORM model of the notifier, imported in one place for migrations."""

from services.notifier.customers.models import CustomerContact, MessageTemplate
from services.notifier.db import Base
from services.notifier.delivery.models import Delivery, DeliveryAttempt, EndpointCircuit
from services.notifier.detection.models import DetectionModel, ReportBucket, ReportTerm, TermStat
from services.notifier.insights.models import DigestPeriod, TicketTransfer
from services.notifier.knowledge.models import Article, KnownIssue
from services.notifier.problems.models import Problem, ProblemExclusion
from services.notifier.reports.models import Report
from services.notifier.subscriptions.models import Subscription

__all__ = [
    "Article",
    "Base",
    "CustomerContact",
    "Delivery",
    "DeliveryAttempt",
    "DetectionModel",
    "DigestPeriod",
    "EndpointCircuit",
    "KnownIssue",
    "MessageTemplate",
    "Problem",
    "ProblemExclusion",
    "Report",
    "ReportBucket",
    "ReportTerm",
    "Subscription",
    "TermStat",
    "TicketTransfer",
]
