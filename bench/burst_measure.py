"""The burst benchmark's pure parts: what is sent when, the outage's words, the consumer lag read from
/metrics, when the backlog drained, and the table. No I/O here, so each part is tested on its own
(tests/unit/test_bench_burst.py); bench/burst.py runs the services and the traffic.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from prometheus_client.parser import text_string_to_metric_families

from bench.load import percentile
from bench.report import ms

LAG_FAMILY = "firstcall_consumer_lag_records"
# A backlog counts as drained once every group's lag (and every outbox) has stayed at zero this long.
SETTLED_SECONDS = 3.0

# ------------------------------------------------------------------------------------------------ the traffic


@dataclass(frozen=True)
class Planned:
    """One ticket of a phase: when it leaves (seconds from the phase's start), which stream, its number."""

    at: float
    stream: str  # "steady" or "burst"
    n: int  # its number within its stream
    outage: bool  # one of the outage's reports


@dataclass(frozen=True)
class PhasePlan:
    """Steady traffic for `lead + duration` seconds; during the last `duration`, the burst on top of it.

    With no burst (`burst_rate` 0: the baseline), the outage is the same share of the window's steady tickets,
    so both phases measure detection, context, notices and drain on the same kind of traffic.
    """

    name: str
    steady_rate: float
    burst_rate: float
    lead: float
    duration: float
    outage_share: float = 0.2

    def schedule(self) -> list[Planned]:
        return schedule(self)

    @property
    def label(self) -> str:
        if self.burst_rate <= 0:
            return f"{self.name}: steady {self.steady_rate:g}/s"
        return f"{self.name}: steady {self.steady_rate:g}/s + {self.burst_rate:g}/s for {self.duration:g} s"


def _is_outage(index: int, share: float) -> bool:
    """Spreads the outage evenly: the index-th ticket of the window is one when its share's count steps up
    (share 0.2: the 1st, 6th, 11th...), so the third report comes early whatever the rate. Exact fractions:
    floats would miss a step now and then (0.2 * 15 is 3.0000000000000004)."""
    exact = Fraction(share).limit_denominator(1000)
    return math.floor(index * exact) > math.floor((index - 1) * exact)


def schedule(plan: PhasePlan) -> list[Planned]:
    """Every ticket of the phase in the order it leaves."""
    planned: list[Planned] = []
    window = 0
    for n in range(round(plan.steady_rate * (plan.lead + plan.duration))):
        at = n / plan.steady_rate
        outage = False
        if plan.burst_rate <= 0 and at >= plan.lead:
            outage = _is_outage(window, plan.outage_share)
            window += 1
        planned.append(Planned(at, "steady", n, outage))
    if plan.burst_rate > 0:
        for n in range(round(plan.burst_rate * plan.duration)):
            planned.append(Planned(plan.lead + n / plan.burst_rate, "burst", n, _is_outage(n, plan.outage_share)))
    planned.sort(key=lambda p: (p.at, p.stream))
    return planned


@dataclass(frozen=True)
class OutageWords:
    """One outage, said many ways: a ticket's words are a subject and a description of four parts."""

    subjects: tuple[str, ...]
    openers: tuple[str, ...]
    symptoms: tuple[str, ...]
    places: tuple[str, ...]
    extras: tuple[str, ...]

    def text(self, n: int) -> tuple[str, str]:
        """The n-th report, the same in every run: each part drawn by a generator seeded with n."""
        draw = random.Random(n)  # varied words, not a secret: a seeded generator repeats them
        opener, symptom, place, extra = (
            draw.choice(part) for part in (self.openers, self.symptoms, self.places, self.extras)
        )
        description = f"{opener} {symptom}{place}" + (f" {extra}" if extra else "")
        return draw.choice(self.subjects), description


# The burst's outage: the mobile app stops after an update.
APP_CRASH = OutageWords(
    subjects=(
        "App crashes on launch",
        "Mobile app closes as soon as I open it",
        "Banking app keeps crashing",
        "App won't open since the update",
        "The app shuts down right after the splash screen",
        "Can't use the mobile app, it crashes",
        "Your app crashes every time I start it",
        "App crash after today's update",
        "Mobile banking app stopped working after update",
        "App freezes on the logo and closes",
    ),
    openers=(
        "Since this morning's update",
        "After updating the app today",
        "Ever since the new version installed",
        "Today, after the latest update,",
        "Since the update last night",
        "From this morning on",
    ),
    symptoms=(
        "the app crashes the moment I open it",
        "the mobile app closes itself right after the splash screen",
        "the banking app shuts down as soon as it starts",
        "the app freezes on the logo and then quits",
        "the app opens for a second and then crashes",
        "I can't get past the start screen, the app just closes",
        "your app crashes every single time I launch it",
    ),
    places=(" on my phone.", " on my Android phone.", " on my iPhone.", " on my tablet.", " on both my phones.", "."),
    extras=(
        "I reinstalled it twice and it still crashes.",
        "Restarting the phone did not help.",
        "I need to make a payment urgently.",
        "My partner has the same problem.",
        "",
        "Is the app down?",
    ),
)
# The baseline's outage, in words of its own, so the burst's reports do not join its (resolved) problem.
BLANK_STATEMENT = OutageWords(
    subjects=(
        "Statement PDF is blank",
        "Can't download my statement",
        "Downloaded statement is empty",
        "Monthly statement shows nothing",
        "Blank page when I open my statement",
        "Statement download gives an empty file",
        "My account statement PDF has no content",
    ),
    openers=("Today", "Since yesterday", "This morning", "For the last few hours", "Since the weekend"),
    symptoms=(
        "the statement I download is a blank PDF",
        "the monthly statement opens as an empty white page",
        "downloading my account statement gives an empty file",
        "the PDF of my statement has no transactions and no text",
        "every statement I download is blank",
        "my statement downloads but shows nothing at all",
    ),
    places=(" in online banking.", " from the website.", " from the app.", "."),
    extras=("I need it for my tax return.", "", "I tried two browsers.", "My landlord is asking for it."),
)

# ------------------------------------------------------------------------------------------------ the backlog

LagKey = tuple[str, str, str]  # group, topic, partition


def parse_lag(metrics: str) -> dict[LagKey, float]:
    """`firstcall_consumer_lag_records` of one process's /metrics, by (group, topic, partition)."""
    found: dict[LagKey, float] = {}
    for family in text_string_to_metric_families(metrics):
        if family.name != LAG_FAMILY:
            continue
        for sample in family.samples:
            labels = sample.labels
            found[(labels["group"], labels["topic"], labels["partition"])] = sample.value
    return found


def merge_lag(per_process: Iterable[Mapping[LagKey, float]]) -> dict[str, int]:
    """The lag of each consumer group across processes. Replicas report the partitions they own; during a
    rebalance two may report the same one, so a partition counts once, at its largest lag."""
    partitions: dict[LagKey, float] = {}
    for lags in per_process:
        for key, value in lags.items():
            partitions[key] = max(partitions.get(key, 0.0), value)
    groups: dict[str, int] = {}
    for (group, _, _), value in partitions.items():
        groups[group] = groups.get(group, 0) + round(value)
    return groups


@dataclass(frozen=True)
class LagSample:
    """The backlog at one moment: records not yet committed by each group, and unpublished outbox rows."""

    at: float  # wall-clock seconds
    groups: Mapping[str, int]
    outbox: Mapping[str, int] = field(default_factory=dict)

    @property
    def lag(self) -> int:
        return sum(self.groups.values())

    @property
    def backlog(self) -> int:
        return self.lag + sum(self.outbox.values())


@dataclass(frozen=True)
class Drain:
    peak_lag: int  # largest total consumer lag seen from `since` on
    peak_outbox: int  # largest total of unpublished outbox rows
    peak_at: float | None  # when the lag peaked (seconds after `since`; negative: before it)
    drained_after: float | None  # seconds from `since` to the backlog at zero for good (None: not seen)
    last_backlog: int  # the backlog at the last sample

    def describe(self) -> str:
        if self.drained_after is None:
            return f"not drained ({self.last_backlog:,} records left)"
        return f"{self.drained_after:.1f}"


def drained(
    samples: Sequence[LagSample], since: float, *, peak_from: float | None = None, settled: float = SETTLED_SECONDS
) -> Drain:
    """How the backlog behaved: its peak from `peak_from` on (default `since`), and when, after `since`, it
    reached zero and stayed there for at least `settled` seconds up to the last sample (a zero between two
    busy samples is not a drain)."""
    mine = [s for s in samples if s.at >= since]
    peaks = [s for s in samples if s.at >= (since if peak_from is None else peak_from)]
    if not mine or not peaks:
        return Drain(0, 0, None, None, 0)
    peak = max(peaks, key=lambda s: s.lag)
    busy = [i for i, s in enumerate(mine) if s.backlog > 0]
    first_zero = 0 if not busy else busy[-1] + 1
    drained_after: float | None = None
    if first_zero < len(mine) and mine[-1].at - mine[first_zero].at >= settled:
        drained_after = mine[first_zero].at - since
    return Drain(
        peak_lag=peak.lag,
        peak_outbox=max(sum(s.outbox.values()) for s in peaks),
        peak_at=peak.at - since if peak.lag > 0 else None,
        drained_after=drained_after,
        last_backlog=mine[-1].backlog,
    )


# ------------------------------------------------------------------------------------------------ the table


@dataclass(frozen=True)
class PhaseFigures:
    """What one phase measured, ready for the table (None: not seen within the benchmark's patience)."""

    label: str
    sent: int
    accepted: int
    post_ms: Sequence[float]  # sorted
    window_rate: float  # tickets accepted per second while the window (the burst) lasted
    outage_accepted: int
    detected_after: float | None  # s from the third outage report's 201 to the problem visible
    outage_in_problem: int  # outage tickets the notifier put in the problem
    context_after: float | None  # s from the last outage 201 until every one of those carries it
    context_carrying: int  # of outage_in_problem, how many carried it in the router's context
    notices_after: float | None  # s from the resolve's answer to the last resolution notice arriving
    notices_received: int  # customers told of the resolution
    notices_expected: int  # customers of the problem when it was resolved
    drain: Drain  # from the last ticket sent
    router_tickets: int  # tickets of the phase in the router's database
    reports: int  # of the accepted tickets, how many the notifier holds a report for
    suggestions: int  # of the accepted tickets, how many knowledge holds suggestions for
    doubled_tickets: int  # idempotency keys that made more than one ticket
    doubled_notices: int  # customers told of the resolution more than once
    cpu_ms_per_ticket: Mapping[str, float] = field(default_factory=dict)
    # By service: tickets it took in per second, from its first to its last (the offered rate when it kept
    # up; what it sustains when it fell behind)
    handled_per_second: Mapping[str, float] = field(default_factory=dict)


HEADERS_FIRST = ["measured", "from"]


def _seconds(value: float | None) -> str:
    return "not seen" if value is None else f"{value:.1f}"


def rows(figures: Sequence[PhaseFigures]) -> tuple[list[str], list[list[str]]]:
    """The table: one row per measure, one column per phase (the baseline first, so it reads as a comparison)."""
    headers = [*HEADERS_FIRST, *(f.label for f in figures)]

    def row(measured: str, source: str, cell: Callable[[PhaseFigures], str]) -> list[str]:
        return [measured, source, *(cell(f) for f in figures)]

    table = [
        row("tickets sent / accepted (201)", "POST /v1/tickets", lambda f: f"{f.sent:,} / {f.accepted:,}"),
        row("accepted per second in the window", "201s", lambda f: f"{f.window_rate:.1f}"),
        row(
            "taken in per second: notifier / knowledge",
            "reports', suggestions' received_at",
            lambda f: " / ".join(
                f"{f.handled_per_second[s]:.1f}" if s in f.handled_per_second else "n/a"
                for s in ("notifier", "knowledge")
            ),
        ),
        row(
            "POST p50 / p99 ms",
            "the router's answer",
            lambda f: f"{ms(percentile(f.post_ms, 50))} / {ms(percentile(f.post_ms, 99))}",
        ),
        row(
            "problem detected, s", "3rd outage 201 -> GET /v1/problems/{id} open", lambda f: _seconds(f.detected_after)
        ),
        row(
            "outage tickets in the problem",
            "GET /v1/problems/{id} members",
            lambda f: f"{f.outage_in_problem:,} of {f.outage_accepted:,}",
        ),
        row(
            "all of them carry it in the agent's context, s",
            "last outage 201 -> GET /v1/tickets/{id}/context",
            lambda f: f"{_seconds(f.context_after)} ({f.context_carrying:,} of {f.outage_in_problem:,})",
        ),
        row(
            "last resolution notice received, s",
            "resolve's 200 -> webhook receiver",
            lambda f: f"{_seconds(f.notices_after)} ({f.notices_received:,} of {f.notices_expected:,})",
        ),
        row("backlog drained, s", "last ticket sent -> lag and outboxes 0", lambda f: f.drain.describe()),
        row(
            "peak consumer lag / outbox, records",
            "/metrics, /readyz",
            lambda f: f"{f.drain.peak_lag:,} / {f.drain.peak_outbox:,}",
        ),
        row(
            "lost: no ticket / no report / no suggestion",
            "databases vs 201s",
            lambda f: (
                f"{max(f.accepted - f.router_tickets, 0)} / {f.accepted - f.reports} / {f.accepted - f.suggestions}"
                + ("" if f.drain.drained_after is not None else " (backlog left: not all handled yet)")
            ),
        ),
        row(
            "doubled: tickets per key / notices per customer",
            "databases, receiver",
            lambda f: f"{f.doubled_tickets} / {f.doubled_notices}",
        ),
        row(
            "CPU ms per ticket",
            "services, until drained",
            lambda f: ", ".join(f"{name} {value:.0f}" for name, value in f.cpu_ms_per_ticket.items()) or "n/a",
        ),
    ]
    return headers, table
