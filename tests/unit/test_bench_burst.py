"""bench.burst_measure: the burst benchmark's schedule, its outage words, the consumer lag read from /metrics,
the drain computed from lag samples, and the table (no services needed)."""

from __future__ import annotations

from bench.burst_measure import (
    APP_CRASH,
    BLANK_STATEMENT,
    Drain,
    LagSample,
    PhaseFigures,
    PhasePlan,
    drained,
    merge_lag,
    parse_lag,
    rows,
    schedule,
)

METRICS = """\
# HELP firstcall_consumer_lag_records Records on a partition that the consumer group has not committed yet
# TYPE firstcall_consumer_lag_records gauge
firstcall_consumer_lag_records{group="b1.notifier",partition="0",topic="b1.tickets"} 40.0
firstcall_consumer_lag_records{group="b1.notifier",partition="1",topic="b1.tickets"} 2.0
firstcall_consumer_lag_records{group="b1.notifier",partition="0",topic="b1.customers"} 0.0
# HELP firstcall_consumer_oldest_unhandled_age_seconds Age of the oldest record the group has not handled yet
# TYPE firstcall_consumer_oldest_unhandled_age_seconds gauge
firstcall_consumer_oldest_unhandled_age_seconds{group="b1.notifier",partition="0",topic="b1.tickets"} 7.5
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
"""


def test_the_baseline_is_steady_traffic_with_the_outage_a_fifth_of_its_window() -> None:
    planned = schedule(PhasePlan("baseline", steady_rate=10, burst_rate=0, lead=5, duration=30))
    assert len(planned) == 350
    assert {p.stream for p in planned} == {"steady"}
    assert not any(p.outage for p in planned if p.at < 5)
    window = [p for p in planned if p.at >= 5]
    assert sum(p.outage for p in window) == 60
    assert window[0].outage  # the first reports come first: the third is not left to chance
    assert [p.at for p in planned] == sorted(p.at for p in planned)


def test_the_crisis_puts_the_burst_on_top_and_the_outage_is_a_fifth_of_the_burst() -> None:
    planned = schedule(PhasePlan("crisis", steady_rate=10, burst_rate=200, lead=5, duration=30))
    steady = [p for p in planned if p.stream == "steady"]
    burst = [p for p in planned if p.stream == "burst"]
    assert (len(steady), len(burst)) == (350, 6000)
    assert not any(p.outage for p in steady)
    assert sum(p.outage for p in burst) == 1200
    assert min(p.at for p in burst) == 5.0
    assert max(p.at for p in burst) < 35.0
    assert [p.at for p in planned] == sorted(p.at for p in planned)


def test_an_outage_share_is_exact_over_any_count() -> None:
    # 0.2 * 15 is 3.0000000000000004 in floats: a step would be missed or doubled now and then.
    for share, count in ((0.2, 1000), (0.1, 999), (1 / 3, 300), (0.25, 4000)):
        planned = schedule(PhasePlan("c", steady_rate=1, burst_rate=count, lead=0, duration=1, outage_share=share))
        outages = sum(p.outage for p in planned if p.stream == "burst")
        assert abs(outages - share * count) <= 1, (share, count, outages)


def test_the_outage_is_said_in_varied_words_the_same_in_every_run() -> None:
    texts = [APP_CRASH.text(n) for n in range(200)]
    assert texts == [APP_CRASH.text(n) for n in range(200)]
    assert len(set(texts)) > 150
    assert len({subject for subject, _ in texts}) == len(APP_CRASH.subjects)
    assert not set(texts) & {BLANK_STATEMENT.text(n) for n in range(200)}


def test_lag_is_read_from_the_metrics_family_only() -> None:
    assert parse_lag(METRICS) == {
        ("b1.notifier", "b1.tickets", "0"): 40.0,
        ("b1.notifier", "b1.tickets", "1"): 2.0,
        ("b1.notifier", "b1.customers", "0"): 0.0,
    }
    assert parse_lag("process_cpu_seconds_total 1.0\n") == {}


def test_replicas_lag_counts_each_partition_once_at_its_largest() -> None:
    one = {("n", "tickets", "0"): 40.0, ("n", "tickets", "1"): 2.0, ("r", "problems", "0"): 1.0}
    # During a rebalance the second replica still reports partition 1, and already partition 0's older value.
    two = {("n", "tickets", "1"): 5.0, ("n", "tickets", "0"): 30.0, ("k", "tickets", "0"): 7.0}
    assert merge_lag([one, two]) == {"n": 45, "r": 1, "k": 7}
    assert merge_lag([]) == {}


def _samples(values: list[int], outbox: list[int] | None = None, every: float = 0.5) -> list[LagSample]:
    return [
        LagSample(100 + i * every, {"n": value}, {"router": (outbox or [0] * len(values))[i]})
        for i, value in enumerate(values)
    ]


