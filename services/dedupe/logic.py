"""Pure dedupe logic: an article and the earlier articles it may repeat -> a verdict. No I/O, no clock globals.

Kinds of duplicate, strongest first:
- ``exact``: the same normalized body text, or the same canonical URL;
- ``near``: a syndicated copy (new headline, boilerplate header/footer, a dropped paragraph, a few words changed):
  3-word-shingle Jaccard or containment over a threshold, on candidates found by MinHash LSH bands, *and* most of
  the shorter text's informative sentences have a counterpart, the two start with the same lead, and no key fact
  differs;
- ``rewrite``: the same report in other words: enough of its sentences align, in order, with paraphrases in the
  other (Dice of content-word stems), leaving out sentences both share verbatim (quotes, boilerplate); the leads
  agree and no key fact differs (numbers, calendar words, names, tentative vs done).

Precision first: a false duplicate hides a real article, a missed one costs a copy in search. So a follow-up
(a new lead over reused background) is unique, with the event of its predecessor. Stock passages (sentences seen
in many unique articles) count for nothing; an article that is mostly stock, or too short, is matched by exact keys
only, and its decision says so (``reason``).

Every unique article joins an *event* (see ``choose_event``): a cluster of reports within ``event_span_days`` of
the event's first article, joined when the article matches the event's core names, not just any one member. A
duplicate takes its original's event. When an article matches two events, the later-founded one is recorded as
merged into the earlier (``merges``): decided event ids never change, search resolves the merge.

Where the candidates come from, and why a candidate's own verdict must be final before it is used, is the job of
``services.dedupe.engine`` and the stores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Literal

import numpy as np
import numpy.typing as npt

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
from services.dedupe import kernels, similarity
from services.dedupe.features import Fingerprint, fingerprint, letter_share

Stock = Callable[[Fingerprint], npt.NDArray[np.bool_]]
"""Which sentences of a fingerprint are stock passages (seen in many unique articles)."""

Verdict = Literal["unique", "duplicate"]
_RANK: dict[str, int] = {"exact": 0, "near": 1, "rewrite": 2}


def ingest_key(article: Article) -> str:
    """Identifies one arrival of an article (a redelivery has the same key, a re-ingest a new one)."""
    return article.trace.ingest_key


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

    def stored(self) -> Signature:
        """The signature as a store keeps it (see ``Fingerprint.for_verification``)."""
        return replace(self, fp=self.fp.for_verification())

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
        return self.fp.bands.tolist() if self.comparable else []

    @cached_property  # the search store writes them and searches by them: formatted once
    def keys(self) -> tuple[str, ...]:
        """Retrieval keys that mean 'maybe a copy', as strings: the exact hashes and the LSH bands."""
        return self.exact_keys + tuple(f"b{b:016x}" for b in self.band_keys)

    @property
    def terms(self) -> tuple[str, ...]:
        """Retrieval keys that mean 'maybe the same story or event': rare-looking names."""
        return self.fp.terms if self.comparable else ()


@dataclass(frozen=True, slots=True)  # slots: the memory store keeps one per seen article
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
    event_start: datetime | None = (
        None  # time of the event's first article (None in state from before events)
    )
    reason: str | None = None  # why similarity was not used: "too-short", "boilerplate"
    merges: tuple[str, ...] = ()  # events found to be this decision's event (recorded as merged into it)

    @property
    def event_began(self) -> datetime:
        return self.event_start or self.at


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


def may_share_event(a: Signature, b: Signature, cfg: DedupeSettings) -> bool:
    """What ``same_event`` asks before it compares sentences: close enough in time, both comparable."""
    return abs(a.at - b.at) <= timedelta(days=cfg.event_window_days) and a.comparable and b.comparable


def same_event(a: Signature, b: Signature, pair: similarity.Pair | None, cfg: DedupeSettings) -> bool:
    """Two reports of one event: close in time, naming the same people/places (outside shared boilerplate):
    many of them, or fewer and corroborated by a quote or paraphrased sentences in common."""
    if not may_share_event(a, b, cfg):
        return False
    p = pair or compare(a, b, cfg)
    if p.verbatim >= cfg.event_min_aligned and max(p.cover_a, p.cover_b) >= 0.5:
        # most of one is copied from the other (not stock): a follow-up over its predecessor's background. Its
        # names are in the copied sentences, which the name overlap below leaves out (for boilerplate's sake).
        return True
    if p.names_shared < cfg.event_min_shared_names:
        return False
    # corroboration: the same quote, paraphrased facts, or much of one text copied (a follow-up over its
    # predecessor's background; an outlet's template alone covers little of either)
    copied = p.verbatim >= cfg.event_min_aligned and max(p.cover_a, p.cover_b) >= 0.4
    corroborated = p.shared_quote or p.aligned >= cfg.event_min_aligned or copied
    return p.names_jaccard >= cfg.event_name_jaccard or (
        p.names_jaccard >= cfg.event_name_jaccard_corroborated and corroborated
    )


def _no_stock(fp: Fingerprint) -> npt.NDArray[np.bool_]:
    return np.zeros(fp.n_sentences, dtype=np.bool_)


def stock_share(fp: Fingerprint, stock: Stock, min_terms: int = 3) -> float:
    """Share of the informative sentences (>= ``min_terms`` content words) that are stock passages."""
    big = fp.sent_sizes >= min_terms
    n = int(big.sum())
    return float((stock(fp) & big).sum()) / n if n else 0.0


def similarity_reason(sig: Signature, cfg: DedupeSettings, stock: Stock | None) -> str | None:
    """Why ``sig`` may be matched by exact keys only (None when it can be judged by similarity)."""
    if not sig.comparable:
        return "too-short"
    if stock is not None and stock_share(sig.fp, stock) >= cfg.max_stock_share:
        return "boilerplate"
    return None


def _leads_agree(
    p: similarity.Pair, a: Fingerprint, b: Fingerprint, cfg: DedupeSettings, paraphrased: bool
) -> bool:
    """Both start with the same lead: at most ``lead_slack`` informative sentences, and at most
    ``lead_max_share`` of the text, come before the first that has a counterpart in the other's lead."""
    la, lb = (p.para_lead_a, p.para_lead_b) if paraphrased else (p.lead_a, p.lead_b)
    na = max(int((a.sent_sizes >= 3).sum()), 1)
    nb = max(int((b.sent_sizes >= 3).sum()), 1)
    return (
        la <= cfg.lead_slack
        and lb <= cfg.lead_slack
        and la / na <= cfg.lead_max_share
        and lb / nb <= cfg.lead_max_share
    )


