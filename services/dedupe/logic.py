"""Pure dedupe logic. Exact duplicates: same normalized body text, or same canonical URL.

Decisions are made in two steps so that the state can live in a shared store: ``claims_for`` says which keys an
article claims; the store answers who owns each key (first writer wins); ``decide`` turns the owners into a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.common.records import Article, DuplicateArticle, DuplicateKind, DuplicateRef, UniqueArticle
from services.common.text import digest, normalize


def ingest_key(article: Article) -> str:
    """Identifies one arrival of an article (a redelivery has the same key, a re-ingest a new one)."""
    return f"{article.trace.ingest_id}:{article.trace.record}"


@dataclass(frozen=True)
class Claim:
    key: str
    kind: DuplicateKind
    article_id: str
    ingest_key: str
    source: str
    at: datetime


@dataclass(frozen=True)
class Owner:
    article_id: str
    ingest_key: str
    source: str


def content_hash(article: Article) -> str:
    return digest(normalize(article.body), 32)


def claims_for(article: Article) -> list[Claim]:
    at = article.published_at or article.ingested_at
    base = {"article_id": article.id, "ingest_key": ingest_key(article), "source": article.source, "at": at}
    claims = [Claim(key="text:" + content_hash(article), kind="exact", **base)]  # type: ignore[arg-type]
    if article.canonical_url:
        claims.append(Claim(key="url:" + digest(article.canonical_url, 32), kind="exact", **base))  # type: ignore[arg-type]
    return claims


def decide(
    article: Article, claims: Sequence[Claim], owners: Mapping[str, Owner], now: datetime
) -> UniqueArticle | DuplicateArticle:
    """Unique unless another arrival owns one of this article's keys."""
    mine = ingest_key(article)
    for claim in claims:
        owner = owners.get(claim.key)
        if owner is not None and owner.ingest_key != mine:
            return DuplicateArticle(
                original_id=owner.article_id,
                event_id=owner.article_id,
                trace=article.trace,
                ingested_at=article.ingested_at,
                duplicate=DuplicateRef(source=article.source, url=article.url, kind=claim.kind, similarity=1.0,
                                       seen_at=now, article_id=article.id, ingest_key=mine),
            )
    return UniqueArticle(**article.model_dump(), event_id=article.id, content_hash=content_hash(article))
