"""Customer, order and agent events, published by the router."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from shared.events import topics
from shared.events.base import Event, register

IdentityKind = Literal["email", "phone", "external_id"]


class Identity(BaseModel):
    kind: IdentityKind
    value: str


class CustomerEvent(Event):
    topic = topics.CUSTOMERS
    producer = "router"

    customer_id: UUID

    @property
    def aggregate_id(self) -> str:
        return str(self.customer_id)


@register
class CustomerRegistered(CustomerEvent):
    """A caller nobody knew became a customer profile."""

    name = "customer.registered"
    summary = "A new customer profile was created."

    display_name: str | None
    identities: list[Identity]
    registered_at: datetime


@register
class CustomerIdentityLinked(CustomerEvent):
    """A known customer turned up with a new email, phone number or external id."""

    name = "customer.identity_linked"
    summary = "An identity was linked to an existing customer."

    identity: Identity
    linked_at: datetime


@register
class CustomersMerged(CustomerEvent):
    """Two profiles were one person: everything of the merged one now belongs to `customer_id`."""

    name = "customer.merged"
    summary = "Two customer profiles were merged into one."

    merged_customer_id: UUID
    moved: dict[str, int] = Field(description="how many tickets, orders, ledger entries... moved")
    actor: str
    reason: str | None = None
    merged_at: datetime
    merge_id: UUID | None = Field(None, description="the merge's record, which CustomersUnmerged names if undone")


@register
class CustomersUnmerged(CustomerEvent):
    """A merge was undone: what had moved into `customer_id` is back with `restored_customer_id`."""

    name = "customer.unmerged"
    summary = "A merge of two customer profiles was undone; both profiles are restored."

    restored_customer_id: UUID = Field(description="the profile that had been merged away, live again")
    merge_id: UUID
    moved_back: dict[str, int] = Field(description="how many identities, tickets, orders... went back")
    actor: str
    reason: str
    unmerged_at: datetime


@register
class CustomerIdentityRemoved(CustomerEvent):
    """An identity was taken off a customer (linked to the wrong person): it no longer finds them."""

    name = "customer.identity_removed"
    summary = "An identity was removed from a customer; it no longer recognises them."

    identity: Identity
    actor: str
    reason: str | None = None
    removed_at: datetime


class BriefingItem(BaseModel):
    kind: str
    id: UUID
    summary: str
    at: datetime


@register
class AccountOwnerChanged(CustomerEvent):
    """A customer has a new account owner, who receives a handoff briefing of history and open items."""

    name = "customer.owner_changed"
    summary = "A customer's account owner changed; carries the handoff briefing."

    previous_owner_id: UUID | None
    owner_id: UUID | None
    briefing: str = Field(description="a readable summary of the customer's history")
    open_items: list[BriefingItem] = Field(default_factory=list)
    recent: list[BriefingItem] = Field(default_factory=list)
    changed_at: datetime


@register
class OrderRecorded(CustomerEvent):
    """An order reached the router (API or commerce system), so its returns and refunds can be resolved."""

    name = "order.recorded"
    summary = "An order was recorded for a customer."

    order_id: UUID
    external_ref: str | None
    total: Decimal
    currency: str = Field(min_length=3, max_length=3)
    ordered_at: datetime


class AgentEvent(Event):
    topic = topics.AGENTS
    producer = "router"

    agent_id: UUID

    @property
    def aggregate_id(self) -> str:
        return str(self.agent_id)


AgentStatus = Literal["available", "busy", "away", "offline"]


@register
class AgentRegistered(AgentEvent):
    """A new agent can take tickets."""

    name = "agent.registered"
    summary = "An agent was registered."

    display_name: str
    team: str | None
    skills: dict[str, int] = Field(description="skill -> level (1-5)")
    status: AgentStatus
    registered_at: datetime


@register
class AgentUpdated(AgentEvent):
    """An agent's status, skills, capacity, authority or team changed."""

    name = "agent.updated"
    summary = "An agent's profile or status changed."

    status: AgentStatus
    changed: list[str]
    updated_at: datetime


class OrderLine(BaseModel):
    sku: str = Field(max_length=100)
    description: str = Field(max_length=300)
    quantity: int = Field(ge=1)
    unit_price: Decimal = Field(ge=0, max_digits=14, decimal_places=2)


@register
class OrderPlaced(Event):
    """Inbound contract for commerce systems: publish this on `firstcall.commerce.orders` and the router
    records the order (idempotent on `system` + `external_ref`), matched to the customer by identities."""

    name = "commerce.order_placed"
    producer = "commerce"
    topic = topics.COMMERCE
    summary = "A commerce system reports an order (consumed by the router)."

    system: str = Field(max_length=40, description="the commerce system's name", examples=["shop"])
    external_ref: str = Field(max_length=100)
    customer_email: str | None = None
    customer_phone: str | None = None
    customer_external_id: str | None = None
    customer_name: str | None = None
    currency: str = Field(pattern="^[A-Z]{3}$")
    lines: list[OrderLine] = Field(min_length=1)
    ordered_at: datetime
    delivered_at: datetime | None = None

    @property
    def aggregate_id(self) -> str:
        return f"{self.system}:{self.external_ref}"
