"""Every Prometheus metric Newsflow emits, declared here and nowhere else.

Label values come from small fixed sets (``stage``, ``outcome``, ``reason``, ``kind``, ``type``, ``result``):
never a URL, a title or an entity name.
"""

from __future__ import annotations

from prometheus_client import (
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)
# process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds, ... of this worker process.
ProcessCollector(registry=REGISTRY)
del PROCESS_COLLECTOR  # the default registry's collector is not ours: every series we serve is in REGISTRY

OUTCOMES = ("ok", "duplicate", "dead_letter")  # retries are counted apart: newsflow_step_retries_total

MESSAGES = Counter(
    "newsflow_messages_total",
    "Messages a stage finished, by outcome",
    ["stage", "outcome"],
    registry=REGISTRY,
)
PROCESSING_SECONDS = Histogram(
    "newsflow_processing_seconds",
    "Time a stage spent on one message (batch time divided over its messages for batched stages)",
    ["stage"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "newsflow_dead_letters_total",
    "Messages sent to the dead-letter topic",
    ["stage", "reason"],
    registry=REGISTRY,
)
DUPLICATES = Counter("newsflow_duplicates_total", "Duplicates found, by kind", ["kind"], registry=REGISTRY)
ENTITIES = Counter(
    "newsflow_entities_total", "Distinct entities per document, by type", ["type"], registry=REGISTRY
)
BULK_SECONDS = Histogram(
    "newsflow_bulk_seconds",
    "Duration of one bulk request to the search server",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
BULK_ITEMS = Counter(
    "newsflow_bulk_items_total",
    "Bulk items by result: created/updated/noop, retried (429/5xx), failed (dead-lettered)",
    ["result"],
    registry=REGISTRY,
)
FRESHNESS_SECONDS = Histogram(
    "newsflow_freshness_seconds",
    "Age of a document when it became searchable, from ingested_at (since='ingested') or published_at "
    "(since='published')",
    ["since"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400, 604800),
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "newsflow_consumer_lag",
    "Messages a stage's consumer group has still to read, per partition of each topic it reads: end offset "
    "minus committed offset, read from the broker (services/common/lag.py; every worker reports every stage)",
    ["stage", "topic", "partition"],
    registry=REGISTRY,
)
SEARCH_UP = Gauge(
    "newsflow_search_up", "1 when the search server answers, 0 while it is unreachable", registry=REGISTRY
)
WORKER_READY = Gauge(
    "newsflow_worker_ready",
    "1 once the worker has joined its group and processes messages",
    ["stage"],
    registry=REGISTRY,
)
FAUST_REBALANCES = Gauge(
    "newsflow_faust_rebalances",
    "Rebalances this worker has been through (faust monitor)",
    ["stage"],
    registry=REGISTRY,
)
FAUST_COMMIT_LATENCY = Gauge(
    "newsflow_faust_commit_latency_seconds",
    "Average latency of recent offset commits (faust monitor)",
    ["stage"],
    registry=REGISTRY,
)
FAUST_MESSAGES_ACTIVE = Gauge(
    "newsflow_faust_messages_active",
    "Messages received and not yet acknowledged (faust monitor)",
    ["stage"],
    registry=REGISTRY,
)
STEP_RETRIES = Counter(
    "newsflow_step_retries_total",
    "Batches a stage ran again because a dependency was unavailable (waited for) or refused (bounded retries)",
    ["stage", "kind"],
    registry=REGISTRY,
)
BUILD = Info(
    "newsflow_build", "Version and stage of the running worker (value always 1)", ["stage"], registry=REGISTRY
)


def render() -> bytes:
    """The exposition text of every metric above."""
    return generate_latest(REGISTRY)


def declared_names() -> set[str]:
    """Names of every series family a scrape can show (for tests of dashboards and alert rules)."""
    out: set[str] = set()
    for collector in list(REGISTRY._collector_to_names):
        out.update(REGISTRY._collector_to_names[collector])
    return out


# --- Network faults: can each worker reach the broker (issue 18; services.common.health) ---------------------
BROKER_UP = Gauge(
    "newsflow_broker_up",
    "1 while this worker's broker probe is answered (Kafka ApiVersions, every few seconds), 0 while it is not",
    ["stage"],
    registry=REGISTRY,
)
BROKER_RECONNECTS = Counter(
    "newsflow_broker_reconnects_total",
    "Times this worker reached the broker again after its probe had failed (a partition or broker outage healed)",
    ["stage"],
    registry=REGISTRY,
)
SEARCH_RECONNECTS = Counter(
    "newsflow_search_reconnects_total",
    "Times this worker reached the search server again after it had been unreachable (newsflow_search_up 0 -> 1)",
    ["stage"],
    registry=REGISTRY,
)
