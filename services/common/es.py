"""Elasticsearch clients (sync for tools, async for workers) built from settings.

osmem (the embedded server) answers HTTP 406 to the official client's vendor media type
``application/vnd.elasticsearch+json; compatible-with=N``. With ``es.compat=osmem`` a node class rewrites it to
``application/json``; real Elasticsearch is talked to unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from elastic_transport import AiohttpHttpNode, Urllib3HttpNode
from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch
from elasticsearch import ConnectionError as ESConnectionError
from elasticsearch import ConnectionTimeout as ESConnectionTimeout
from elasticsearch.serializer import (
    CompatibilityModeJsonSerializer,
    CompatibilityModeNdjsonSerializer,
    JsonSerializer,
    NdjsonSerializer,
)

from services.common.runner import Transient, Unavailable
from services.common.settings import ElasticSettings


@contextmanager
def search_calls() -> Iterator[None]:
    """The one retry policy for search-server calls, as errors the step runner acts on: the server unreachable
    or timing out -> ``Unavailable`` (waited for, consumption pauses); a request refused with 429 or 5xx ->
    ``Transient`` (bounded retries with backoff, then dead letters); any other 4xx is a request we built wrong
    and propagates as the bug it is."""
    try:
        yield
    except (ESConnectionError, ESConnectionTimeout) as exc:
        raise Unavailable("search", str(exc)[:500]) from exc
    except ApiError as exc:
        if exc.meta.status == 429 or exc.meta.status >= 500:
            raise Transient("search", f"HTTP {exc.meta.status}: {str(exc)[:500]}") from exc
        raise


_VENDOR = re.compile(r"application/vnd\.elasticsearch\+([a-z\-]+);\s*compatible-with=\d+")


def _plain_media_types(headers: Any) -> Any:
    if not headers:
        return headers
    out = headers.copy()
    for key in list(out.keys()):
        if key.lower() in ("content-type", "accept"):
            out[key] = _VENDOR.sub(r"application/\1", out[key])
    return out


class OsmemSyncNode(Urllib3HttpNode):
    def perform_request(  # type: ignore[override]
        self, method: str, target: str, body: bytes | None = None, headers: Any = None, **kw: Any
    ) -> Any:
        return super().perform_request(method, target, body=body, headers=_plain_media_types(headers), **kw)


class OsmemAsyncNode(AiohttpHttpNode):
    async def perform_request(  # type: ignore[override]
        self, method: str, target: str, body: bytes | None = None, headers: Any = None, **kw: Any
    ) -> Any:
        return await super().perform_request(
            method, target, body=body, headers=_plain_media_types(headers), **kw
        )


class _Orjson:
    """orjson in place of the standard json module: bulk and msearch bodies are the workers' largest JSON."""

    def json_dumps(self, data: Any) -> bytes:
        return orjson.dumps(data, default=self.default, option=orjson.OPT_NON_STR_KEYS)  # type: ignore[attr-defined]

    def json_loads(self, data: bytes) -> Any:
        return orjson.loads(data)


class _Json(_Orjson, JsonSerializer):
    pass


class _Ndjson(_Orjson, NdjsonSerializer):
    pass


class _CompatJson(_Orjson, CompatibilityModeJsonSerializer):
    pass


class _CompatNdjson(_Orjson, CompatibilityModeNdjsonSerializer):
    pass


SERIALIZERS = {c.mimetype: c() for c in (_Json, _Ndjson, _CompatJson, _CompatNdjson)}


def _common_kwargs(cfg: ElasticSettings, url: str) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "hosts": [url],
        "request_timeout": cfg.request_timeout_s,
        "serializers": SERIALIZERS,
    }
    if cfg.api_key is not None:
        kw["api_key"] = cfg.api_key.get_secret_value()
    elif cfg.username and cfg.password is not None:
        kw["basic_auth"] = (cfg.username, cfg.password.get_secret_value())
    if url.startswith("https"):
        kw["verify_certs"] = cfg.verify_certs
        if cfg.ca_certs:
            kw["ca_certs"] = cfg.ca_certs
    return kw


def sync_client(cfg: ElasticSettings, url: str | None = None) -> Elasticsearch:
    """A blocking client for tools (init, demo, search, reindex)."""
    target = url or cfg.url
    if not target:
        raise ValueError("no Elasticsearch URL: set NEWSFLOW_ES__URL or run the embedded stack")
    kw = _common_kwargs(cfg, target)
    if cfg.compat == "osmem":
        kw["node_class"] = OsmemSyncNode
    return Elasticsearch(**kw)


def async_client(cfg: ElasticSettings, url: str | None = None, *, max_retries: int = 0) -> AsyncElasticsearch:
    """A client for workers. Retries are ours (per item, with backoff), so the transport's are off."""
    target = url or cfg.url
    if not target:
        raise ValueError("no Elasticsearch URL: set NEWSFLOW_ES__URL or run the embedded stack")
    kw = _common_kwargs(cfg, target)
    kw["max_retries"] = max_retries
    kw["retry_on_timeout"] = False
    if cfg.compat == "osmem":
        kw["node_class"] = OsmemAsyncNode
    return AsyncElasticsearch(**kw)
