"""The lag numbers of one partition."""

from __future__ import annotations

from aiokafka import TopicPartition

from services.ops.lag import partition_lag

TP = TopicPartition("firstcall.tickets", 3)


def test_lag_is_the_end_less_the_committed_offset_with_the_oldest_waiting_records_age() -> None:
    row = partition_lag(TP, committed=40, begin=0, end=45, oldest_ms=1_000, now_ms=61_000)
    assert (row.committed, row.end, row.lag, row.oldest_age_seconds) == (40, 45, 5, 60.0)


def test_a_group_caught_up_has_no_oldest_event() -> None:
    assert partition_lag(TP, committed=45, begin=0, end=45, oldest_ms=None, now_ms=0).oldest_age_seconds is None


def test_a_partition_never_committed_counts_from_the_oldest_record_kept() -> None:
    row = partition_lag(TP, committed=None, begin=10, end=25, oldest_ms=0, now_ms=5_000)
    assert (row.committed, row.lag) == (None, 15)


def test_a_committed_offset_below_the_retained_log_counts_from_its_beginning() -> None:
    assert partition_lag(TP, committed=3, begin=10, end=12, oldest_ms=0, now_ms=0).lag == 2
