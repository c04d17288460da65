"""HTTP push API: publishers POST articles, each record is validated at once and answered for.

``POST /articles`` takes a JSON object, a JSON list of objects, or JSON Lines (``application/x-ndjson``,
``application/jsonl``; a body that is not one JSON document but is one per line is taken as JSONL too).
Records are parsed by the same pure code as files (``logic``), so a pushed article and a file article with
the same fields get the same id. Answers:

- 202 ``{"ingest_id", "accepted": n, "ids": [...], "rejected": [{"index", "reason", "detail"}]}`` when at
  least one record was accepted (the good ones are handed to ``on_items``; the bad ones are listed);
- 422 the same shape when every record was rejected; 400 when the body is not JSON at all, or not UTF-8;
- 401 without the bearer token (when ``push_token`` is set); 408 when the body is not sent within
  ``push_read_timeout_s``; 413 past ``push_max_body_bytes`` or ``push_max_records`` (counted before any
  record is parsed); 415 for other content types; 503 with ``Retry-After`` when ``on_items`` fails (nothing
  was accepted: retry; ids are stable, so a retry after a half-done send does not create copies) or when the
  API is saturated (``push_max_concurrent_requests``, ``push_max_requests_per_client``,
  ``push_max_connections``).

Parsing (gunzip, decoding, language detection of every record) runs in a thread, off the event loop: the
ingest worker's consumer, ``/readyz`` and other requests are served while a large push is parsed.

``GET /healthz`` answers 200 for load balancers; ``GET /openapi.json`` is the API's OpenAPI 3 document.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from services.common.records import Article, Rejected, utcnow
from services.common.settings.ingest import IngestSettings, is_loopback
from services.ingest import logic
from services.ingest.encoding import TooLarge, decode_json_bytes, gunzip, is_gzip
from services.ingest.formats import Parsed, looks_like_jsonl, parse_json

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


@dataclass(frozen=True)
class Refusal:
    """A whole request refused: HTTP status, short reason, detail."""

    status: int
    reason: str
    detail: str


def _error(status: int, reason: str, detail: str, **headers: str) -> web.Response:
    return web.json_response({"error": reason, "detail": detail}, status=status, headers=headers or None)


def check_auth_settings(cfg: IngestSettings) -> None:
    """Refuse to serve with an empty token, or without one beyond loopback (also checked by the settings
    model; repeated here for settings built without validation)."""
    if cfg.push_token is not None and not cfg.push_token.get_secret_value().strip():
        raise ValueError("ingest.push_token is empty: set a real token, or leave it unset (loopback only)")
    if cfg.push_token is None and not is_loopback(cfg.push_host):
        raise ValueError(f"ingest.push_host {cfg.push_host!r} is not loopback: ingest.push_token is required")


def parse_body(
    body: bytes, kind: str, ingest_id: str, now: datetime, cfg: IngestSettings
) -> list[Article | Rejected] | Refusal:
    """Every record of a push body, or why the whole body is refused. Pure and CPU-bound: run it in a thread.

    The records are counted (JSON parsed, nothing validated yet) before any is validated, so a body of too
    many records is refused without spending a language detection on each.
    """
    if is_gzip(body):  # gzip bytes sent without Content-Encoding (which aiohttp would have undone)
        try:
            body = gunzip(body, cfg.push_max_body_bytes)
        except TooLarge as exc:
            return Refusal(413, "too-large", str(exc))
        except ValueError as exc:
            return Refusal(400, "invalid-gzip", str(exc))
    text = decode_json_bytes(body)
    if isinstance(text, Rejected):
        return Refusal(400, text.reason, text.detail)
    if kind == "auto":
        if text.lstrip()[:1] not in ("{", "["):
            return Refusal(400, "invalid-json", "the body is neither JSON nor JSON Lines")
        kind = "jsonl" if looks_like_jsonl(text) else "json"
    if kind == "jsonl":
        n_lines = sum(1 for ln in text.splitlines() if ln.strip())
        if n_lines > cfg.push_max_records:
            return _too_many(n_lines, cfg)
    parsed: list[Parsed | Rejected] = list(parse_json(text, lines=(kind == "jsonl")))
    if len(parsed) > cfg.push_max_records:
        return _too_many(len(parsed), cfg)
    first = parsed[0] if len(parsed) == 1 else None
    if kind == "json" and isinstance(first, Rejected) and first.reason in ("invalid-json", "json-too-deep"):
        return Refusal(400, first.reason, first.detail)
    if not parsed:
        return Refusal(400, "no-records", "the body holds no records")
    return logic.validate_records(parsed, "push", ingest_id, now, cfg)


def _too_many(n: int, cfg: IngestSettings) -> Refusal:
    return Refusal(413, "too-many-records", f"{n} records > push_max_records {cfg.push_max_records}")


class _Limits:
    """Requests in flight, overall and per client address."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total, self.per_client = total, per_client
        self.in_flight = 0
        self.by_client: dict[str, int] = {}

    def enter(self, client: str) -> str | None:
        """None when admitted (call ``leave`` after), else which limit is reached."""
        if self.in_flight >= self.total:
            return f"{self.in_flight} push requests in flight (push_max_concurrent_requests)"
        if self.by_client.get(client, 0) >= self.per_client:
            return f"{self.per_client} requests from this client in flight (push_max_requests_per_client)"
        self.in_flight += 1
        self.by_client[client] = self.by_client.get(client, 0) + 1
        return None

    def leave(self, client: str) -> None:
        self.in_flight -= 1
        left = self.by_client[client] - 1
        if left:
            self.by_client[client] = left
        else:
            del self.by_client[client]


