"""Orders as contact-center software or a commerce system reports them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from services.router.customers.schemas import CustomerRef
from services.router.inputs import Instant, Integer
from services.router.money import MAX_AMOUNT, Amount, Currency, exact, written


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=100)
    description: str = Field(min_length=1, max_length=300)
    quantity: Integer = Field(ge=1, le=100_000)
    unit_price: Amount


class OrderCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer": {"email": "ada@example.com"},
                    "source": "shop",
                    "external_ref": "SO-10042",
                    "currency": "EUR",
                    "lines": [{"sku": "KB-1", "description": "Keyboard", "quantity": 1, "unit_price": "79.90"}],
                    "ordered_at": "2026-11-02T10:15:00Z",
                }
            ]
        },
    )

    customer: CustomerRef | None = Field(None, description="identities of the buyer (or give customer_id)")
    customer_id: uuid.UUID | None = None
    source: str = Field("api", min_length=1, max_length=40, description="the system the order comes from")
    external_ref: str | None = Field(None, min_length=1, max_length=100, description="its order number there")
    currency: Currency
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)
    total: Amount | None = Field(None, description="defaults to the sum of the lines; if given, must match it")
    ordered_at: Instant
    delivered_at: Instant | None = None

    @field_validator("lines")
    @classmethod
    def _lines_in_minor_units(cls, lines: list[OrderLineIn], info: ValidationInfo) -> list[OrderLineIn]:
        currency = info.data.get("currency")
        if currency is None:
            return lines  # the currency itself is refused
        for number, line in enumerate(lines):
            try:
                line.unit_price = exact(line.unit_price, currency)
            except ValueError as exc:
                raise ValueError(f"line {number}: unit_price: {exc}") from exc
        if sum((line.unit_price * line.quantity for line in lines), Decimal("0")) > MAX_AMOUNT:
            raise ValueError(f"the order's total is above {MAX_AMOUNT} {currency}")
        return lines

    @field_validator("total")
    @classmethod
    def _total_in_minor_units(cls, total: Decimal | None, info: ValidationInfo) -> Decimal | None:
        currency = info.data.get("currency")
        return total if total is None or currency is None else exact(total, currency)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.customer is None) == (self.customer_id is None):
            raise ValueError("give exactly one of customer or customer_id")
        computed = sum((line.unit_price * line.quantity for line in self.lines), Decimal("0"))
        if self.total is not None and self.total != computed:
            raise ValueError(f"total {self.total} does not match the lines ({computed})")
        if self.ordered_at.tzinfo is None:
            raise ValueError("ordered_at needs a timezone")
        return self

    @property
    def computed_total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0"))


class OrderLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    description: str
    quantity: int
    unit_price: Decimal


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    source: str
    external_ref: str | None
    currency: str
    total: Decimal
    ordered_at: datetime
    delivered_at: datetime | None
    created_at: datetime
    lines: list[OrderLineRead] = Field(validation_alias="items")

    @model_validator(mode="after")
    def _in_minor_units(self) -> Self:
        """Written as the currency has them, whether read back or just created from what a client sent."""
        self.total = written(self.total, self.currency)
        for line in self.lines:
            line.unit_price = written(line.unit_price, self.currency)
        return self
