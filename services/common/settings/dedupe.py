"""Dedupe worker settings. Each threshold says why it has its default.

The numbers behind the defaults come from ``scripts/eval_dedupe.py`` (real article texts with syndicated copies made
the way outlets make them, plus hard negatives) and from the seed articles.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DedupeSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    # --- state -------------------------------------------------------------------------------------------------
    window_days: int = Field(
        30,
        ge=1,
        description="state entries older than this (by published_at, else ingested_at) expire: syndication of "
        "one story happens within days, so 30 keeps every real copy and bounds the state",
    )

    index_replicas: int = Field(
        0,
        ge=0,
        description="replicas of the dedupe state index in the search server: 0 suits one node (a replica "
        "there is never assigned and keeps the index yellow forever); raise it on a multi-node cluster. Applies "
        "when the index is created",
    )

    register_refresh: Literal["true", "wait_for"] = Field(
        "true",
        description="how a batch's signatures become visible to the other workers' candidate searches before "
        "they search (the correctness rule: of two racing copies the second to search sees the first). `true` "
        "refreshes the dedupe index's shards after every batch: free on the embedded server, but on "
        "Elasticsearch a new small segment per batch (~10 a second at full speed) and the merges behind them. "
        "`wait_for` returns once the index's own periodic refresh (`index.refresh_interval`, 1 s) has made "
        "them visible: equally correct, no forced refresh, up to one refresh interval more latency per batch "
        "(a worker then decides at most `batch_size` articles per interval: add workers for more)",
    )

    # --- bad input ---------------------------------------------------------------------------------------------
    min_words: int = Field(
        8,
        ge=1,
        description="texts shorter than this are too short to compare by similarity: they are matched only "
        "exactly (same text or URL), never as near copies, rewrites or reports of one event",
    )
    min_letter_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="texts whose non-space characters are less than this share letters are rejected as not "
        "text (binary junk that slipped through decoding, number dumps); every real article of the evaluation set, in "
        "six languages and scripts, tables of race results included, is above 0.72",
    )

    # --- near copies: MinHash LSH over word shingles, verified on the shingle sets ------------------------------
    shingle_size: int = Field(
        3,
        ge=1,
        le=8,
        description="words per shingle: each changed word breaks this many shingles, so 3 keeps ~86% of them "
        "at 5% words changed (5 would keep 77%) while different stories still share < 10% (measured)",
    )
    num_perm: int = Field(
        120, ge=8, description="MinHash permutations (bands x rows of them are used by LSH)"
    )
    lsh_bands: int = Field(
        60,
        ge=1,
        description="LSH bands: with 2 rows each, a pair is retrieved with probability 1-(1-J^2)^60: 0.98 at "
        "Jaccard 0.25, 0.9996 at 0.4 (cut-down copies start near 0.25); unrelated pairs (J < 0.05) 0.14, and "
        "those are dropped by verification, which costs ~20 us a candidate",
    )
    lsh_rows: int = Field(2, ge=1, description="MinHash values per band (see lsh_bands)")
    near_jaccard: float = Field(
        0.3,
        gt=0,
        le=1,
        description="shingle Jaccard from which a candidate is a near copy: 98% of the copies made by the "
        "evaluation (new header/footer, a dropped paragraph, 5% words changed) are >= 0.38, while no two different "
        "stories (even sharing an outlet's boilerplate) reach 0.19",
    )
    near_containment: float = Field(
        0.55,
        gt=0,
        le=1,
        description="share of the shorter text's shingles found in the other from which it is a near copy "
        "(catches cut-down copies whose Jaccard is low): 99% of the copies >= 0.59, different stories <= 0.44",
    )

    near_min_cover: float = Field(
        0.6,
        gt=0,
        le=1,
        description="...and at least this share of the shorter text's informative sentences (>= 3 content words, "
        "not stock passages) has a close counterpart (Dice >= 0.5) in the other: a syndicated copy shares most of "
        "the shorter text, a follow-up only a background block",
    )
    lead_slack: int = Field(
        2,
        ge=0,
        description="a copy or rewrite starts with the other's lead: at most this many informative sentences "
        "(a syndicator's header line) come before the first with a counterpart, on either side; a follow-up "
        "opens with its own new lead of several sentences",
    )
    lead_max_share: float = Field(
        0.15,
        ge=0,
        le=1,
        description="...and at most this share of its informative sentences: a header line is a small part of "
        "a syndicated copy, a new lead sentence over a short shared block is what the story is about",
    )
    stock_min_articles: int = Field(
        3,
        ge=2,
        description="a sentence found verbatim in this many earlier unique articles is stock (an outlet's "
        "boilerplate, a story's standard background paragraph): left out of coverage and lead (copies are not "
        "counted, so a story syndicated 5,000 times never becomes stock)",
    )
    max_stock_share: float = Field(
        0.7,
        gt=0,
        le=1,
        description="an article whose informative sentences are at least this share stock is too boilerplate "
        "to judge by similarity: it is matched by exact keys only, with reason 'boilerplate' in its decision",
    )

    # --- rewrites: in-order sentence alignment ------------------------------------------------------------------
    rewrite_sentence_dice: float = Field(
        0.4,
        gt=0,
        le=1,
        description="Dice similarity of two sentences' content-word stems from which they are paraphrases of "
        "each other: seed 002 aligns 22 of its 32 sentences with 001 at 0.4, an independent report 2",
    )
    rewrite_min_aligned: int = Field(
        4,
        ge=1,
        description="a rewrite aligns at least this many paraphrased sentences in order; independent reports "
        "of one event share 1-3 (a quote, a figure)",
    )
    rewrite_min_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="...and at least this share of the shorter text's sentences: seeds 002/001 align 0.70; "
        "independent reports of one event align <= 0.12 in the seeds and <= 0.42 in the evaluation set (two "
        "outlets retelling the same Reuters story)",
    )

    # --- events ------------------------------------------------------------------------------------------------
    event_window_days: float = Field(
        3.0,
        gt=0,
        description="reports of one event are published within this many days of each other (by published_at, "
        "else ingested_at); seed 003, ten months earlier, is another event however alike its names",
    )
    event_span_days: float = Field(
        4.0,
        gt=0,
        description="an event lasts at most this long: an article joins one only within half of it of the time "
        "(published_at, else ingested_at) of the event's founding article, before or after. Bounds drift: a "
        "campaign of months is many events, not one (merged events: at most twice this)",
    )
    event_core_cover: float = Field(
        0.3,
        gt=0,
        le=1,
        description="an article joins an event only when its names cover this share of the event's core "
        "(names weighted by the share of the event's retrieved members that use them), besides matching one "
        "member: an article that matches a member on a tangent does not pull the event along",
    )
    event_merge_cover: float = Field(
        0.6,
        gt=0,
        le=1,
        description="two events are found to be one (the later-founded recorded as merged into the earlier) "
        "when one article covers at least this share of the core of each: a stronger bar than joining one, since "
        "a merge joins every member (on the dev set 0.3 merged 18 events into one of 100 articles)",
    )
    event_min_shared_names: int = Field(
        3,
        ge=1,
        description="reports of one event name at least this many of the same people/places/organizations "
        "(capitalized words, 6-letter prefixes, outside sentences both share verbatim; NER runs after dedupe)",
    )
    event_name_jaccard: float = Field(
        0.25,
        gt=0,
        le=1,
        description="named-token Jaccard from which two reports are of one event on names alone: most same-event "
        "pairs of the evaluation set are 0.27-0.7, unrelated pairs within the window stay below it",
    )
    event_name_jaccard_corroborated: float = Field(
        0.10,
        gt=0,
        le=1,
        description="lower named-token Jaccard that suffices when the reports also share a quote or paraphrase "
        "event_min_aligned sentences (the same facts): seeds 000/001 are 0.19 and share Zelenskiy's quote; "
        "reports of the plague or feather-duvet cases are 0.10-0.2 with aligned facts",
    )
    event_min_aligned: int = Field(
        2,
        ge=1,
        description="paraphrased sentences in order that corroborate a weaker name overlap (see above)",
    )

    # --- candidate retrieval (bounded, so the cost per article stays flat as the state grows) ------------------
    max_terms: int = Field(
        24,
        ge=1,
        description="named tokens per article used as retrieval keys for rewrite/event candidates (most "
        "repeated first: what the article is about)",
    )
    max_candidates: int = Field(
        12,
        ge=1,
        description="rewrite/event candidates verified per article, best first (most shared retrieval terms)",
    )
    min_shared_terms: int = Field(
        3,
        ge=1,
        description="a rewrite/event candidate shares at least this many retrieval terms",
    )
    postings_scan: int = Field(
        48,
        ge=1,
        description="most recent entries read per retrieval term or band (memory store): caps the work for "
        "common names ('Putin') and shared boilerplate bands, which events are recent anyway",
    )

    # --- several workers -----------------------------------------------------------------------------------------
    pending_wait_s: float = Field(
        3.0,
        ge=0,
        description="how long an article waits for the verdict of an earlier-ordered candidate that another "
        "worker is deciding right now; after it the candidate is ignored (a missed duplicate, never a lost article)",
    )
    pending_wait_later_s: float = Field(
        0.5,
        ge=0,
        description="how long it waits for a later-ordered one: shorter, so two copies that see each other "
        "never wait for each other to the end: the earlier decides first, the later then finds it decided",
    )
    batch_size: int = Field(
        64,
        ge=1,
        description="articles decided per batch (one register + search round trip): small enough that enrich "
        "gets its first work fast, large enough that the store round trips cost little per article",
    )
    batch_wait_s: float = Field(
        0.05,
        ge=0,
        description="longest wait to fill a batch (a backlog fills it at once: waiting only adds latency)",
    )
    poll_interval_s: float = Field(
        0.05, gt=0, description="how often pending verdicts are read while waiting"
    )

    @model_validator(mode="after")
    def _bands_fit(self) -> DedupeSettings:
        if self.lsh_bands * self.lsh_rows > self.num_perm:
            raise ValueError(
                f"lsh_bands*lsh_rows ({self.lsh_bands * self.lsh_rows}) > num_perm ({self.num_perm})"
            )
        return self