def test_the_backlog_drains_when_it_stays_at_zero() -> None:
    samples = _samples([0, 50, 300, 800, 600, 200, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0])
    drain = drained(samples, since=101.0)  # the last ticket left at the 3rd sample
    assert drain.drained_after == 3.0  # 104.0: the zero after the last busy sample (a zero at 103 is not it)
    assert drain.peak_lag == 800
    assert drain.peak_at == 0.5
    assert drain.last_backlog == 0
    assert drain.describe() == "3.0"


def test_the_peak_may_come_before_the_last_ticket_left() -> None:
    samples = _samples([0, 900, 400, 10, 0, 0, 0, 0, 0, 0, 0])
    drain = drained(samples, since=101.0, peak_from=100.0)
    assert (drain.peak_lag, drain.peak_at) == (900, -0.5)
    assert drained(samples, since=101.0).peak_lag == 400


def test_a_backlog_still_in_an_outbox_is_not_drained() -> None:
    samples = _samples([5, 0, 0, 0, 0, 0, 0, 0, 0, 0], outbox=[0, 0, 0, 0, 120, 30, 0, 0, 0, 0])
    drain = drained(samples, since=100.0)
    assert drain.peak_outbox == 120
    assert drain.drained_after is None  # zero since 103.0, but only 1.5 s of it so far
    longer = [*samples, *(LagSample(105 + i * 0.5, {"n": 0}, {"router": 0}) for i in range(4))]
    assert drained(longer, since=100.0).drained_after == 3.0


def test_a_backlog_never_back_at_zero_says_what_is_left() -> None:
    drain = drained(_samples([100, 400, 900, 1400]), since=100.0)
    assert drain.drained_after is None
    assert drain.describe() == "not drained (1,400 records left)"
    assert drained([], since=100.0) == Drain(0, 0, None, None, 0)


def _figures(label: str, **changes: object) -> PhaseFigures:
    values: dict[str, object] = {
        "label": label,
        "sent": 350,
        "accepted": 348,
        "post_ms": [10.0, 12.0, 40.0],
        "window_rate": 9.9,
        "outage_accepted": 60,
        "detected_after": 1.84,
        "outage_in_problem": 58,
        "context_after": 2.5,
        "context_carrying": 58,
        "notices_after": 4.0,
        "notices_received": 58,
        "notices_expected": 58,
        "drain": Drain(120, 4, 0.5, 2.0, 0),
        "router_tickets": 348,
        "reports": 347,
        "suggestions": 348,
        "doubled_tickets": 0,
        "doubled_notices": 0,
        "cpu_ms_per_ticket": {"router": 6.0, "notifier": 41.4},
        "handled_per_second": {"notifier": 9.96, "knowledge": 10.02},
    }
    values.update(changes)
    return PhaseFigures(**values)  # type: ignore[arg-type]


def test_the_table_puts_baseline_and_crisis_side_by_side() -> None:
    baseline = _figures("baseline: steady 10/s")
    crisis = _figures(
        "crisis: steady 10/s + 200/s for 30 s",
        detected_after=None,
        context_after=None,
        context_carrying=1000,
        outage_in_problem=1190,
        notices_after=None,
        notices_received=3,
        notices_expected=1190,
        drain=Drain(9000, 40, -2.0, None, 1400),
        doubled_notices=2,
        handled_per_second={"notifier": 4.25},
    )
    headers, table = rows([baseline, crisis])
    assert headers == ["measured", "from", "baseline: steady 10/s", "crisis: steady 10/s + 200/s for 30 s"]
    by_measure = {row[0]: row[2:] for row in table}
    assert all(len(row) == 4 for row in table)
    assert by_measure["tickets sent / accepted (201)"] == ["350 / 348", "350 / 348"]
    assert by_measure["problem detected, s"] == ["1.8", "not seen"]
    assert by_measure["all of them carry it in the agent's context, s"] == [
        "2.5 (58 of 58)",
        "not seen (1,000 of 1,190)",
    ]
    assert by_measure["last resolution notice received, s"] == ["4.0 (58 of 58)", "not seen (3 of 1,190)"]
    assert by_measure["backlog drained, s"] == ["2.0", "not drained (1,400 records left)"]
    assert by_measure["peak consumer lag / outbox, records"] == ["120 / 4", "9,000 / 40"]
    assert by_measure["lost: no ticket / no report / no suggestion"] == [
        "0 / 1 / 0",
        "0 / 1 / 0 (backlog left: not all handled yet)",
    ]
    assert by_measure["taken in per second: notifier / knowledge"] == ["10.0 / 10.0", "4.2 / n/a"]
    assert by_measure["doubled: tickets per key / notices per customer"] == ["0 / 0", "0 / 2"]
    assert by_measure["POST p50 / p99 ms"][0] == "12.0 / 40.0"
    assert by_measure["CPU ms per ticket"][0] == "router 6, notifier 41"
