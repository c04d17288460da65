"""Pure dedupe logic: an article and the earlier articles it may repeat -> a verdict. No I/O, no clock globals.

Kinds of duplicate, strongest first:
- ``exact``: the same normalized body text, or the same canonical URL;
- ``near``: a syndicated copy (new headline, boilerplate header/footer, a dropped paragraph, a few words changed):
  3-word-shingle Jaccard or containment over a threshold, on candidates found by MinHash LSH bands;
- ``rewrite``: the same report in other words: enough of its sentences align, in order, with paraphrases in the
  other (Dice of content-word stems), leaving out sentences both share verbatim (quotes, boilerplate).

Every article also gets an ``event_id``: that of the earliest earlier article reporting the same event (within
``event_window_days``, sharing named-looking tokens, see ``same_event``), else its own id. A duplicate takes its
original's.

Where the candidates come from, and why a candidate's own verdict must be final before it is used, is the job of
``services.dedupe.engine`` and the stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from services.common.records import (
    Article,
    DuplicateArticle,
    DuplicateKind,
    DuplicateRef,
    Rejected,
    UniqueArticle,
)
from services.common.settings.dedupe import DedupeSettings
from services.common.text import digest, normalize
from services.dedupe import similarity
from services.dedupe.features import Fingerprint, fingerprint, letter_share

Verdict = Literal["unique", "duplicate"]
_RANK: dict[str, int] = {"exact": 0, "near": 1, "rewrite": 2}


def ingest_key(article: Article) -> str:
    """Identifies one arrival of an article (a redelivery has the same key, a re-ingest a new one)."""
    return f"{article.trace.ingest_id}:{article.trace.record}"


def content_hash(article: Article) -> str:
    return digest(normalize(article.body), 32)


@dataclass(frozen=True)
class Signature:
    """What dedupe keeps about one arrival: identity, time, and the fingerprint of its body."""

    ingest_key: str
    article_id: str
    source: str
    at: datetime  # published_at, else ingested_at: the time of the event it reports, for windows and expiry
    ingested_at: datetime
    fp: Fingerprint
    url_hash: str | None = None
    comparable: bool = True  # long enough to compare by similarity (else exact matching only)

    @property
    def order(self) -> tuple[datetime, str]:
        """The deterministic order of arrivals: (ingested_at, ingest_key). Ties between workers break on it."""
        return (self.ingested_at, self.ingest_key)

    @property
    def exact_keys(self) -> tuple[str, ...]:
        keys = ("text:" + self.fp.content_hash,)
        return (*keys, "url:" + self.url_hash) if self.url_hash else keys

    @property
    def band_keys(self) -> list[int]:
        """LSH band keys (none for texts too short to compare)."""
        return [int(b) for b in self.fp.bands] if self.comparable else []

    @property
    def keys(self) -> tuple[str, ...]:
        """Retrieval keys that mean 'maybe a copy', as strings: the exact hashes and the LSH bands."""
        return self.exact_keys + tuple(f"b{b:016x}" for b in self.band_keys)

    @property
    def terms(self) -> tuple[str, ...]:
        """Retrieval keys that mean 'maybe the same story or event': rare-looking names."""
        return self.fp.terms if self.comparable else ()


@dataclass(frozen=True)
class Decision:
    """The final verdict on one arrival. Written once to the store; never changes (later arrivals build on it)."""

    ingest_key: str
    article_id: str
    source: str
    verdict: Verdict
    event_id: str
    at: datetime
    kind: DuplicateKind | None = None
    similarity: float | None = None
    original_key: str | None = None  # ingest key of the unique article this one duplicates
    original_id: str | None = None
    original_source: str | None = None


@dataclass(frozen=True)
class Known:
    """An earlier arrival with its final decision: the only kind of candidate ``judge`` accepts."""

    sig: Signature
    decision: Decision


@dataclass
class _Match:
    kind: DuplicateKind
    similarity: float
    known: Known


@dataclass
class Explained:
    """A decision and why (the scores of the chosen match), for the CLI and logs."""

    decision: Decision
    reasons: dict[str, float] = field(default_factory=dict)


def signature(article: Article, cfg: DedupeSettings) -> Signature | Rejected:
    """The signature of an article, or why it cannot be compared at all."""
    if not article.body.strip():
        return Rejected(reason="empty-body", detail="the article body is empty", trace=article.trace)
    share = letter_share(article.body)
    if share < cfg.min_letter_share:
        return Rejected(
            reason="not-text",
            trace=article.trace,
            detail=f"only {share:.0%} of the characters are letters (min {cfg.min_letter_share:.0%})",
        )
    fp = fingerprint(
        article.body,
        shingle_size=cfg.shingle_size,
        num_perm=cfg.num_perm,
        bands=cfg.lsh_bands,
        rows=cfg.lsh_rows,
        max_terms=cfg.max_terms,
    )
    return Signature(
        ingest_key=ingest_key(article),
        article_id=article.id,
        source=article.source,
        at=article.published_at or article.ingested_at,
        ingested_at=article.ingested_at,
        fp=fp,
        url_hash=digest(article.canonical_url, 32) if article.canonical_url else None,
        comparable=fp.n_words >= cfg.min_words,
    )


def compare(a: Signature, b: Signature, cfg: DedupeSettings) -> similarity.Pair:
    return similarity.compare(a.fp, b.fp, min_dice=cfg.rewrite_sentence_dice)


def same_event(a: Signature, b: Signature, pair: similarity.Pair | None, cfg: DedupeSettings) -> bool:
    """Two reports of one event: close in time, naming the same people/places (outside shared boilerplate):
    many of them, or fewer and corroborated by a quote or paraphrased sentences in common."""
    if abs(a.at - b.at) > timedelta(days=cfg.event_window_days):
        return False
    if not (a.comparable and b.comparable):
        return False
    p = pair or compare(a, b, cfg)
    if p.names_shared < cfg.event_min_shared_names:
        return False
    corroborated = p.shared_quote or p.aligned >= cfg.event_min_aligned
    return p.names_jaccard >= cfg.event_name_jaccard or (
        p.names_jaccard >= cfg.event_name_jaccard_corroborated and corroborated
    )


def match(
    a: Signature, b: Signature, cfg: DedupeSettings
) -> tuple[DuplicateKind | None, float, similarity.Pair | None]:
    """Is ``a`` a duplicate of ``b``, of which kind, how similar; plus the sentence comparison if one was made."""
    return match_many(a, [b], cfg)[0]


def match_many(
    a: Signature, bs: Sequence[Signature], cfg: DedupeSettings
) -> list[tuple[DuplicateKind | None, float, similarity.Pair | None]]:
    """``match`` against each of ``bs``; the sentence comparisons run in one batch, and only where no candidate is
    an exact or near copy (a rewrite never outranks those)."""
    out: list[tuple[DuplicateKind | None, float, similarity.Pair | None]] = []
    rest: list[int] = []
    for i, b in enumerate(bs):
        if a.fp.content_hash == b.fp.content_hash or (a.url_hash is not None and a.url_hash == b.url_hash):
            out.append(("exact", 1.0, None))
            continue
        if not (a.comparable and b.comparable):
            out.append((None, 0.0, None))
            continue
        nr = similarity.near(a.fp, b.fp)
        if nr.jaccard >= cfg.near_jaccard or nr.containment >= cfg.near_containment:
            out.append(("near", round(nr.containment, 4), None))
            continue
        out.append((None, 0.0, None))
        rest.append(i)
    if rest and not any(kind for kind, _, _ in out):
        pairs = similarity.compare_many(a.fp, [bs[i].fp for i in rest], min_dice=cfg.rewrite_sentence_dice)
        for i, p in zip(rest, pairs, strict=True):
            if p.aligned >= cfg.rewrite_min_aligned and p.share >= cfg.rewrite_min_share:
                out[i] = ("rewrite", round(p.share, 4), p)
            else:
                out[i] = (None, 0.0, p)
    return out


def judge(sig: Signature, candidates: Sequence[Known], cfg: DedupeSettings) -> Explained:
    """The verdict on ``sig`` given earlier arrivals whose own verdicts are final.

    Duplicate of the strongest match (exact > near > rewrite, then most similar, then earliest); its original is
    the match's own original when the match is itself a duplicate, so chains never form. Unique otherwise, with the
    event of the earliest candidate reporting the same event.
    """
    best: _Match | None = None
    aligns: dict[str, similarity.Pair | None] = {}
    others = [k for k in candidates if k.sig.ingest_key != sig.ingest_key]
    for k, (kind, sim, al) in zip(others, match_many(sig, [k.sig for k in others], cfg), strict=True):
        aligns[k.sig.ingest_key] = al
        if kind is None:
            continue
        if best is None or (_RANK[kind], -sim, k.sig.order) < (
            _RANK[best.kind],
            -best.similarity,
            best.known.sig.order,
        ):
            best = _Match(kind, sim, k)
    if best is not None:
        d = best.known.decision
        if d.verdict == "duplicate":
            okey, oid, osrc = d.original_key, d.original_id, d.original_source
        else:
            okey, oid, osrc = d.ingest_key, d.article_id, d.source
        return Explained(
            Decision(
                ingest_key=sig.ingest_key,
                article_id=sig.article_id,
                source=sig.source,
                verdict="duplicate",
                event_id=d.event_id,
                at=sig.at,
                kind=best.kind,
                similarity=best.similarity,
                original_key=okey,
                original_id=oid,
                original_source=osrc,
            ),
            {"similarity": best.similarity},
        )
    event_id = sig.article_id
    for k in sorted(candidates, key=lambda c: (c.sig.at, c.sig.order)):
        if k.sig.ingest_key != sig.ingest_key and same_event(sig, k.sig, aligns.get(k.sig.ingest_key), cfg):
            event_id = k.decision.event_id
            break
    return Explained(
        Decision(
            ingest_key=sig.ingest_key,
            article_id=sig.article_id,
            source=sig.source,
            verdict="unique",
            event_id=event_id,
            at=sig.at,
        )
    )


def to_record(
    article: Article, decision: Decision, seen_at: datetime, content_hash_: str | None = None
) -> UniqueArticle | DuplicateArticle:
    """The message for the unique or duplicates topic (``content_hash_``: the body's hash, when known)."""
    if decision.verdict == "duplicate":
        assert decision.original_id is not None and decision.kind is not None
        return DuplicateArticle(
            original_id=decision.original_id,
            event_id=decision.event_id,
            trace=article.trace,
            ingested_at=article.ingested_at,
            duplicate=DuplicateRef(
                source=article.source,
                url=article.url,
                kind=decision.kind,
                similarity=decision.similarity if decision.similarity is not None else 1.0,
                seen_at=seen_at,
                article_id=article.id,
                ingest_key=decision.ingest_key,
            ),
        )
    return UniqueArticle(
        **article.model_dump(),
        event_id=decision.event_id,
        content_hash=content_hash_ or content_hash(article),
    )
