"""HTTP push API: publishers POST articles, each record is validated at once and answered for.

``POST /articles`` takes a JSON object, a JSON list of objects, or JSON Lines (``application/x-ndjson``,
``application/jsonl``; a body that is not one JSON document but is one per line is taken as JSONL too).
Records are parsed by the same pure code as files (``logic.parse_bytes``), so a pushed article and a file
article with the same fields get the same id. Answers:

- 202 ``{"ingest_id", "accepted": n, "ids": [...], "rejected": [{"index", "reason", "detail"}]}`` when at
  least one record was accepted (the good ones are handed to ``on_items``; the bad ones are listed);
- 422 the same shape when every record was rejected; 400 when the body is not JSON at all;
- 401 without the bearer token (when ``push_token`` is set); 413 past ``push_max_body_bytes`` or
  ``push_max_records``; 415 for other content types; 503 when ``on_items`` fails (nothing was accepted:
  retry; ids are stable, so a retry after a half-done send does not create copies).

``GET /healthz`` answers 200 for load balancers.
"""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from services.common.records import Article, Rejected, utcnow
from services.common.settings.ingest import IngestSettings
from services.ingest import logic
from services.ingest.encoding import TooLarge, decode_bytes, gunzip, is_gzip

log = logging.getLogger(__name__)
OnItems = Callable[[list[Article]], Awaitable[None]]
JSONL_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/json-seq",
        "application/ndjson",
    }
)
JSON_TYPES = frozenset({"application/json", "text/json", "", "application/octet-stream", "text/plain"})


def _error(status: int, reason: str, detail: str, **headers: str) -> web.Response:
    return web.json_response({"error": reason, "detail": detail}, status=status, headers=headers or None)


def make_push_app(
    on_items: OnItems, cfg: IngestSettings, *, clock: Callable[[], datetime] = utcnow
) -> web.Application:
    """The push API as an aiohttp application (run it with ``web.run_app`` or an ``AppRunner``)."""
    token = cfg.push_token.get_secret_value().encode() if cfg.push_token else None
    # aiohttp answers 413 itself when a body passes client_max_size (counted after Content-Encoding).
    app = web.Application(client_max_size=cfg.push_max_body_bytes)

    def authorized(request: web.Request) -> bool:
        if token is None:
            return True
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token)

    async def post_articles(request: web.Request) -> web.Response:
        if not authorized(request):
            return _error(
                401,
                "unauthorized",
                "a valid bearer token is required",
                **{"WWW-Authenticate": 'Bearer realm="newsflow"'},
            )
        if request.content_length is not None and request.content_length > cfg.push_max_body_bytes:
            return _error(
                413, "too-large", f"body of {request.content_length} bytes > {cfg.push_max_body_bytes}"
            )
        ctype = request.content_type.lower()
        if ctype in JSONL_TYPES:
            kind = "jsonl"
        elif ctype in JSON_TYPES:
            kind = "auto"
        else:
            return _error(415, "unsupported-media-type", f"send JSON or JSON Lines, not {ctype}")
        body = await request.read()
        ingest_id = uuid.uuid4().hex
        if is_gzip(body):  # gzip bytes sent without Content-Encoding (which aiohttp would have undone)
            try:
                body = gunzip(body, cfg.push_max_body_bytes)
            except TooLarge as exc:
                return _error(413, "too-large", str(exc))
            except ValueError as exc:
                return _error(400, "invalid-gzip", str(exc))
        text = decode_bytes(body)
        if isinstance(text, Rejected):
            return _error(400, text.reason, text.detail)
        if kind == "auto":
            if text.lstrip()[:1] not in ("{", "["):
                return _error(400, "invalid-json", "the body is neither JSON nor JSON Lines")
            kind = "jsonl" if logic.looks_like_jsonl(text) else "json"
        results = logic.parse_text(text, kind, "push", ingest_id, clock(), cfg)
        if len(results) > cfg.push_max_records:
            return _error(
                413, "too-many-records", f"{len(results)} records > push_max_records {cfg.push_max_records}"
            )
        if (
            kind == "json"
            and len(results) == 1
            and isinstance(results[0], Rejected)
            and results[0].reason in ("invalid-json", "json-too-deep", "no-records")
        ):
            return _error(400, results[0].reason, results[0].detail)
        accepted = [r for r in results if isinstance(r, Article)]
        rejected: list[dict[str, Any]] = [
            {"index": r.trace.record if r.trace else i, "reason": r.reason, "detail": r.detail}
            for i, r in enumerate(results)
            if isinstance(r, Rejected)
        ]
        if accepted:
            try:
                await on_items(accepted)
            except Exception as exc:
                log.warning(
                    "push hand-off failed ingest_id=%s records=%d error=%s",
                    ingest_id,
                    len(accepted),
                    type(exc).__name__,
                )
                return _error(
                    503, "unavailable", "articles could not be queued; retry later", **{"Retry-After": "5"}
                )
        log.info("push ingest_id=%s accepted=%d rejected=%d", ingest_id, len(accepted), len(rejected))
        return web.json_response(
            {
                "ingest_id": ingest_id,
                "accepted": len(accepted),
                "ids": [a.id for a in accepted],
                "rejected": rejected,
            },
            status=202 if accepted else 422,
        )

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_post("/articles", post_articles)
    app.router.add_get("/healthz", healthz)
    return app
