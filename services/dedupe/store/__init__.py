"""Dedupe state stores: signatures of recent arrivals (retrievable by key and by term) and their final decisions.

``protocol``: the ``DedupeStore`` protocol every store provides (see ``services.dedupe.engine`` for why it makes
N workers correct); ``memory``: ``MemoryStore``, one process (offline command, tests, benchmark); ``elastic``:
``ElasticStore``, the state the dedupe workers share in the search server.
"""

from services.dedupe.store.elastic import DEDUPE_MAPPING, ElasticStore, decision_doc, decision_from
from services.dedupe.store.memory import MemoryStore
from services.dedupe.store.protocol import DedupeStore, Entry, StoreUnavailable

__all__ = [
    "DEDUPE_MAPPING",
    "DedupeStore",
    "ElasticStore",
    "Entry",
    "MemoryStore",
    "StoreUnavailable",
    "decision_doc",
    "decision_from",
]
