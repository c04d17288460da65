"""The enrich step: a batch of articles -> articles with canonical mentions and entities.

Per batch: ALL-CAPS lines back to ordinary case (offsets unchanged, :mod:`.truecase`); bodies cut into pieces at
paragraph boundaries (:mod:`.chunks`); one model call for the whole batch (:mod:`.model`); then per article the
entity types decided (:mod:`.labels`) and canonical ids given (:mod:`.resolve`, ids from :mod:`.canonical`).
"""

from __future__ import annotations

from collections.abc import Sequence

from services.common.records import EnrichedArticle, Mention, Rejected, UniqueArticle
from services.common.settings.enrich import EnrichSettings
from services.enrich.chunks import chunk_offsets
from services.enrich.labels import KEPT_TYPES, decide_labels
from services.enrich.model import Ner, Span
from services.enrich.resolve import entities_of, resolve
from services.enrich.resources import Resources, default_resources
from services.enrich.truecase import truecase


def _is_place_word(res: Resources, word: str) -> bool:
    if res.gazetteer is None:
        return False
    place = res.gazetteer.place(word)
    return (place is not None and place.prominence >= 1_000_000) or res.gazetteer.demonym(word) is not None


def _call_groups(pieces: Sequence[str], budget: int) -> list[list[str]]:
    """Consecutive groups of ``pieces`` of at most ``budget`` characters (a longer piece alone)."""
    groups: list[list[str]] = []
    size = 0
    for p in pieces:
        if not groups or (size + len(p) > budget and groups[-1]):
            groups.append([])
            size = 0
        groups[-1].append(p)
        size += len(p)
    return groups


def spans_of_texts(texts: Sequence[str], ner: Ner, cfg: EnrichSettings, res: Resources) -> list[list[Span]]:
    """Model spans for each text (offsets into it): truecased, cut into pieces, one model call for all."""
    pieces: list[str] = []
    owners: list[tuple[int, int]] = []  # (text index, offset of the piece)
    for k, text in enumerate(texts):
        prepared = truecase(text, lambda w: _is_place_word(res, w)) if "truecase" in res.fixes else text
        for s, e in chunk_offsets(prepared, cfg.chunk_chars):
            pieces.append(prepared[s:e])
            owners.append((k, s))
    found = [spans for group in _call_groups(pieces, cfg.model_call_chars) for spans in ner.pipe(group)]
    out: list[list[Span]] = [[] for _ in texts]
    for (k, off), spans in zip(owners, found, strict=True):
        text = texts[k]
        out[k].extend(
            Span(text[s.start + off : s.end + off], s.label, s.start + off, s.end + off) for s in spans
        )
    return out


def mentions_of_texts(
    texts: Sequence[str], ner: Ner, cfg: EnrichSettings, resources: Resources | None = None
) -> list[list[Mention]]:
    """Canonical mentions for each text: the whole enrich step on plain texts (the CLI and the evaluation)."""
    res = resources if resources is not None else default_resources(cfg)
    return [
        resolve(t, spans, res) for t, spans in zip(texts, spans_of_texts(texts, ner, cfg, res), strict=True)
    ]


def is_english(language: str | None) -> bool:
    """Unknown language is taken as English; "en", "en-GB", "EN_us" are English."""
    return language is None or language == "" or language.lower().replace("_", "-").split("-")[0] == "en"


def ner_text(article: UniqueArticle, cfg: EnrichSettings) -> str:
    """The text NER runs on: the body (offsets are into it), cut at ``max_chars`` on a space when one is near."""
    body = article.body
    if len(body) <= cfg.max_chars:
        return body
    cut = body.rfind(" ", cfg.max_chars - 200, cfg.max_chars)
    return body[: cut if cut > 0 else cfg.max_chars]


def enrich_batch(
    articles: Sequence[UniqueArticle], ner: Ner, cfg: EnrichSettings, resources: Resources | None = None
) -> list[EnrichedArticle | Rejected]:
    """Entities for a batch of articles (one model call for the batch).

    Articles in another language than English (``language`` set and not "en") are not run through the
    English model: they pass with no entities.
    """
    res = resources if resources is not None else default_resources(cfg)
    todo = [i for i, a in enumerate(articles) if is_english(a.language) and a.body.strip()]
    texts = [ner_text(articles[i], cfg) for i in todo]
    found = dict(zip(todo, mentions_of_texts(texts, ner, cfg, res), strict=True))
    out: list[EnrichedArticle | Rejected] = []
    for i, article in enumerate(articles):
        mentions = found.get(i, [])
        truncated = i in found and len(article.body) > cfg.max_chars
        out.append(
            EnrichedArticle(
                **article.model_dump(),
                entities=entities_of(mentions),
                mentions=mentions,
                ner_truncated=truncated,
            )
        )
    return out


__all__ = [
    "KEPT_TYPES",
    "Resources",
    "chunk_offsets",
    "decide_labels",
    "enrich_batch",
    "entities_of",
    "is_english",
    "mentions_of_texts",
    "resolve",
    "spans_of_texts",
]
