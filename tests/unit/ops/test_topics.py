"""`newsflow topics` planning and the topic configs Newsflow sets (services/common/kafka.py), without a broker."""

from __future__ import annotations

import pytest

from services.common.kafka import plan_topics, topic_configs
from services.common.settings import KafkaSettings, Settings

TOPICS = ["p.inbox", "p.raw", "p.unique"]


def test_missing_topics_are_created_with_the_wanted_partitions_and_smaller_ones_grown() -> None:
    plan = plan_topics({"p.inbox": 4, "p.raw": 12}, TOPICS, partitions=12)
    assert plan.create == {"p.unique": 12}
    assert plan.grow == {"p.inbox": 12}
    assert plan.keep == {"p.raw": 12}


def test_partitions_are_never_taken_away() -> None:
    plan = plan_topics({"p.inbox": 24, "p.raw": 24, "p.unique": 24}, TOPICS, partitions=12)
    assert plan.grow == {} and plan.create == {}
    assert plan.keep == {"p.inbox": 24, "p.raw": 24, "p.unique": 24}


def test_without_partitions_existing_topics_are_left_as_they_are() -> None:
    plan = plan_topics({"p.inbox": 4, "p.raw": 4, "p.unique": 4}, TOPICS, partitions=None)
    assert plan.grow == {} and plan.create == {}


def test_default_partitions_divide_evenly_among_one_to_four_and_six_workers() -> None:
    partitions = KafkaSettings().partitions
    assert all(partitions % workers == 0 for workers in (1, 2, 3, 4, 6))


def test_every_topic_gets_an_explicit_retention_and_dead_letters_are_kept_longest() -> None:
    cfg = KafkaSettings()
    hours = {name: int(topic_configs(cfg, name)["retention.ms"]) / 3_600_000 for name in cfg.retention_hours}
    assert hours["raw"] == hours["unique"] == hours["enriched"] == 14 * 24
    assert hours["deadletter"] == max(hours.values())


def test_retention_set_for_one_topic_keeps_the_defaults_of_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWSFLOW_KAFKA__RETENTION_HOURS", '{"deadletter": -1, "raw": 48}')
    cfg = Settings().kafka
    assert topic_configs(cfg, "deadletter")["retention.ms"] == "-1"
    assert topic_configs(cfg, "raw")["retention.ms"] == str(48 * 3_600_000)
    assert topic_configs(cfg, "unique")["retention.ms"] == str(14 * 24 * 3_600_000)


def test_a_retention_of_zero_hours_is_refused() -> None:
    with pytest.raises(ValueError, match="retention"):
        KafkaSettings(retention_hours={"raw": 0})


def test_the_embedded_stack_creates_fewer_partitions_than_a_configured_kafka() -> None:
    """Every partition is fetched every fetch_max_wait_ms even when idle; on one machine 4 serve 1, 2 or 4
    workers of a stage, so the embedded broker gets `embedded_partitions`, a configured Kafka `kafka.partitions`."""
    from services.common.settings import Settings
    from services.ops.embedded import Stack
    from services.ops.init import settings_for
    from services.ops.supervisor import Running

    s = Settings()
    embedded = settings_for(s, Running("127.0.0.1:1", "http://127.0.0.1:2", {}, stack=Stack.__new__(Stack)))
    given = settings_for(s, Running("kafka:9092", "http://es:9200", {}, stack=None))
    assert embedded.kafka.partitions == s.embedded_partitions == 4
    assert given.kafka.partitions == s.kafka.partitions == 12
    assert embedded.kafka.bootstrap == "127.0.0.1:1" and given.kafka.bootstrap == "kafka:9092"
