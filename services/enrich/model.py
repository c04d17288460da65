"""The spaCy adapter: loads the installed model package (never downloads) with only what NER needs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Span:
    """An entity the model found: label and character offsets into the text it was given."""

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
    """spaCy NER (OntoNotes labels) on ``n_process`` processes; ``n_process=1`` runs in this process."""

    def __init__(self, model: str, batch_size: int = 32, n_process: int = 1) -> None:
        import spacy

        self.nlp = spacy.load(model, exclude=_NOT_FOR_NER)
        self.batch_size = batch_size
        self.n_process = n_process

    def pipe(self, texts: Sequence[str]) -> list[list[Span]]:
        # Worker processes cost ~2 s to start: not worth it for a handful of texts.
        n_process = self.n_process if len(texts) >= 2 * self.n_process else 1
        docs: Iterable[Any] = self.nlp.pipe(texts, batch_size=self.batch_size, n_process=n_process)
        return [[Span(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents] for doc in docs]
