"""Enrich worker, declared: unique articles -> articles with canonical entities (spaCy NER, batched)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import faust

from services.common import metrics
from services.common.records import EnrichedArticle, UniqueArticle
from services.common.runner import Batch, Route, StepResult, Worker
from services.common.settings import Settings
from services.common.worker import serve
from services.enrich import logic
from services.enrich.kb import KbError
from services.enrich.model import SpacyNer
from services.enrich.resources import Resources

log = logging.getLogger(__name__)


def count_entities(article: EnrichedArticle) -> None:
    for ent in article.entities:
        metrics.ENTITIES.labels(ent.type).inc()


def worker(settings: Settings) -> Worker[UniqueArticle]:
    cfg = settings.enrich
    ner = SpacyNer(cfg.model, batch_size=cfg.batch_size)
    try:
        resources = Resources.load(cfg)  # knowledge base, alias file and gazetteer, once per process
    except KbError as exc:  # never start linking nothing: say which file and entry, and stop (exit 2)
        log.critical("KnowledgeBaseUnusable stage=enrich error=%s", exc)
        raise SystemExit(2) from exc

    async def step(articles: Sequence[UniqueArticle]) -> list[StepResult]:
        # In a thread: the event loop keeps fetching the next batch and heartbeating the group while the model
        # runs (a long batch would otherwise stall both).
        results = await asyncio.to_thread(logic.enrich_batch, list(articles), ner, cfg, resources)
        return [[r] for r in results]

    return Worker(
        stage="enrich",
        sources={"unique": UniqueArticle},
        step=step,
        routes={EnrichedArticle: Route("enriched", key=lambda a: a.id, observe=count_entities)},
        batch=Batch(max_items=cfg.batch_size, max_wait_s=cfg.batch_wait_s),
    )


def build(settings: Settings) -> faust.App:
    return serve(worker(settings), settings)
