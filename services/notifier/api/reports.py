"""/v1/reports: the customer reports the notifier has indexed."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.notifier.reports import service as report_service
from services.notifier.reports.schemas import ReportRead
from shared.web.app import SessionDep

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get(
    "/{ticket_id}",
    response_model=ReportRead,
    summary="The report of a ticket as indexed for duplicate detection (404 until it has arrived)",
)
async def get_report(ticket_id: uuid.UUID, session: SessionDep) -> ReportRead:
    return ReportRead.model_validate(await report_service.get_report(session=session, ticket_id=ticket_id))
