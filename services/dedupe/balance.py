"""Partition choice by work, not by key hash, for the topic in front of the costliest stage (NER).

A key hash spreads records evenly on average, but NER work is not even per record (a 20-word brief and a
5,000-word feature are one record each), and on a backlog the enrich worker whose partitions got more work finishes
last while the other's core idles. ``WorkBalancer`` sends each record to the partition that has been given the
least work so far, so every enrich worker gets the same share of work from each producer. Records keep their key.
"""

from __future__ import annotations

from collections.abc import Collection


class WorkBalancer:
    """Least-loaded partition choice. Pure: the caller says which partitions exist and what a record weighs."""

    def __init__(self) -> None:
        self.load: dict[int, int] = {}

    def pick(self, partitions: Collection[int], weight: int) -> int:
        """The partition for a record of ``weight``: the least loaded (lowest number on ties). A partition that
        appears later (the topic grew) starts at the current minimum, so it is not flooded to catch up."""
        if not partitions:
            raise ValueError("no partitions to choose from")
        known = [self.load[p] for p in partitions if p in self.load]
        floor = min(known) if known else 0
        for p in partitions:
            self.load.setdefault(p, floor)
        for p in [p for p in self.load if p not in partitions]:
            del self.load[p]  # the topic shrank or metadata dropped it: never send there
        best = min(partitions, key=lambda p: (self.load[p], p))
        self.load[best] += max(1, weight)
        return best


def ner_weight(body: str, max_chars: int, per_record: int = 200) -> int:
    """NER work of an article: its characters up to the NER cut, plus a fixed cost per record."""
    return min(len(body), max_chars) + per_record
