"""bench.notifier_replicas: the drain rate it reads from the reports' arrival times, and its table."""

from __future__ import annotations

import math

from bench.notifier_replicas import Drained, render, steady_rate


def test_the_rate_leaves_out_the_start_up_and_the_stragglers() -> None:
    # 100 reports: 10 trickle in during the group's start-up, 80 at 20/s, 10 stragglers a second apart.
    start = [n * 2.0 for n in range(10)]
    steady = [20.0 + n / 20 for n in range(80)]
    late = [24.0 + n for n in range(10)]
    times = sorted(start + steady + late)

    assert steady_rate(times) == 80 / (times[90] - times[10])
    assert 19 < steady_rate(times) < 21


def test_no_rate_from_reports_that_arrived_at_once_or_too_few() -> None:
    assert math.isnan(steady_rate([5.0] * 50))
    assert math.isnan(steady_rate([1.0]))
    assert math.isnan(steady_rate([]))


def test_the_table_compares_each_count_with_one_process() -> None:
    def drained(replicas: int, rate: float) -> Drained:
        return Drained(replicas, 400, 30.0, rate, 60.0, 5.0, 12, [])

    table = render([drained(1, 10.0), drained(2, 17.5), drained(4, 16.0)], tickets=400)

    rows = [line for line in table.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split("|")[5].strip() for row in rows] == ["1.00", "1.75", "1.60"]
