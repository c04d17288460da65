"""Consumer lag arithmetic (services/common/lag.py), without a broker."""

from __future__ import annotations

import pytest
from kafka import TopicPartition

from services.common.lag import PartitionLag, lag_of, lags


@pytest.mark.parametrize(
    ("committed", "start", "end", "lag"),
    [
        (None, 0, 0, 0),  # empty partition, group never committed: nothing to read (not -1, not history)
        (None, 0, 40, 40),  # never committed: the group will read everything still in the log
        (None, 25, 40, 15),  # ... which starts at the earliest offset retention kept
        (40, 0, 40, 0),  # caught up
        (30, 0, 40, 10),
        (10, 25, 40, 15),  # committed offset expired by retention: the group restarts at the earliest
        (45, 0, 40, 0),  # a broker answer older than the commit never shows negative lag
    ],
)
def test_lag_is_what_the_group_has_still_to_read(
    committed: int | None, start: int, end: int, lag: int
) -> None:
    assert lag_of(committed, start, end) == lag


def test_a_partition_the_broker_gave_no_offset_for_is_left_out_rather_than_shown_as_zero() -> None:
    tp0, tp1 = TopicPartition("p.raw", 0), TopicPartition("p.raw", 1)
    rows = lags("dedupe", [tp1, tp0], committed={tp0: 3, tp1: -1}, start={tp0: 0, tp1: 0}, end={tp0: 10})
    assert rows == [PartitionLag("dedupe", "p.raw", 0, committed=3, start=0, end=10)]
    assert rows[0].lag == 7


def test_the_brokers_no_commit_answer_minus_one_means_never_committed() -> None:
    tp = TopicPartition("p.raw", 0)
    (row,) = lags("dedupe", [tp], committed={tp: -1}, start={tp: 0}, end={tp: 5})
    assert row.committed is None and row.lag == 5
