"""What every fault must leave behind: nothing lost, nothing applied twice, everything ready, all drained.

Every broken promise is listed, not just the first, so one failed run says all that went wrong.
"""

from __future__ import annotations

from tests.faults.campaign import OUTAGE_CUSTOMERS, Phase
from tests.faults.census import Census
from tests.faults.results import ROWS, Row


def record_and_judge(row: Row, phase: Phase, census: Census) -> None:
    ROWS.append(row)
    print(f"\n{row.markdown()}")
    broken = lost(row) + doubled(row, phase, census)
    if row.drained_after is None:
        broken.append(f"backlog not drained: outbox pending {census.outbox_pending}")
    assert not broken, f"{row.fault}:\n- " + "\n- ".join(broken) + phase.stack.fleet.trouble()


def lost(row: Row) -> list[str]:
    broken = []
    if row.accepted != row.sent:
        broken.append(f"{row.sent - row.accepted} of {row.sent} tickets never accepted")
    for where, count in (
        ("tickets in the router", row.in_router),
        ("reports in the notifier", row.reports),
        ("suggestion records in knowledge", row.suggestions),
        ("suggestions at the router", row.suggestions_at_router),
    ):
        if count < row.accepted:
            broken.append(f"{where}: {count} for {row.accepted} tickets accepted")
    if row.ledger_entries < row.credits:
        broken.append(f"ledger: {row.ledger_entries} entries for {row.credits} credits executed")
    if row.dead_lettered:
        broken.append(f"{row.dead_lettered} events dead-lettered (taken out of the flow until ops replay them)")
    return broken


def doubled(row: Row, phase: Phase, census: Census) -> list[str]:
    broken = []
    if row.most_per_key > 1 or row.in_router > row.accepted:
        twice = [key for key, count in census.tickets_per_key.items() if count > 1]
        broken.append(f"tickets opened twice for one Idempotency-Key: {twice}")
    if row.most_per_credit > 1:
        broken.append(f"ledger entries per credit: {dict(census.ledger_per_ticket)}")
    if phase.problem_id is None:
        broken.append(f"the outage never became a problem; its reports' clusters: {phase.undetected}")
    notices = 2 * OUTAGE_CUSTOMERS
    if row.notices_decided != notices or any(status != "sent" for _, _, status in census.notices):
        broken.append(f"notices decided for the problem: {dict(census.notices)} (expected {notices}, all sent)")
    delivered = phase.stack.center.deliveries_per_notice(phase.problem_id or "")
    if row.most_per_notice > 1 or len(delivered) != notices:
        broken.append(f"distinct notices per customer and kind at the receiver: {dict(delivered)}")
    if row.problem_kept != row.problem_counted:
        broken.append(f"the problem's counts {row.problem_kept} disagree with its reports {row.problem_counted}")
    return broken
