"""The memory store's posting index: reading only the tail of long postings gives the candidates a full read gives."""

from __future__ import annotations

import random

from services.dedupe.store.memory import PostingIndex, _recent


def test_posting_tail_reads_what_a_scan_of_the_whole_posting_reads() -> None:
    rng = random.Random(3)
    index = PostingIndex(fold_at=50)  # many runs, and a recent dict on top
    for serial in range(3000):
        index.add_all([rng.choice((1, 2, 3)), rng.randrange(4, 400), 10_000 + serial], serial)
    keys = [1, 2, 3, 7, 399, 10_005, 99_999]
    whole = index.get_many(keys)
    for scan in (1, 4, 48):
        tail = index.get_many(keys, tail=scan)
        for full, part in zip(whole, tail, strict=True):
            assert list(_recent(part, scan)) == list(_recent(full, scan))
            assert len(part) <= scan + 1
    assert len(whole[0]) > 500  # a common key: a long posting, of which only the tail is read
