"""The resolution policy: may this agent do this now, does it need a supervisor, or is it impossible?

Pure rules over plain facts, checked in a fixed order so the answer always names the first rule that
decided it. Hard rules (nobody may break them) refuse; authority rules (a supervisor may lift them) ask for
approval; everything else executes at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from services.router import money
from services.router.tickets.life import RESOLVABLE_STATUSES

Outcome = Literal["execute", "approval", "refuse"]
MONEY_TYPES = frozenset({"refund", "return", "credit"})
NEEDS_ORDER = frozenset({"refund", "return", "replacement"})
ZERO = Decimal("0")


@dataclass(frozen=True)
class OrderFacts:
    order_id: uuid.UUID
    customer_id: uuid.UUID
    currency: str
    total: Decimal
    refunded: Decimal  # refunds, returns and credits already given against this order
    ordered_at: datetime

    @property
    def refundable(self) -> Decimal:
        return max(self.total - self.refunded, ZERO)


@dataclass(frozen=True)
class Request:
    type: str
    amount: Decimal
    currency: str | None
    order: OrderFacts | None


@dataclass(frozen=True)
class Situation:
    """Everything besides the request that the rules look at."""

    ticket_status: str
    customer_id: uuid.UUID
    agent_limits: dict[str, dict[str, Decimal]]
    customer_given: Decimal  # money given to this customer in the cap period, in the request's currency
    customer_cap: dict[str, Decimal]
    return_window_days: int
    now: datetime


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    rule: str
    explanation: str


def decide(request: Request, situation: Situation) -> Verdict:
    """The first rule that applies, in order: hard rules, then authority rules, else execute."""
    return hard_rule(request, situation) or authority_rule(request, situation) or _execute(request)


def hard_rule(request: Request, situation: Situation) -> Verdict | None:
    """Rules no one may lift: the request is refused with the rule named."""
    order, amount = request.order, request.amount
    if situation.ticket_status not in RESOLVABLE_STATUSES:
        return _refuse("ticket-not-open", f"the ticket is {situation.ticket_status.replace('_', ' ')}")
    if request.type == "answer":
        return _refuse("answer-has-no-amount", "an answer moves no money") if amount > ZERO else None
    if amount <= ZERO and request.type != "replacement":
        return _refuse("amount-not-positive", "the amount must be greater than zero")
    if request.type in NEEDS_ORDER and order is None:
        return _refuse("order-required", f"a {request.type} needs the order it is for")
    if order is None:
        return None
    if order.customer_id != situation.customer_id:
        return _refuse("order-of-another-customer", "the order belongs to another customer")
    if request.currency != order.currency:
        return _refuse("currency-mismatch", f"the order is in {order.currency}, not {request.currency}")
    if request.type in MONEY_TYPES and amount > order.refundable:
        return _refuse(
            "over-refund",
            f"{_money(amount, order.currency)} is more than the {_money(order.refundable, order.currency)} "
            "still refundable on the order",
        )
    if request.type == "replacement" and amount > order.total:
        return _refuse("over-order-value", "a replacement cannot be worth more than the order")
    return None


def authority_rule(request: Request, situation: Situation) -> Verdict | None:
    """Rules a supervisor may lift: the request waits for approval, the agent keeps the ticket."""
    currency = request.currency or ""
    order = request.order
    if request.type in ("return", "refund") and order is not None:
        deadline = order.ordered_at + timedelta(days=situation.return_window_days)
        if situation.now > deadline:
            return Verdict(
                "approval",
                "return-window",
                f"the {situation.return_window_days}-day window closed on {deadline.date().isoformat()}",
            )
    limit = situation.agent_limits.get(request.type, {}).get(currency, ZERO)
    if request.type != "answer" and request.amount > limit:
        return Verdict(
            "approval",
            "agent-authority",
            f"{_money(request.amount, currency)} is above your {request.type} limit of {_money(limit, currency)}",
        )
    if request.type in MONEY_TYPES:
        cap = situation.customer_cap.get(currency, ZERO)
        if situation.customer_given + request.amount > cap:
            return Verdict(
                "approval",
                "customer-cap",
                f"the customer would get {_money(situation.customer_given + request.amount, currency)} this "
                f"period; the cap is {_money(cap, currency)}",
            )
    return None


def headroom(resolution_type: str, currency: str, situation: Situation, order: OrderFacts | None) -> Decimal:
    """The largest amount of this type the agent could give now without a supervisor."""
    limit = situation.agent_limits.get(resolution_type, {}).get(currency, ZERO)
    if resolution_type in MONEY_TYPES:
        limit = min(limit, max(situation.customer_cap.get(currency, ZERO) - situation.customer_given, ZERO))
        if order is not None:
            limit = min(limit, order.refundable)
    return limit


def _execute(request: Request) -> Verdict:
    return Verdict("execute", "within-authority", f"the {request.type} is within your authority")


def _refuse(rule: str, explanation: str) -> Verdict:
    return Verdict("refuse", rule, explanation)


def _money(amount: Decimal, currency: str) -> str:
    return f"{money.written(amount, currency)} {currency}"
