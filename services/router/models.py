"""Every ORM model of the router, imported in one place so its metadata is complete for migrations."""

from services.router.customers.models import Customer, CustomerIdentity
from services.router.db import Base
from services.router.tickets.models import Ticket

__all__ = ["Base", "Customer", "CustomerIdentity", "Ticket"]
