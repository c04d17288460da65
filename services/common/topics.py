r"""Topic names, in one place. ``names(prefix)`` gives the full names for a deployment.

inbox --ingest--> raw --dedupe--> unique --enrich--> enriched --index--> Elasticsearch (+ indexed acks)
                              \--> duplicates --------------------index--> recorded on the original
every stage --> deadletter
"""

from __future__ import annotations

from dataclasses import dataclass

LOGICAL = ("inbox", "raw", "unique", "duplicates", "enriched", "indexed", "deadletter")


@dataclass(frozen=True)
class TopicNames:
    inbox: str
    raw: str
    unique: str
    duplicates: str
    enriched: str
    indexed: str
    deadletter: str

    def all(self) -> list[str]:
        return [getattr(self, n) for n in LOGICAL]

    def logical(self, full: str) -> str | None:
        for n in LOGICAL:
            if getattr(self, n) == full:
                return n
        return None


def names(prefix: str = "newsflow") -> TopicNames:
    return TopicNames(**{n: f"{prefix}.{n}" for n in LOGICAL})
