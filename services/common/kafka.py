"""Kafka admin and plain producer/consumer helpers (kafka-python) for tools: init, ingest CLI, demo, dlq."""

from __future__ import annotations

import logging
import time
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from services.common.settings import KafkaSettings
from services.common.topics import names

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


def create_topics(cfg: KafkaSettings, partitions: int | None = None) -> list[str]:
    """Create every Newsflow topic that does not exist yet; returns the names created."""
    parts = partitions or cfg.partitions
    tn = names(cfg.topic_prefix)
    admin = KafkaAdminClient(**client_kwargs(cfg), request_timeout_ms=10000)
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in tn.all() if t not in existing]
        if not wanted:
            return []
        new = [
            NewTopic(
                name=t,
                num_partitions=parts,
                replication_factor=cfg.replication_factor,
                topic_configs={"max.message.bytes": str(cfg.max_message_bytes + 65536)},
            )
            for t in wanted
        ]
        try:
            admin.create_topics(new, validate_only=False)
        except TopicAlreadyExistsError:
            pass
        return wanted
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
