"""Reading what agents typed into RT's firstcall fields: a resolution request, or what is wrong with it.

Everything is checked before anything is sent to firstcall, and every problem is named, so that the
agent reads in one comment all there is to correct.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

RESOLUTION_FIELDS = ("resolution", "amount", "currency", "order", "reason")
RESOLUTION_TYPES = ("return", "refund", "credit", "replacement", "answer")
MONEY_TYPES = ("refund", "credit")
TRANSFER_REASONS = ("missing_skill", "missing_authority", "wrong_intent", "customer_request", "other")
MAX_AMOUNT = Decimal("1000000000")
_AMOUNT = re.compile(r"^\d{1,10}([.,]\d{1,2})?$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


@dataclass(frozen=True)
class ResolutionRequest:
    type: str
    amount: Decimal
    currency: str | None
    order: str | None  # an order's id, or its reference in the shop (SO-1): the bridge finds the id
    reason: str


def parse_resolution(fields: Mapping[str, str | None], *, default_reason: str) -> ResolutionRequest | list[str]:
    """The resolution the fields ask for, or every problem found in them."""
    problems: list[str] = []
    kind = _clean(fields.get("resolution")).lower()
    if kind not in RESOLUTION_TYPES:
        problems.append(f"firstcall resolution {kind!r} is not one of {', '.join(RESOLUTION_TYPES)}")
    amount_text = _clean(fields.get("amount"))
    amount = _amount(amount_text, problems)
    currency = _clean(fields.get("currency")).upper() or None
    if currency is not None and not _CURRENCY.match(currency):
        problems.append(f"firstcall currency {currency!r} is not a three-letter currency code like EUR")
    if amount_text and currency is None:
        problems.append("firstcall currency is empty: an amount needs its currency")
    if kind in MONEY_TYPES and not amount_text:
        problems.append(f"firstcall amount is empty: a {kind} needs an amount")
    order = _clean(fields.get("order")) or None
    if order is not None and len(order) > 100:
        problems.append("firstcall order is longer than 100 characters")
    reason = _clean(fields.get("reason"))
    if not reason and kind in (*MONEY_TYPES, "return", "replacement"):
        problems.append(f"firstcall reason is empty: say why the customer gets a {kind}")
    if len(reason) > 2000:
        problems.append("firstcall reason is longer than 2000 characters")
    if problems:
        return problems
    return ResolutionRequest(kind, amount, currency, order, reason or default_reason)


def transfer_reason(value: str | None) -> tuple[str, str | None]:
    """The transfer reason the field gives (`other` when empty), and a remark when it was not understood."""
    reason = _clean(value).lower()
    if not reason:
        return "other", None
    if reason in TRANSFER_REASONS:
        return reason, None
    return "other", f"firstcall transfer reason {reason!r} was not understood: recorded as other"


def _amount(text: str, problems: list[str]) -> Decimal:
    if not text:
        return Decimal("0")
    if not _AMOUNT.match(text):
        problems.append(f"firstcall amount {text!r} is not an amount like 25.00")
        return Decimal("0")
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        problems.append(f"firstcall amount {text!r} is not an amount like 25.00")
        return Decimal("0")
    if value >= MAX_AMOUNT:
        problems.append(f"firstcall amount {text!r} is too large")
        return Decimal("0")
    return value.quantize(Decimal("0.01"))


def _clean(value: str | None) -> str:
    return (value or "").strip()