def _same_facts(a: Signature, b: Signature, cfg: DedupeSettings) -> bool:
    return similarity.fact_conflicts_both(a.fp, b.fp, min_dice=cfg.rewrite_sentence_dice) == (0, 0)


def match(
    a: Signature, b: Signature, cfg: DedupeSettings
) -> tuple[DuplicateKind | None, float, similarity.Pair | None]:
    """Is ``a`` a duplicate of ``b``, of which kind, how similar; plus the sentence comparison if one was made."""
    return match_many(a, [b], cfg)[0]


def compare_with_stock(
    a: Signature, bs: Sequence[Signature], cfg: DedupeSettings, stock: Stock | None = None
) -> list[similarity.Pair]:
    """The sentence comparison of ``a`` with each of ``bs``, stock passages discounted: the Pairs ``match_many``
    judges by and ``choose_event`` groups by."""
    st = stock or _no_stock
    return similarity.compare_many(
        a.fp,
        [b.fp for b in bs],
        min_dice=cfg.rewrite_sentence_dice,
        a_stock=st(a.fp),
        b_stocks=[st(b.fp) for b in bs],
    )


def match_many(
    a: Signature,
    bs: Sequence[Signature],
    cfg: DedupeSettings,
    stock: Stock | None = None,
    exact_only: bool = False,
    match_only: Sequence[bool] | None = None,
) -> list[tuple[DuplicateKind | None, float, similarity.Pair | None]]:
    """``match`` against each of ``bs``; the sentence comparisons run in one batch. ``exact_only``: ``a`` is too
    short or too boilerplate to judge by similarity (exact keys still count). ``match_only``: the candidates
    whose sentence comparison is wanted only for their own match, not for events: one that is not near by its
    shingles and that cannot have ``rewrite_min_aligned`` paraphrased sentences (``similarity.most_aligned``)
    cannot match, and is not compared (its Pair is None). The verdicts are the same; retrieval's chance
    candidates (an LSH band shared by chance with one of the ever more articles seen) cost a fraction."""
    out: list[tuple[DuplicateKind | None, float, similarity.Pair | None]] = []
    rest: list[int] = []
    shingles: dict[int, similarity.Near] = {}
    unlikely: list[int] = []
    for i, b in enumerate(bs):
        if a.fp.content_hash == b.fp.content_hash or (a.url_hash is not None and a.url_hash == b.url_hash):
            out.append(("exact", 1.0, None))
            continue
        out.append((None, 0.0, None))
        if exact_only or not (a.comparable and b.comparable):
            continue
        nr = shingles[i] = similarity.near(a.fp, b.fp)
        if (
            match_only is not None
            and match_only[i]
            and nr.jaccard < cfg.near_jaccard
            and nr.containment < cfg.near_containment
        ):
            unlikely.append(i)  # a rewrite or nothing
            continue
        rest.append(i)
    if unlikely:
        bound = similarity.most_aligned(
            a.fp, [bs[i].fp for i in unlikely], min_dice=cfg.rewrite_sentence_dice
        )
        rest = sorted(
            rest + [i for i, n in zip(unlikely, bound, strict=True) if n >= cfg.rewrite_min_aligned]
        )
    if not rest:
        return out
    for i, p in zip(rest, compare_with_stock(a, [bs[i] for i in rest], cfg, stock), strict=True):
        b = bs[i]
        nr = shingles[i]
        out[i] = (None, 0.0, p)
        shorter = p.cover_a if a.fp.n_sentences <= b.fp.n_sentences else p.cover_b
        if (nr.jaccard >= cfg.near_jaccard or nr.containment >= cfg.near_containment) and (
            shorter >= cfg.near_min_cover
        ):
            if _leads_agree(p, a.fp, b.fp, cfg, paraphrased=False) and _same_facts(a, b, cfg):
                out[i] = ("near", round(nr.containment, 4), p)
            continue
        if (
            p.aligned >= cfg.rewrite_min_aligned
            and p.share >= cfg.rewrite_min_share
            and _leads_agree(p, a.fp, b.fp, cfg, paraphrased=True)
            and _same_facts(a, b, cfg)
        ):
            out[i] = ("rewrite", round(p.share, 4), p)
    return out


