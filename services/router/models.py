"""Every ORM model of the router, imported in one place so its metadata is complete for migrations."""

from services.router.agents.models import Agent
from services.router.classification.models import IntentExample, IntentModel, IntentProfile
from services.router.context.models import KnownIssueStatus, ProblemSnapshot, TicketKnowledge
from services.router.customers.models import Customer, CustomerIdentity
from services.router.db import Base
from services.router.history.models import Activity
from services.router.ledger.models import Approval, LedgerEntry
from services.router.orders.models import Order, OrderItem
from services.router.routing.models import RoutingDecision
from services.router.tickets.models import Ticket, TicketNote, Transfer

__all__ = [
    "Activity",
    "Agent",
    "Approval",
    "Base",
    "Customer",
    "CustomerIdentity",
    "IntentExample",
    "IntentModel",
    "IntentProfile",
    "KnownIssueStatus",
    "LedgerEntry",
    "Order",
    "OrderItem",
    "ProblemSnapshot",
    "RoutingDecision",
    "Ticket",
    "TicketKnowledge",
    "TicketNote",
    "Transfer",
]
