"""The spaCy adapter: loads the installed model package (never downloads) with only what NER needs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Span:
    text: str
    label: str
    start: int
    end: int


class Ner(Protocol):
    """Anything that finds entity spans (character offsets) in texts, batch by batch."""

    def pipe(self, texts: Sequence[str]) -> list[list[Span]]: ...


# Components the NER of en_core_web_sm does not need (same entities without them, ~2x faster).
_NOT_FOR_NER = ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]


class SpacyNer:
    def __init__(self, model: str, batch_size: int = 32, n_process: int = 1) -> None:
        import spacy

        self.nlp = spacy.load(model, exclude=_NOT_FOR_NER)
        self.batch_size = batch_size
        self.n_process = n_process

    def pipe(self, texts: Sequence[str]) -> list[list[Span]]:
        docs: Iterable = self.nlp.pipe(texts, batch_size=self.batch_size, n_process=self.n_process)
        return [[Span(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents] for doc in docs]