def _core_cover(sig: Signature, members: Sequence[Known]) -> float:
    """How much of an event's core ``sig`` names: each member weighs its names by how many of its sentences
    mention them (the most mentioned 1), the event averages its members; the share of that weight ``sig`` uses."""
    terms = [m.sig.fp.name_terms for m in members if m.sig.fp.name_terms.size]
    if not terms:
        return 0.0
    # the members' (name, sentence) rows side by side; per member its distinct names in sorted order, so the sums
    # below add the same weights in the same order as member by member
    weights, mine = kernels.core_weights(
        np.concatenate(terms), np.array([t.size for t in terms], dtype=np.int64), sig.fp.names
    )
    return float(weights[mine].sum() / weights.sum())


PairsOf = Callable[[Sequence[Signature]], Sequence[similarity.Pair]]
"""The sentence comparisons of the article being judged with these earlier arrivals (``compare_with_stock``)."""


def choose_event(
    sig: Signature,
    candidates: Sequence[Known],
    pairs: Mapping[str, similarity.Pair | None],
    cfg: DedupeSettings,
    compare_more: PairsOf | None = None,
) -> tuple[str, datetime, tuple[str, ...]]:
    """The event of a unique article: (event id, the event's start, events merged into it).

    Candidates are grouped by event. An event is eligible when the article lies within half ``event_span_days``
    of the time of the event's first decided article, before or after it (so no event ever spans more, whatever
    order concurrent workers decide in; an article without a publication date has its ingest time, same rule), matches at least one of its members (``same_event``), and covers ``event_core_cover`` of the
    event's core names (``_core_cover``: names weighted by how much the event's retrieved members mention them).
    The best covered eligible event is joined; when the article covers ``event_merge_cover`` of several, they
    are one event: the others are recorded as merged into the earliest-founded, which the article joins.
    No eligible event: the article founds its own.

    ``pairs``: the sentence comparisons already made, by ingest key. A member without one is compared by
    ``compare_more`` when its event gets that far (without it: by ``same_event``, stock not discounted).
    """
    span = timedelta(days=cfg.event_span_days)
    groups: dict[str, list[Known]] = {}
    for k in candidates:
        if k.sig.ingest_key != sig.ingest_key:
            groups.setdefault(k.decision.event_id, []).append(k)
    eligible: list[tuple[float, datetime, str]] = []
    for event_id, members in groups.items():
        start = min(m.decision.event_began for m in members)
        if abs(sig.at - start) > span / 2:
            continue
        # the core cover first: it needs no sentence comparison, so an event it rules out costs none
        cover = _core_cover(sig, members)
        if cover >= cfg.event_core_cover and _matches_a_member(sig, members, pairs, cfg, compare_more):
            eligible.append((cover, start, event_id))
    if not eligible:
        return sig.article_id, sig.at, ()
    # join the best covered; events this article also matches strongly are one with it: merged into the
    # earliest-founded of them (a total order, so two workers never merge two events into each other)
    best = max(eligible, key=lambda e: (e[0], -e[1].timestamp(), e[2]))
    strong = (
        [e for e in eligible if e[0] >= cfg.event_merge_cover] if best[0] >= cfg.event_merge_cover else []
    )
    if len(strong) < 2:
        return best[2], best[1], ()
    strong.sort(key=lambda e: (e[1], e[2]))
    _, start, target = strong[0]
    return target, start, tuple(e[2] for e in strong[1:])


