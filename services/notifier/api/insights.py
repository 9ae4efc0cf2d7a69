"""/v1/insights: shared insight for a time range (ops and supervisors)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from services.notifier.api.deps import Instant
from services.notifier.feedback import insights as insight_service
from shared.errors import invalid
from shared.web.app import SessionDep
from shared.web.auth import Principal, Scope, require

router = APIRouter(prefix="/v1/insights", tags=["feedback"])
Supervising = Annotated[Principal, Depends(require(Scope.OPS, Scope.SUPERVISOR))]
MAX_RANGE = timedelta(days=366)
DEFAULT_RANGE = timedelta(days=7)


class ProblemInsight(BaseModel):
    id: uuid.UUID
    summary: str
    status: str
    severity: str
    customers: int
    growth_per_hour: float
    resolution: str | None


class FeedbackInsight(BaseModel):
    id: uuid.UUID
    summary: str
    owner: str
    unowned: bool
    customers: int
    status: str = Field(description="`open` (waiting for its owner) or `decided`")
    decision: str | None
    change: str | None
    reason: str | None
    decided_at: datetime | None
    escalated_to: str | None


class FirstContactFigures(BaseModel):
    answered: int = Field(description="questions answered in the range")
    counted_by_firstcall: int = Field(description="of those, tickets the router counted as resolved at first contact")
    said_by_customers: int = Field(description="of those, tickets whose customer said it was")
    fcr_rate_firstcall: float | None
    fcr_rate_customers: float | None
    gap: float | None = Field(description="firstcall's rate minus the customers' (positive: firstcall counts more)")
    disputed: int = Field(description="counted as first contact, and the customer said no")


class FirstContactInsight(FirstContactFigures):
    by_intent: dict[str, FirstContactFigures]
    by_team: dict[str, FirstContactFigures]
    by_channel: dict[str, FirstContactFigures]


class TransferInsight(BaseModel):
    total: int = Field(description="transfers in the range: first contacts that did not resolve")
    by_reason: dict[str, int] = Field(description="reason -> transfers, most frequent first")
    by_intent: dict[str, dict[str, int]] = Field(description="the intent the ticket was opened with -> reason -> n")
    by_team: dict[str, dict[str, int]] = Field(description="the team of the agent it left -> reason -> transfers")
    by_channel: dict[str, dict[str, int]] = Field(description="channel -> reason -> transfers")


class Insights(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "from": "2026-12-01T00:00:00Z",
                    "to": "2026-12-08T00:00:00Z",
                    "top_problems": [],
                    "top_feedback": [],
                    "feedback_waiting_for_a_decision": 3,
                    "feedback_waiting_for_an_owner": 1,
                    "first_contact": {
                        "answered": 40,
                        "counted_by_firstcall": 34,
                        "said_by_customers": 29,
                        "fcr_rate_firstcall": 0.85,
                        "fcr_rate_customers": 0.725,
                        "gap": 0.125,
                        "disputed": 5,
                        "by_intent": {},
                        "by_team": {},
                        "by_channel": {},
                    },
                    "transfers": {
                        "total": 7,
                        "by_reason": {"missing_skill": 5, "wrong_intent": 2},
                        "by_intent": {"refund_request": {"missing_skill": 5}, "unknown": {"wrong_intent": 2}},
                        "by_team": {"payments": {"missing_skill": 5, "wrong_intent": 2}},
                        "by_channel": {"chat": {"missing_skill": 3, "wrong_intent": 2}, "email": {"missing_skill": 2}},
                    },
                }
            ]
        },
    )

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    top_problems: list[ProblemInsight] = Field(description="by customers affected, then growth")
    top_feedback: list[FeedbackInsight] = Field(description="by customers who gave it, with owner and decision")
    feedback_waiting_for_a_decision: int
    feedback_waiting_for_an_owner: int = Field(description="undecided feedback no mapping named an owner for")
    first_contact: FirstContactInsight
    transfers: TransferInsight


def insight_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The range asked for (default: the 7 days to now), or a 422 naming `query.from`."""
    end = end or datetime.now(UTC)
    start = start or end - DEFAULT_RANGE
    if start >= end:
        raise invalid("query.from", "the range starts before it ends")
    if end - start > MAX_RANGE:
        raise invalid("query.from", f"a range is at most {MAX_RANGE.days} days")
    return start, end


@router.get(
    "",
    response_model=Insights,
    response_model_by_alias=True,
    summary="What customers most needed in a range: top problems and feedback with owners and decisions, "
    "first contact resolution as firstcall counts it beside what customers answered, and transfers by reason",
)
async def get_insights(
    session: SessionDep,
    _: Supervising,
    start: Annotated[Instant | None, Query(alias="from", examples=["2026-12-01T00:00:00Z"])] = None,
    end: Annotated[Instant | None, Query(alias="to", examples=["2026-12-08T00:00:00Z"])] = None,
) -> Insights:
    start, end = insight_range(start, end)
    figures = await insight_service.insights(session=session, start=start, end=end)
    return Insights.model_validate({**figures, "from": figures.pop("from"), "to": figures.pop("to")})
