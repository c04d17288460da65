"""Pure enrich logic: spans from the model -> canonical entities on the article."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence

from services.common.records import EnrichedArticle, Entity, Mention, Rejected, UniqueArticle
from services.common.settings.enrich import EnrichSettings
from services.common.text import digest
from services.enrich.model import Ner, Span

KEPT_TYPES = {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW"}
_POSSESSIVE = re.compile(r"(?:'s|’s|'|’)$")


def surface_key(text: str) -> str:
    """Case-, accent- and punctuation-free key of a surface form."""
    text = _POSSESSIVE.sub("", text.strip())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", " ", text.casefold()).strip()


def entity_id(type_: str, name: str) -> str:
    return f"{type_.lower()}:{digest(surface_key(name), 12)}"


def canonical_mentions(spans: Sequence[Span]) -> list[Mention]:
    """Mentions with a canonical name: a PERSON surname alone resolves to the fullest name in the document."""
    kept = [s for s in spans if s.label in KEPT_TYPES and surface_key(s.text)]
    full_names: dict[str, str] = {}
    for s in kept:
        if s.label == "PERSON":
            parts = surface_key(s.text).split()
            if len(parts) >= 2:
                cur = full_names.get(parts[-1])
                if cur is None or len(s.text) > len(cur):
                    full_names[parts[-1]] = _POSSESSIVE.sub("", s.text.strip())
    out = []
    for s in kept:
        name = _POSSESSIVE.sub("", s.text.strip())
        if s.label == "PERSON":
            parts = surface_key(name).split()
            if len(parts) == 1 and parts[0] in full_names:
                name = full_names[parts[0]]
        out.append(Mention(text=s.text, type=s.label, start=s.start, end=s.end,
                           id=entity_id(s.label, name), name=name))
    return out


def entities_of(mentions: Sequence[Mention]) -> list[Entity]:
    counts: Counter[str] = Counter()
    first: dict[str, Mention] = {}
    aliases: dict[str, set[str]] = defaultdict(set)
    for m in mentions:
        counts[m.id] += 1
        first.setdefault(m.id, m)
        surface = _POSSESSIVE.sub("", m.text.strip())
        if surface != m.name:
            aliases[m.id].add(surface)
    return [Entity(id=i, name=first[i].name, type=first[i].type, mentions=counts[i], aliases=sorted(aliases[i]))
            for i in sorted(counts, key=lambda k: (-counts[k], k))]


def ner_text(article: UniqueArticle) -> str:
    """The text NER runs on: title and body, so offsets are into ``title + "\\n\\n" + body`` when a title exists."""
    return article.body


def enrich_batch(articles: Sequence[UniqueArticle], ner: Ner, cfg: EnrichSettings) -> list[EnrichedArticle | Rejected]:
    """Entities for a batch of articles (one model call for the batch)."""
    texts = [ner_text(a)[: cfg.max_chars] for a in articles]
    spans = ner.pipe(texts)
    out: list[EnrichedArticle | Rejected] = []
    for article, text, found in zip(articles, texts, spans, strict=True):
        mentions = canonical_mentions(found)
        out.append(EnrichedArticle(**article.model_dump(), entities=entities_of(mentions), mentions=mentions,
                                   ner_truncated=len(text) < len(ner_text(article))))
    return out