def _matches_a_member(
    sig: Signature,
    members: Sequence[Known],
    pairs: Mapping[str, similarity.Pair | None],
    cfg: DedupeSettings,
    compare_more: PairsOf | None,
) -> bool:
    """``same_event`` with at least one of ``members``. Those already compared are tried first; the others are
    compared in growing chunks (1, 2, 4, ...) until one matches: an event whose first member matches, the usual
    case, costs one comparison, not one per member."""
    todo: list[Known] = []
    for m in members:
        p = pairs.get(m.sig.ingest_key)
        if p is not None or compare_more is None:
            if same_event(sig, m.sig, p, cfg):
                return True
        elif may_share_event(sig, m.sig, cfg):
            todo.append(m)
    done, size = 0, 1
    while done < len(todo):
        chunk = todo[done : done + size]
        done, size = done + size, 2 * size
        assert compare_more is not None
        for m, p in zip(chunk, compare_more([m.sig for m in chunk]), strict=True):
            if same_event(sig, m.sig, p, cfg):
                return True
    return False


def judge(
    sig: Signature, candidates: Sequence[Known], cfg: DedupeSettings, stock: Stock | None = None
) -> Explained:
    """The verdict on ``sig`` given earlier arrivals whose own verdicts are final.

    Duplicate of the strongest match (exact > near > rewrite, then most similar, then earliest); its original is
    the match's own original when the match is itself a duplicate, so chains never form. Unique otherwise, in the
    event ``choose_event`` picks.
    """
    reason = similarity_reason(sig, cfg, stock)
    best: _Match | None = None
    aligns: dict[str, similarity.Pair | None] = {}
    others = [k for k in candidates if k.sig.ingest_key != sig.ingest_key]
    # Every candidate is compared for its own match only (the screen skips those that cannot match); the events'
    # comparisons are made by ``choose_event``, for the members it gets to (usually one an event).
    matches = match_many(
        sig,
        [k.sig for k in others],
        cfg,
        stock,
        exact_only=reason is not None,
        match_only=[True] * len(others),
    )
    for k, (kind, sim, al) in zip(others, matches, strict=True):
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
                event_start=d.event_began,
                reason=reason,
            ),
            {"similarity": best.similarity},
        )
    merges: tuple[str, ...] = ()
    if reason is not None:
        event_id, start = sig.article_id, sig.at
    else:
        event_id, start, merges = choose_event(
            sig, others, aligns, cfg, lambda bs: compare_with_stock(sig, bs, cfg, stock)
        )
    return Explained(
        Decision(
            ingest_key=sig.ingest_key,
            article_id=sig.article_id,
            source=sig.source,
            verdict="unique",
            event_id=event_id,
            at=sig.at,
            event_start=start,
            reason=reason,
            merges=merges,
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
