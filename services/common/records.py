"""Message records of every topic. JSON on the wire (orjson), never pickle.

The JSON Schemas in ``schemas/`` are generated from these models (``newsflow schemas --write``) and a test
keeps them in step. Unknown fields are ignored when reading, so producers may add fields freely.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.common.topics import Stage

DuplicateKind = Literal["exact", "near", "rewrite"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=False))


class Trace(Record):
    """Where an article came from, so every input can be followed to its end (indexed or dead-lettered)."""

    ingest_id: str = Field(description="id of the ingest request (one file, one push, one feed entry)")
    record: int = Field(0, ge=0, description="index of this record inside the request")
    records: int = Field(1, ge=1, description="number of records the request held, good and bad")
    source: str = Field(description="the input as given: a path, a URL, 'push'")

    @property
    def ingest_key(self) -> str:
        """``ingest_id:record``: one arrival of one input record. A redelivery has the same key, a re-ingest of
        the same file a new one; recording a duplicate under it is what makes that idempotent."""
        return f"{self.ingest_id}:{self.record}"


class InboxItem(Record):
    """An input for the ingest worker to parse: raw bytes of a file/page/push body and how to read them."""

    ingest_id: str
    source: str
    kind: Literal["auto", "txt", "json", "jsonl", "html"] = "auto"
    content_b64: str = Field(description="the input bytes, base64: encodings are detected by ingest")
    url: str | None = None
    received_at: datetime = Field(default_factory=utcnow)


class Article(Record):
    """A parsed article (topic: raw)."""

    id: str = Field(
        description="stable id: from the canonical URL when there is one, else from the normalized text"
    )
    trace: Trace
    source: str
    title: str = ""
    body: str
    url: str | None = None
    canonical_url: str | None = None
    outlet: str | None = Field(None, description="publisher name or host")
    author: str | None = None
    published_at: datetime | None = None
    ingested_at: datetime = Field(default_factory=utcnow)
    language: str | None = None


class DuplicateRef(Record):
    """One copy recorded on the canonical document."""

    source: str
    url: str | None = None
    kind: DuplicateKind
    similarity: float
    seen_at: datetime
    article_id: str
    ingest_key: str = Field(description="ingest_id:record of the copy; makes recording it idempotent")


class UniqueArticle(Article):
    """An article judged unique (topic: unique)."""

    event_id: str
    content_hash: str


class DuplicateArticle(Record):
    """An article judged a duplicate of an earlier one (topic: duplicates)."""

    original_id: str
    event_id: str
    duplicate: DuplicateRef
    trace: Trace
    ingested_at: datetime


class Mention(Record):
    text: str
    type: str
    start: int
    end: int
    id: str
    name: str
    kb_id: str | None = None  # knowledge-base id when linked ("geonames:703448", "wikidata:Q7747")
    kb_name: str | None = None  # the knowledge base's name of it


class Entity(Record):
    id: str
    name: str
    type: str
    mentions: int
    aliases: list[str] = Field(default_factory=list)
    kb_id: str | None = (
        None  # knowledge-base id when linked; ``id`` is then the same (a demonym: <kb_id>#norp)
    )
    kb_name: str | None = None


class EnrichedArticle(UniqueArticle):
    """An article with its entities (topic: enriched)."""

    entities: list[Entity] = Field(default_factory=list)
    mentions: list[Mention] = Field(default_factory=list)
    ner_truncated: bool = False


class IndexedAck(Record):
    """What reached the index (topic: indexed): one per document written or duplicate recorded."""

    article_id: str
    kind: Literal["document", "duplicate"]
    original_id: str
    trace: Trace
    ingested_at: datetime
    indexed_at: datetime


class Origin(Record):
    topic: str
    partition: int
    offset: int


class DeadLetter(Record):
    """A message a stage could not process, with why (topic: deadletter)."""

    stage: Stage
    reason: str = Field(description="short fixed code, e.g. 'empty-body', 'invalid-json', 'mapping-error'")
    detail: str = Field("", description="human-readable explanation")
    origin: Origin | None = None
    trace: Trace | None = None
    payload: str = Field("", description="original payload (utf-8, lossy) cut to dlq_max_payload_bytes")
    payload_truncated: bool = False
    payload_bytes: int = 0
    at: datetime = Field(default_factory=utcnow)


R = TypeVar("R", bound=Record)


class Rejected(Record):
    """An error as a value: the step could not accept its input."""

    reason: str
    detail: str = ""
    trace: Trace | None = None


_MAX_JSON_DEPTH = 64


def _too_deep(raw: bytes, limit: int = _MAX_JSON_DEPTH) -> bool:
    depth = 0
    in_str = False
    esc = False
    for b in raw:
        if in_str:
            if esc:
                esc = False
            elif b == 0x5C:
                esc = True
            elif b == 0x22:
                in_str = False
        elif b == 0x22:
            in_str = True
        elif b in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif b in (0x5D, 0x7D):
            depth -= 1
    return False


def decode(model: type[R], raw: bytes | str | None) -> R | Rejected:
    """Decode a topic payload into ``model`` or return why it cannot be (never raises)."""
    if raw is None:
        return Rejected(reason="empty-message", detail="message has no value")
    data = raw.encode() if isinstance(raw, str) else raw
    try:
        obj: Any = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if _too_deep(data):
            return Rejected(reason="json-too-deep", detail=f"nesting deeper than {_MAX_JSON_DEPTH}")
        return Rejected(reason="invalid-json", detail=str(exc)[:300])
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        return Rejected(reason="invalid-record", detail=_short_errors(exc))


def _short_errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


TOPIC_RECORDS: dict[str, type[Record]] = {
    "inbox": InboxItem,
    "raw": Article,
    "unique": UniqueArticle,
    "duplicates": DuplicateArticle,
    "enriched": EnrichedArticle,
    "indexed": IndexedAck,
    "deadletter": DeadLetter,
}
