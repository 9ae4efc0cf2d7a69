"""Every ORM model of the helpdesk bridge, imported in one place for migrations."""

from services.helpdesk.db import Base
from services.helpdesk.effects.models import Effect
from services.helpdesk.erasure import ErasedCustomer
from services.helpdesk.feedback.models import FeedbackLink
from services.helpdesk.inbound.models import SyncCursor
from services.helpdesk.lease import Lease
from services.helpdesk.links.models import AgentLink, CustomerLink, TicketLink

__all__ = [
    "AgentLink",
    "Base",
    "CustomerLink",
    "Effect",
    "ErasedCustomer",
    "FeedbackLink",
    "Lease",
    "SyncCursor",
    "TicketLink",
]
