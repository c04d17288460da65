"""Preparing a deployment: topics, index template and write alias (``newsflow init``), and the settings of a
process pointed at a running (embedded) stack."""

from __future__ import annotations

from services.common.kafka import create_topics, wait_for_broker
from services.common.settings import Settings
from services.index.template import prepare_index
from services.ops.supervisor import Running


def settings_for(settings: Settings, running: Running) -> Settings:
    """The settings of this process pointed at the running servers."""
    es_cfg = settings.es.model_copy(
        update={"url": running.es_url, "compat": "osmem" if running.stack else settings.es.compat}
    )
    kafka: dict[str, object] = {"bootstrap": running.bootstrap}
    if running.stack:
        kafka["partitions"] = settings.embedded_partitions
    return settings.model_copy(update={"kafka": settings.kafka.model_copy(update=kafka), "es": es_cfg})


def init(settings: Settings) -> None:
    """Topics, index template, versioned index and write alias: idempotent."""
    wait_for_broker(settings.kafka)
    create_topics(settings.kafka)
    prepare_index(settings.es)
