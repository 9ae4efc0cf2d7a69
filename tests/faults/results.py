"""One row per fault, and the Markdown table the run prints at its end (the README's reliability section)."""

from __future__ import annotations

from dataclasses import dataclass

HEADER = (
    "| fault | what was hit | tickets sent / accepted | in router (most per key) | reports (notifier) "
    "| suggestions (knowledge / at router) | credits / ledger entries | notices decided / delivered / received "
    "| problem counts kept / counted | dead-lettered | client retries | all ready after | backlog drained after |\n"
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


@dataclass(frozen=True)
class Row:
    fault: str
    hit: str
    sent: int
    accepted: int
    in_router: int
    most_per_key: int
    reports: int
    suggestions: int
    suggestions_at_router: int
    credits: int
    ledger_entries: int
    most_per_credit: int
    notices_decided: int
    notices_delivered: int  # distinct deliveries the receiver took in
    notices_received: int  # requests it received, resends with the same delivery id included
    most_per_notice: int  # distinct deliveries per customer and kind, at most
    problem_kept: str
    problem_counted: str
    dead_lettered: int
    client_retries: int
    ready_after: float
    drained_after: float | None

    def markdown(self) -> str:
        drained = f"{self.drained_after:.1f} s" if self.drained_after is not None else "**not drained**"
        return (
            f"| {self.fault} | {self.hit} | {self.sent} / {self.accepted} | {self.in_router} ({self.most_per_key}) "
            f"| {self.reports} | {self.suggestions} / {self.suggestions_at_router} "
            f"| {self.credits} / {self.ledger_entries} "
            f"| {self.notices_decided} / {self.notices_delivered} / {self.notices_received} "
            f"| {self.problem_kept} / {self.problem_counted} | {self.dead_lettered} | {self.client_retries} "
            f"| {self.ready_after:.1f} s | {drained} |"
        )


ROWS: list[Row] = []


def table() -> str:
    return "\n".join([HEADER, *(row.markdown() for row in ROWS)])
