"""Pure ingest logic, the top-level step: bytes of one input -> articles, or reasons they are rejected.

``parse_item`` (what the ingest worker calls for each inbox item) and ``parse_bytes`` (what every offline
reader calls, see ``reader.py``) run three steps: size caps and gunzip (any input may be gzip-compressed,
found by its magic bytes, not its name); format detection and decoding (``formats.py``, ``encoding.py``);
field validation of each record (``fields.py``). No I/O, no clock globals. ``parse_bytes`` never raises:
every bad input becomes a ``Rejected`` with a short fixed reason.
"""

from __future__ import annotations

import base64
from datetime import datetime

from services.common.records import Article, InboxItem, Rejected, Trace
from services.common.settings.ingest import IngestSettings
from services.ingest.encoding import TooLarge, decode_bytes, decode_json_bytes, gunzip, is_gzip
from services.ingest.fields import article_id, choose_canonical, parse_date, to_article
from services.ingest.formats import (
    Parsed,
    detect_kind,
    kind_from_name,
    looks_like_jsonl,
    parse_html,
    parse_json,
    parse_txt,
    sniff_kind,
)

__all__ = [
    "Parsed",
    "article_id",
    "choose_canonical",
    "detect_kind",
    "looks_like_jsonl",
    "parse_bytes",
    "parse_date",
    "parse_item",
    "parse_text",
    "parse_txt",
    "sniff_kind",
    "to_article",
    "validate_records",
]


def parse_item(item: InboxItem, now: datetime, cfg: IngestSettings) -> list[Article | Rejected]:
    """Everything one inbox item holds, each record an article or a rejection with its trace.

    ``ingested_at`` is when the item was accepted (``received_at``), not when this worker got to it: it orders
    arrivals for dedupe the way they were submitted, however the inbox partitions were consumed, and stays the
    same when the item is processed again.
    """
    try:
        data = base64.b64decode(item.content_b64, validate=True)
    except ValueError:
        return [
            Rejected(
                reason="invalid-record",
                detail="content_b64 is not base64",
                trace=Trace(ingest_id=item.ingest_id, record=0, records=1, source=item.source),
            )
        ]
    out = parse_bytes(data, item.source, item.ingest_id, now, cfg, kind=item.kind, url=item.url)
    accepted = min(item.received_at, now)
    return [r.model_copy(update={"ingested_at": accepted}) if isinstance(r, Article) else r for r in out]


def _source_url(source: str) -> str | None:
    return source if source.startswith(("http://", "https://")) else None


def parse_bytes(
    data: bytes,
    source: str,
    ingest_id: str,
    now: datetime,
    cfg: IngestSettings,
    kind: str = "auto",
    url: str | None = None,
) -> list[Article | Rejected]:
    """Every record of one input, as articles or rejections. Never raises.

    ``url``: where the input was fetched from (resolves relative canonical links of HTML pages); defaults to
    ``source`` when that is an http(s) URL.
    """
    one = Trace(ingest_id=ingest_id, record=0, records=1, source=source)

    def reject(reason: str, detail: str) -> list[Article | Rejected]:
        return [Rejected(reason=reason, detail=detail, trace=one)]

    limit = max(cfg.max_article_bytes, cfg.max_html_bytes)
    if len(data) > limit:
        return reject("too-large", f"{len(data)} bytes > max(max_article_bytes, max_html_bytes) {limit}")
    if is_gzip(data):
        try:
            data = gunzip(data, limit)
        except TooLarge as exc:
            return reject("too-large", str(exc))
        except ValueError as exc:
            return reject("invalid-gzip", str(exc)[:200])
    k = detect_kind(source, kind)
    sniffed = kind == "auto" and kind_from_name(source) is None
    if sniffed:
        k = sniff_kind(data) or k
    cap = cfg.max_html_bytes if k == "html" else cfg.max_article_bytes
    if len(data) > cap:
        setting = "max_html_bytes" if k == "html" else "max_article_bytes"
        return reject("too-large", f"{len(data)} bytes > {setting} {cap}")
    text = decode_json_bytes(data) if k in ("json", "jsonl") else decode_bytes(data, html=(k == "html"))
    if isinstance(text, Rejected):
        return [text.model_copy(update={"trace": one})]
    if k == "json" and sniffed and looks_like_jsonl(text):
        k = "jsonl"
    return parse_text(text, k, source, ingest_id, now, cfg, url=url or _source_url(source))


def parse_text(
    text: str,
    kind: str,
    source: str,
    ingest_id: str,
    now: datetime,
    cfg: IngestSettings,
    url: str | None = None,
) -> list[Article | Rejected]:
    """Every record of decoded ``text`` of a known ``kind`` (txt/json/jsonl/html). Never raises.

    No size cap here: ``parse_bytes`` applies the per-input one, the push API its per-request one; each
    article body is still held to ``max_article_bytes`` by ``to_article``.
    """
    parsed: list[Parsed | Rejected]
    if kind in ("json", "jsonl"):
        parsed = list(parse_json(text, lines=(kind == "jsonl")))
    elif kind == "html":
        parsed = list(parse_html(text, url, now, cfg))
    else:
        parsed = list(parse_txt(text))
    if not parsed:
        return [
            Rejected(
                reason="no-records",
                detail="the input holds no records",
                trace=Trace(ingest_id=ingest_id, record=0, records=1, source=source),
            )
        ]
    return validate_records(parsed, source, ingest_id, now, cfg)


def validate_records(
    parsed: list[Parsed | Rejected], source: str, ingest_id: str, now: datetime, cfg: IngestSettings
) -> list[Article | Rejected]:
    """Each record pulled out of one input, validated (``fields.to_article``), with its trace."""
    n = len(parsed)
    out: list[Article | Rejected] = []
    for i, p in enumerate(parsed):
        trace = Trace(ingest_id=ingest_id, record=i, records=n, source=source)
        if isinstance(p, Rejected):
            out.append(p.model_copy(update={"trace": trace}))
        else:
            out.append(to_article(p, trace, now, cfg))
    return out
