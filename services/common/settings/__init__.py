"""All settings of a Newsflow process, in one frozen object read once at start.

Every field can be set from the environment with the ``NEWSFLOW_`` prefix; nested groups use ``__``
(``NEWSFLOW_DEDUPE__WINDOW_DAYS=30``). Secrets are ``SecretStr``: ``newsflow config`` prints them masked.
Each worker's own group lives in a module beside this one so that a worker's knobs are found in one guess.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.settings.dedupe import DedupeSettings
from services.common.settings.enrich import EnrichSettings
from services.common.settings.index import IndexSettings
from services.common.settings.ingest import IngestSettings
from services.common.topics import LOGICAL, Logical

DEFAULT_RETENTION_HOURS: dict[Logical, int] = {
    "inbox": 14 * 24,
    "raw": 14 * 24,
    "unique": 14 * 24,
    "duplicates": 14 * 24,
    "enriched": 14 * 24,
    "indexed": 7 * 24,
    "deadletter": 90 * 24,
}
"""Hours each topic keeps its messages: a stage may be down this long before its input expires unread."""


class KafkaSettings(BaseModel):
    """How workers reach Kafka. Unset ``bootstrap`` means: start the embedded Tansu broker."""

    model_config = ConfigDict(frozen=True)

    bootstrap: str | None = Field(None, description="host:port[,host:port]; unset = embedded Tansu broker")
    topic_prefix: str = Field("newsflow", description="prefix of every topic name")
    partitions: int = Field(
        12,
        ge=1,
        description="partitions per topic when Newsflow creates them (12 divides evenly among 1, 2, 3, 4 or 6 "
        "workers of a stage); `newsflow topics --partitions N` grows a running deployment",
    )
    retention_hours: dict[Logical, int] = Field(
        default_factory=lambda: dict(DEFAULT_RETENTION_HOURS),
        description="hours each topic keeps messages (JSON; topics left out keep their default: 336 for the "
        "data topics, 168 for indexed, 2160 for deadletter; -1 = forever): how long a stage may be down, and "
        "how old a dead letter `dlq replay` can still find",
    )
    lag_interval_s: float = Field(
        15.0,
        ge=1.0,
        description="seconds between two reads of every stage's committed and end offsets "
        "(newsflow_consumer_lag); Prometheus scrapes every 15 s",
    )
    lag_probe_end: bool = Field(
        False,
        description="also read each partition's last record batch to find its true end: for brokers whose "
        "ListOffsets answers the last batch's base offset (the embedded Tansu); one fetch per partition per read",
    )
    replication_factor: int = Field(1, ge=1, description="replication factor of created topics")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="TLS and/or SASL to the brokers (only PLAINTEXT is tested here)"
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SASL mechanism with SASL_PLAINTEXT/SASL_SSL"
    )
    sasl_username: str | None = Field(None, description="SASL user")
    sasl_password: SecretStr | None = Field(None, description="SASL password (masked in `newsflow config`)")
    ssl_cafile: str | None = Field(None, description="CA bundle for SSL/SASL_SSL")
    session_timeout_s: float = Field(
        10.0, description="consumer session timeout; short so a dead worker's partitions move fast"
    )
    heartbeat_interval_s: float = Field(3.0, description="consumer heartbeat interval")
    max_message_bytes: int = Field(4 * 1024 * 1024, description="largest message the producers send")
    fetch_max_wait_ms: int = Field(
        200,
        ge=1,
        le=1500,
        description="longest a worker's fetch waits on an empty partition (faust hard-codes 1500 ms). Kafka "
        "answers a fetch as soon as data arrives, so there it only bounds idle polling; Tansu holds the fetch "
        "the whole wait, which adds up to this much latency per hop; shorter waits cost idle polling (0.08 "
        "core at 100 ms vs 0.05 at 500 ms, broker and workers)",
    )

    @field_validator("retention_hours")
    @classmethod
    def _retention_for_every_topic(cls, value: dict[Logical, int]) -> dict[Logical, int]:
        """A partial mapping (``{"deadletter": 4320}``) keeps the defaults of the topics it leaves out."""
        bad = {k: v for k, v in value.items() if v != -1 and v < 1}
        if bad:
            raise ValueError(f"retention hours must be >= 1 or -1 (forever): {bad}")
        return {name: value.get(name, DEFAULT_RETENTION_HOURS[name]) for name in LOGICAL}


class ElasticSettings(BaseModel):
    """How workers reach Elasticsearch. Unset ``url`` means: start the embedded osmem server."""

    model_config = ConfigDict(frozen=True)

    url: str | None = Field(None, description="http(s)://host:port; unset = embedded osmem server")
    username: str | None = Field(None, description="basic-auth user")
    password: SecretStr | None = Field(None, description="basic-auth password (masked)")
    api_key: SecretStr | None = Field(None, description="API key, preferred over user/password (masked)")
    ca_certs: str | None = Field(None, description="CA bundle for https")
    verify_certs: bool = Field(True, description="verify the server certificate over https")
    compat: Literal["elasticsearch", "osmem"] = Field(
        "elasticsearch",
        description="'osmem' rewrites the vendor JSON media type that osmem answers with 406; never for real ES",
    )
    index_prefix: str = Field("newsflow-articles", description="versioned indices are <prefix>-v<N>")
    alias: str = Field("newsflow-articles", description="read alias (and write alias with is_write_index)")
    dedupe_index: str = Field("newsflow-dedupe", description="dedupe state (claims and signatures)")
    request_timeout_s: float = Field(30.0, description="per request; a bulk that takes longer is retried")


class RetrySettings(BaseModel):
    """How a worker retries its step when a dependency (the search server) fails: one policy for every stage."""

    model_config = ConfigDict(frozen=True)

    base_s: float = Field(0.5, gt=0, description="first retry delay; doubles each try (full jitter)")
    max_s: float = Field(
        10.0, gt=0, description="longest delay between tries, also while a dependency is down"
    )
    attempts: int = Field(
        5,
        ge=0,
        description="tries of a batch a dependency refused (429/5xx) before its records are dead-lettered "
        "(retries-exhausted); an unreachable dependency is waited for without limit (consumption pauses)",
    )


class SupervisorSettings(BaseModel):
    """How ``newsflow up`` keeps the embedded stack's data and stops it (``NEWSFLOW_SUPERVISOR__*``)."""

    model_config = ConfigDict(frozen=True)

    persist: bool = Field(
        True,
        description="`newsflow up` with the embedded search server snapshots its indices under the data dir and "
        "restores them at the next start (real Elasticsearch keeps its own data)",
    )
    snapshot_interval_s: float = Field(
        60.0,
        ge=0,
        description="seconds between periodic snapshots while something changed (0 = only at a clean stop)",
    )
    drain_timeout_s: float = Field(
        30.0,
        ge=0,
        description="at Ctrl-C/SIGTERM, longest wait for every stage to catch up before stopping; what is left "
        "in the broker then goes to the replay file that the next start sends first",
    )
    stop_timeout_s: float = Field(
        3.0,
        gt=0,
        description="longest wait for a worker or server to exit after SIGTERM before SIGKILL (safe: offsets "
        "are committed only after the writes went through, and what is left goes to the replay file)",
    )
    pid: int | None = Field(
        None,
        description="set by the supervisor for its workers: a worker exits by itself when this process is gone",
    )


