"""Partition choice by NER work: every enrich partition gets the same share of work from a producer."""

from __future__ import annotations

import random

import pytest

from services.dedupe.balance import WorkBalancer, ner_weight


def test_skewed_work_ends_up_even_across_partitions() -> None:
    rng = random.Random(3)
    weights = [rng.choice([300, 800, 2000, 40_000]) for _ in range(2000)]
    b = WorkBalancer()
    load = dict.fromkeys(range(4), 0)
    for w in weights:
        load[b.pick(range(4), w)] += w
    assert max(load.values()) - min(load.values()) <= max(weights)


def test_equal_work_goes_round_robin_lowest_partition_first() -> None:
    b = WorkBalancer()
    assert [b.pick([0, 1, 2], 10) for _ in range(6)] == [0, 1, 2, 0, 1, 2]


def test_a_new_partition_starts_level_instead_of_taking_everything() -> None:
    b = WorkBalancer()
    for _ in range(100):
        b.pick([0, 1], 10)
    picks = [b.pick([0, 1, 2], 10) for _ in range(9)]
    assert picks.count(2) == 3  # its share, not all nine


def test_a_partition_that_disappears_is_never_chosen() -> None:
    b = WorkBalancer()
    for _ in range(10):
        b.pick([0, 1, 2], 10)
    assert {b.pick([0, 1], 10) for _ in range(10)} == {0, 1}


def test_no_partitions_is_an_error() -> None:
    with pytest.raises(ValueError):
        WorkBalancer().pick([], 1)


def test_weight_counts_the_text_ner_reads_plus_a_cost_per_record() -> None:
    assert ner_weight("x" * 1000, max_chars=200_000) == 1200
    assert ner_weight("x" * 500_000, max_chars=200_000) == 200_200
