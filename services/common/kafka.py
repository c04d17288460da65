"""Kafka admin and plain producer/consumer helpers (kafka-python) for tools: init, ingest CLI, demo, dlq."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, NewPartitions, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from services.common.settings import KafkaSettings
from services.common.topics import LOGICAL, Logical, names

log = logging.getLogger(__name__)


def client_kwargs(cfg: KafkaSettings) -> dict[str, Any]:
    """Connection settings shared by every kafka-python client (TLS/SASL from settings)."""
    kw: dict[str, Any] = {
        "bootstrap_servers": (cfg.bootstrap or "").split(","),
        "security_protocol": cfg.security_protocol,
    }
    if cfg.sasl_mechanism:
        kw["sasl_mechanism"] = cfg.sasl_mechanism
        kw["sasl_plain_username"] = cfg.sasl_username
        kw["sasl_plain_password"] = cfg.sasl_password.get_secret_value() if cfg.sasl_password else None
    if cfg.ssl_cafile:
        kw["ssl_cafile"] = cfg.ssl_cafile
    return kw


def wait_for_broker(cfg: KafkaSettings, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(**client_kwargs(cfg), request_timeout_ms=5000)
            admin.list_topics()
            admin.close()
            return
        except (KafkaError, OSError) as exc:
            last = exc
            time.sleep(0.3)
    raise RuntimeError(f"Kafka at {cfg.bootstrap} not reachable after {timeout_s}s: {last}")


def topic_configs(cfg: KafkaSettings, logical: Logical) -> dict[str, str]:
    """The configs Newsflow sets on one of its topics: the largest message, and how long it keeps messages."""
    hours = cfg.retention_hours[logical]
    return {
        "max.message.bytes": str(cfg.max_message_bytes + 65536),
        "retention.ms": str(-1 if hours == -1 else hours * 3600 * 1000),
    }


@dataclass(frozen=True)
class TopicPlan:
    """What ``newsflow topics`` does to reach the wanted layout (pure result of :func:`plan_topics`)."""

    create: dict[str, int]
    """topic -> partitions, for topics that do not exist yet"""
    grow: dict[str, int]
    """topic -> new partition count, for topics with fewer partitions than wanted"""
    keep: dict[str, int]
    """topic -> its partition count, for topics already at (or above) the wanted count"""


def plan_topics(existing: Mapping[str, int], wanted: list[str], partitions: int | None) -> TopicPlan:
    """Create missing topics with ``partitions``; with ``partitions`` given, grow smaller ones to it. Kafka cannot
    take partitions away, so a topic with more stays as it is (and a grow never shrinks)."""
    create: dict[str, int] = {}
    grow: dict[str, int] = {}
    keep: dict[str, int] = {}
    for topic in wanted:
        have = existing.get(topic)
        if have is None:
            if partitions is None:
                raise ValueError("partitions needed to create a topic")
            create[topic] = partitions
        elif partitions is not None and have < partitions:
            grow[topic] = partitions
        else:
            keep[topic] = have
    return TopicPlan(create=create, grow=grow, keep=keep)


def partition_counts(admin: KafkaAdminClient, topics: list[str]) -> dict[str, int]:
    """topic -> number of partitions, for the ``topics`` that exist."""
    existing = set(admin.list_topics())
    present = [t for t in topics if t in existing]
    if not present:
        return {}
    return {
        d["name"]: len(d["partitions"]) for d in admin.describe_topics(present) if not d.get("error_code")
    }


def create_topics(cfg: KafkaSettings, partitions: int | None = None) -> list[str]:
    """Create every Newsflow topic that does not exist yet; returns the names created."""
    parts = partitions or cfg.partitions
    tn = names(cfg.topic_prefix)
    admin = KafkaAdminClient(**client_kwargs(cfg), request_timeout_ms=10000)
    try:
        existing = set(admin.list_topics())
        wanted = [(logical, tn.of(logical)) for logical in LOGICAL if tn.of(logical) not in existing]
        if not wanted:
            return []
        new = [
            NewTopic(
                name=full,
                num_partitions=parts,
                replication_factor=cfg.replication_factor,
                topic_configs=topic_configs(cfg, logical),
            )
            for logical, full in wanted
        ]
        try:
            admin.create_topics(new, validate_only=False)
        except TopicAlreadyExistsError:
            pass
        return [full for _, full in wanted]
    finally:
        admin.close()


def ensure_topics(cfg: KafkaSettings, partitions: int | None = None) -> TopicPlan:
    """``newsflow topics``: create missing topics (``partitions`` or the setting), grow existing ones to
    ``partitions`` when given, and set every topic's retention and message size from the settings (before
    growing, so a broker that refuses to grow still gets them).

    Growing is safe for Newsflow: no stage keys state by partition (dedupe state lives in the search server, the
    index is written by article id), so messages of one key landing on a new partition are handled the same.
    Raises the broker's error when it refuses (the embedded Tansu broker has no CreatePartitions)."""
    tn = names(cfg.topic_prefix)
    admin = KafkaAdminClient(**client_kwargs(cfg), request_timeout_ms=10000)
    try:
        plan = plan_topics(partition_counts(admin, tn.all()), tn.all(), partitions)
        if plan.create:
            created = create_topics(cfg, partitions or cfg.partitions)
            log.info("created topics=%s", ",".join(created) or "-")
        resources = [
            ConfigResource("TOPIC", tn.of(logical), configs=topic_configs(cfg, logical))
            for logical in LOGICAL
        ]
        admin.alter_configs(resources, incremental=True)
        if plan.grow:
            admin.create_partitions({t: NewPartitions(total_count=n) for t, n in plan.grow.items()})
            for topic, n in plan.grow.items():
                log.info("grew topic=%s partitions=%s", topic, n)
        return plan
    finally:
        admin.close()


def producer(cfg: KafkaSettings, **extra: Any) -> KafkaProducer:
    kw = client_kwargs(cfg)
    kw.update(
        acks="all", linger_ms=5, max_request_size=cfg.max_message_bytes + 65536, compression_type="gzip"
    )
    kw.update(extra)
    return KafkaProducer(**kw)


def consumer(cfg: KafkaSettings, *topics: str, group_id: str | None = None, **extra: Any) -> KafkaConsumer:
    kw = client_kwargs(cfg)
    kw.update(group_id=group_id, auto_offset_reset="earliest", enable_auto_commit=False)
    kw.update(extra)
    return KafkaConsumer(*topics, **kw)
