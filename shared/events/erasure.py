"""The erasure of a customer (right to erasure), published by the router on `firstcall.customers`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from shared.events.base import register
from shared.events.customers import CustomerEvent


@register
class CustomerErased(CustomerEvent):
    """A customer exercised the right to erasure: every service removes or anonymises what it holds of them.

    It carries no personal data, only ids: each service finds the customer's rows by `customer_id` and by
    the ids of the profiles merged into it (their rows kept the id they were written under).
    """

    name = "customer.erased"
    summary = "A customer's personal data is to be erased in every service (right to erasure)."

    erasure_id: UUID = Field(description="the router's erasure record, the audit of the request")
    merged_customer_ids: list[UUID] = Field(
        default_factory=list, max_length=1000, description="profiles merged into this one: erased with it"
    )
    requested_at: datetime
