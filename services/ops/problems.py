"""`firstcall problems list|show`: the notifier's problems, read through its public API.

The API rather than the notifier's tables: its answer is a documented, versioned contract (docs/notifier.md),
while the tables are the notifier's to change. It also works from anywhere ops can reach the service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from services.ops import render
from services.ops.api import ServiceApi

SUMMARY_WIDTH = 60
MAX_LIST = 200  # the API's own bound on a page


async def list_problems(
    notifier: ServiceApi, *, status: str | None, severity: str | None, limit: int
) -> list[dict[str, Any]]:
    answer = await notifier.get("/v1/problems", {"status": status, "severity": severity, "limit": limit})
    items: list[dict[str, Any]] = answer["items"]
    return items


async def get_problem(notifier: ServiceApi, problem_id: str) -> dict[str, Any]:
    problem: dict[str, Any] = await notifier.get(f"/v1/problems/{problem_id}")
    return problem


def _since(value: str | None, now: datetime) -> str:
    if not value:
        return render.EMPTY
    return render.age((now - datetime.fromisoformat(value)).total_seconds()) + " ago"


def problems_table(items: Sequence[Mapping[str, Any]], now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    rows = [
        (
            p["id"],
            p["status"],
            p["severity"],
            p["customer_count"],
            p["report_count"],
            round(float(p["growth_per_hour"]), 1),
            _since(p.get("last_seen"), now),
            render.short(p.get("summary_text") or "", SUMMARY_WIDTH),
        )
        for p in items
    ]
    headers = ("problem", "status", "severity", "customers", "reports", "growth/h", "last report", "summary")
    return render.table(headers, rows) if rows else "no problems"


def problem_text(problem: Mapping[str, Any], now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    issue = problem.get("known_issue") or {}
    facts = [
        ("problem", problem["id"]),
        ("status", f"{problem['status']} ({problem['severity']})"),
        ("summary", problem.get("summary_text")),
        ("size", f"{problem['customer_count']} customers, {problem['report_count']} reports"),
        ("growth", f"{float(problem['growth_per_hour']):.1f} customers/hour"),
        ("first report", f"{problem['first_seen']} ({_since(problem['first_seen'], now)})"),
        ("last report", f"{problem['last_seen']} ({_since(problem['last_seen'], now)})"),
        ("detected", problem.get("detected_at")),
        ("escalated", problem.get("escalated_at")),
        ("resolved", problem.get("resolved_at")),
        ("resolution", problem.get("resolution")),
        ("known issue", f"{issue['title']} ({issue['status']})" if issue else None),
        ("merged into", problem.get("merged_into")),
        ("intents", ", ".join(problem.get("intents") or []) or None),
        ("products", ", ".join(problem.get("products") or []) or None),
    ]
    width = max(len(label) for label, _ in facts)
    lines = [f"{label.ljust(width)}  {render.cell_text(value)}" for label, value in facts]
    members = problem.get("members") or []
    if members:
        rows = [
            (m["ticket_id"], m["customer_id"], m["channel"], m["opened_at"], render.short(m["subject"], 40))
            for m in members
        ]
        lines += ["", render.table(("ticket", "customer", "channel", "opened", "subject"), rows)]
    return "\n".join(lines)
