"""/v1/reports and /v1/tickets/{id}/similar: the reports the notifier indexed, and their near-duplicates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.notifier.api.deps import Reader, SettingsDep, TicketId
from services.notifier.detection import service as detection_service
from services.notifier.reports import service as report_service
from services.notifier.reports.schemas import ReportRead, SimilarReport, SimilarReports
from shared.web.app import SessionDep

router = APIRouter(tags=["reports"])


@router.get(
    "/v1/reports/{ticket_id:uuid}",
    response_model=ReportRead,
    summary="The report of a ticket as indexed for duplicate detection (404 until it has arrived)",
)
async def get_report(ticket_id: TicketId, session: SessionDep, _: Reader) -> ReportRead:
    return ReportRead.model_validate(await report_service.get_report(session=session, ticket_id=ticket_id))


@router.get(
    "/v1/tickets/{ticket_id:uuid}/similar",
    response_model=SimilarReports,
    summary="The reports from other customers most like this ticket's, within the window, best first",
    description=(
        "Best first: each report's words, meaning and closeness in time to this one ranked apart and mixed. "
        "`score` is the similarity of the texts alone (what clustering compares with its threshold), so the "
        "order is not always the scores' order."
    ),
)
async def similar_reports(
    ticket_id: TicketId,
    session: SessionDep,
    settings: SettingsDep,
    _: Reader,
    k: Annotated[int, Query(ge=1, le=100, description="how many reports to return")] = 10,
) -> SimilarReports:
    report = await report_service.get_report(session=session, ticket_id=ticket_id)
    config = detection_service.DetectionConfig.from_settings(settings)
    matches = await detection_service.find_similar(session=session, report=report, k=k, config=config)
    return SimilarReports(
        ticket_id=ticket_id,
        items=[
            SimilarReport(
                ticket_id=m.ticket_id,
                customer_id=m.customer_id,
                subject=m.subject,
                opened_at=m.opened_at,
                problem_id=m.cluster_id,
                score=m.score,
            )
            for m in matches
        ],
    )