def make_push_app(
    on_items: OnItems, cfg: IngestSettings, *, clock: Callable[[], datetime] = utcnow
) -> web.Application:
    """The push API as an aiohttp application (serve it with ``start_push``, which adds the connection cap,
    or any ``AppRunner``)."""
    if cfg.push_token is not None and not cfg.push_token.get_secret_value().strip():
        raise ValueError("ingest.push_token is empty: set a real token, or leave it unset (loopback only)")
    token = cfg.push_token.get_secret_value().encode() if cfg.push_token else None
    # aiohttp answers 413 itself when a body passes client_max_size (counted after Content-Encoding).
    app = web.Application(client_max_size=cfg.push_max_body_bytes)
    limits = _Limits(cfg.push_max_concurrent_requests, cfg.push_max_requests_per_client)
    executor = ThreadPoolExecutor(max_workers=cfg.push_parse_threads, thread_name_prefix="push-parse")
    retry_after = str(cfg.push_retry_after_s)

    def authorized(request: web.Request) -> bool:
        if token is None:
            return True
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token)

    async def post_articles(request: web.Request) -> web.StreamResponse:
        client = request.remote or "?"
        busy = limits.enter(client)
        if busy is not None:
            return _error(503, "busy", busy + "; retry later", **{"Retry-After": retry_after})
        try:
            return await handle(request)
        finally:
            limits.leave(client)

    async def handle(request: web.Request) -> web.StreamResponse:
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
        try:
            async with asyncio.timeout(cfg.push_read_timeout_s):
                body = await request.read()
        except TimeoutError:
            # Answer, then drop the connection: no lingering read of the rest of a body that trickles in.
            resp = _error(408, "timeout", f"the body was not sent within {cfg.push_read_timeout_s} s")
            resp.force_close()
            await resp.prepare(request)
            await resp.write_eof()
            request.protocol.force_close()
            return resp
        except web.HTTPRequestEntityTooLarge:
            return _error(413, "too-large", f"body passes push_max_body_bytes {cfg.push_max_body_bytes}")
        ingest_id = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(executor, parse_body, body, kind, ingest_id, clock(), cfg)
        if isinstance(results, Refusal):
            return _error(results.status, results.reason, results.detail)
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

    spec = orjson.dumps(openapi(cfg))

    async def openapi_json(_request: web.Request) -> web.Response:
        return web.Response(body=spec, content_type="application/json")

    async def stop_executor(_app: web.Application) -> None:
        executor.shutdown(wait=False, cancel_futures=True)

    app.router.add_post("/articles", post_articles)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/openapi.json", openapi_json)
    app.on_cleanup.append(stop_executor)
    return app


# --- serving with a connection cap ----------------------------------------------------------------------------

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: %d\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
)


