r"""The topology, in one place: the stages, the topics, which topics each stage consumes, and the names of a
deployment's topics and consumer groups.

    inbox --ingest--> raw --dedupe--> unique --enrich--> enriched --index--> Elasticsearch (+ indexed acks)
                                  \--> duplicates --------------------index--> recorded on the original
    every stage --> deadletter
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Stage = Literal["ingest", "dedupe", "enrich", "index"]
STAGES: tuple[Stage, ...] = get_args(Stage)

Logical = Literal["inbox", "raw", "unique", "duplicates", "enriched", "indexed", "deadletter"]
LOGICAL: tuple[Logical, ...] = get_args(Logical)

SOURCES: dict[Stage, tuple[Logical, ...]] = {
    "ingest": ("inbox",),
    "dedupe": ("raw",),
    "enrich": ("unique",),
    "index": ("enriched", "duplicates"),
}
"""The topics each stage's consumer group reads."""


def group_id(prefix: str, stage: Stage) -> str:
    """The consumer group of ``stage`` in the deployment whose topics start with ``prefix``."""
    return f"{prefix}-{stage}"


@dataclass(frozen=True)
class TopicNames:
    """The full topic names of one deployment (``names(prefix)``)."""

    inbox: str
    raw: str
    unique: str
    duplicates: str
    enriched: str
    indexed: str
    deadletter: str

    def of(self, logical: Logical) -> str:
        """The full name of a logical topic."""
        full: str = self.__dict__[logical]
        return full

    def all(self) -> list[str]:
        return [self.of(n) for n in LOGICAL]

    def logical(self, full: str) -> Logical | None:
        for n in LOGICAL:
            if self.of(n) == full:
                return n
        return None


def names(prefix: str = "newsflow") -> TopicNames:
    return TopicNames(*(f"{prefix}.{n}" for n in LOGICAL))