class Settings(BaseSettings):
    """The root settings object: one per process."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSFLOW_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    es: ElasticSettings = Field(default_factory=ElasticSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    dedupe: DedupeSettings = Field(default_factory=DedupeSettings)
    enrich: EnrichSettings = Field(default_factory=EnrichSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    supervisor: SupervisorSettings = Field(default_factory=SupervisorSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)

    web_host: str = Field("127.0.0.1", description="bind address of each worker's health+metrics web server")
    web_port: int = Field(0, ge=0, description="health+metrics port of this worker; 0 = pick a free one")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="key=value logs on stderr"
    )
    log_format: Literal["keyvalue", "json"] = Field(
        "keyvalue",
        description="'keyvalue': `ts= level= stage= logger= message` lines; 'json': one JSON object a line "
        "with the message's key=value fields as keys",
    )
    data_dir: str = Field(
        ".newsflow",
        description="run files and kept data of the embedded stack (addresses, logs, index snapshots, replay file)",
    )
    embedded_partitions: int = Field(
        4,
        ge=1,
        description="partitions per topic on the embedded broker (one machine: 4 serve 1, 2 or 4 workers of a "
        "stage; every partition is fetched every fetch_max_wait_ms even when idle: 12 cost the broker twice the "
        "CPU of 4); `kafka.partitions` is for the configured Kafka",
    )
    embedded_search_gogc: int = Field(
        400,
        ge=25,
        description="GOGC of the embedded osmem server (a Go program): collect its heap less often than Go's "
        "default 100, which costs ~25% of its CPU under dedupe load (embedded stack only)",
    )
    embedded_search_memory_limit_mb: int = Field(
        1536,
        ge=256,
        description="GOMEMLIMIT of the embedded osmem server: it collects harder as its heap nears this size, so "
        "the GOGC above does not let its memory grow unbounded (embedded stack only)",
    )
    dlq_max_failure_ratio: float = Field(
        0.8,
        gt=0,
        le=1,
        description="a worker stops (instead of draining into the dead-letter topic) when more than this share "
        "of a window fails",
    )
    dlq_window: int = Field(50, ge=1, description="messages per failure-ratio window")
    dlq_max_payload_bytes: int = Field(256 * 1024, description="larger payloads are cut in the dead letter")


def masked(settings: Settings) -> dict[str, Any]:
    """The settings as a dict for printing, secrets shown as ``**********``."""
    return settings.model_dump(mode="json")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once from the environment (the only place that reads it)."""
    return Settings()