class _Busy(asyncio.Protocol):
    """What a connection past ``push_max_connections`` gets: 503 with Retry-After, then closed."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        body = b'{"error": "busy", "detail": "too many connections (push_max_connections); retry later"}'
        transport.write(_BUSY % (self.retry_after, len(body), body))
        transport.close()


@dataclass
class PushServer:
    """A running push API: ``port`` is the bound one; ``close()`` stops listening and ends connections."""

    runner: web.AppRunner
    server: asyncio.AbstractServer
    port: int

    async def close(self) -> None:
        self.server.close()
        await self.runner.cleanup()


async def start_push(
    on_items: OnItems, cfg: IngestSettings, *, clock: Callable[[], datetime] = utcnow
) -> PushServer:
    """Serve the push API on ``push_host:push_port`` with every limit of the settings, the connection cap
    included (aiohttp has none of its own). Raises ``ValueError`` for an unsafe auth setup."""
    check_auth_settings(cfg)
    # lingering_time: after an early answer (401, 413) aiohttp reads what is left of the body; a short while.
    runner = web.AppRunner(
        make_push_app(on_items, cfg, clock=clock), access_log=None, keepalive_timeout=15, lingering_time=2.0
    )
    await runner.setup()
    handler_factory = runner.server
    assert handler_factory is not None
    cap = cfg.push_max_connections

    def protocol() -> asyncio.BaseProtocol:
        if len(handler_factory.connections) >= cap:
            return _Busy(cfg.push_retry_after_s)
        return handler_factory()

    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, cfg.push_host, cfg.push_port)
    port = int(server.sockets[0].getsockname()[1]) if server.sockets else cfg.push_port
    return PushServer(runner, server, port)


# --- OpenAPI ---------------------------------------------------------------------------------------------------


def openapi(cfg: IngestSettings) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the push API (served at ``GET /openapi.json``)."""
    error = {"$ref": "#/components/schemas/Error"}
    result = {"$ref": "#/components/schemas/PushResult"}

    def json_of(schema: dict[str, Any]) -> dict[str, Any]:
        return {"application/json": {"schema": schema}}

    def err(description: str, retry: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"description": description, "content": json_of(error)}
        if retry:
            out["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds"}}
        return out

    record = {"$ref": "#/components/schemas/Record"}
    # No maxItems: more than push_max_records is a 413 (a size limit), not a 400 for invalid data.
    listed = {
        "type": "array",
        "items": record,
        "minItems": 1,
        "description": f"at most push_max_records ({cfg.push_max_records}) records, else 413",
    }
    body_schema = {"oneOf": [record, listed]}
    post: dict[str, Any] = {
        "summary": "Submit articles: one JSON object, a JSON list of objects, or JSON Lines",
        "operationId": "pushArticles",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": body_schema},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        },
        "responses": {
            "202": {"description": "at least one record accepted", "content": json_of(result)},
            "400": err("the body is not JSON (or not UTF-8, or a bad gzip)"),
            "401": err("the bearer token is missing or wrong"),
            "408": err("the body was not sent in time (push_read_timeout_s)"),
            "413": err("past push_max_body_bytes or push_max_records"),
            "415": err("a content type other than JSON or JSON Lines"),
            "422": {"description": "every record rejected", "content": json_of(result)},
            "503": err("saturated or the broker is unavailable: retry after Retry-After", retry=True),
        },
    }
    if cfg.push_token is not None:
        post["security"] = [{"bearer": []}]
    nullable_str = {"type": "string", "nullable": True}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Newsflow push API", "version": "1"},
        "paths": {
            "/articles": {"post": post},
            "/healthz": {
                "get": {
                    "operationId": "healthz",
                    "responses": {
                        "200": {
                            "description": "the API is up",
                            "content": json_of(
                                {
                                    "type": "object",
                                    "properties": {"ok": {"type": "boolean"}},
                                    "required": ["ok"],
                                }
                            ),
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Record": {
                    "type": "object",
                    "description": "an article; body (or text/content) is required, titles and bodies are "
                    "stored as text and never rendered as HTML. Each record is validated on its own: one "
                    "that passes this schema may still be rejected (empty after cleaning, a bad date or URL)",
                    "anyOf": [{"required": ["body"]}, {"required": ["text"]}, {"required": ["content"]}],
                    "properties": {
                        "title": nullable_str,
                        "body": {"type": "string"},
                        "text": {"type": "string"},
                        "content": {"type": "string"},
                        "url": nullable_str,
                        "canonical_url": nullable_str,
                        "published_at": nullable_str,
                        "source": nullable_str,
                        "author": nullable_str,
                        "language": nullable_str,
                    },
                },
                "PushResult": {
                    "type": "object",
                    "required": ["ingest_id", "accepted", "ids", "rejected"],
                    "properties": {
                        "ingest_id": {"type": "string"},
                        "accepted": {"type": "integer", "minimum": 0},
                        "ids": {"type": "array", "items": {"type": "string"}},
                        "rejected": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["index", "reason", "detail"],
                                "properties": {
                                    "index": {"type": "integer", "minimum": 0},
                                    "reason": {"type": "string"},
                                    "detail": {"type": "string"},
                                },
                            },
                        },
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error", "detail"],
                    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
                },
            },
        },
    }
