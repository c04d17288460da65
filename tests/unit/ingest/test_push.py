"""The push API: good records accepted, bad ones reported by index, auth and size limits enforced."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from services.common.records import Article
from services.common.settings.ingest import IngestSettings
from services.ingest.push import make_push_app

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
GOOD = {
    "title": "Budget approved",
    "body": "The council approved the budget on Monday after a long debate.",
    "url": "https://www.example.com/budget?utm_source=x",
}
Call = Callable[[TestClient, list[list[Article]]], Awaitable[None]]


def serve(call: Call, cfg: IngestSettings | None = None, fail: bool = False) -> list[list[Article]]:
    """Run ``call`` against a push app on a test server; return what on_items received."""
    received: list[list[Article]] = []

    async def on_items(items: list[Article]) -> None:
        if fail:
            raise ConnectionError("broker down")
        received.append(items)

    async def main() -> None:
        app = make_push_app(on_items, cfg or IngestSettings(), clock=lambda: NOW)
        async with TestClient(TestServer(app)) as client:
            await call(client, received)

    asyncio.run(main())
    return received


async def post(
    client: TestClient, body: bytes | str, ctype: str = "application/json", **headers: str
) -> tuple[int, Any]:
    resp = await client.post("/articles", data=body, headers={"Content-Type": ctype, **headers})
    text = await resp.text()
    return resp.status, (json.loads(text) if text.startswith(("{", "[")) else text)


BODIES = [
    # (why, body, content type, status, accepted, rejected indexes)
    ("one JSON object", json.dumps(GOOD), "application/json", 202, 1, []),
    (
        "a JSON list",
        json.dumps([GOOD, {**GOOD, "url": "https://example.com/other"}]),
        "application/json",
        202,
        2,
        [],
    ),
    (
        "JSON Lines",
        json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "url": "https://e.com/2"}),
        "application/x-ndjson",
        202,
        2,
        [],
    ),
    (
        "JSON Lines sent as application/json",
        json.dumps(GOOD) + "\n" + json.dumps(GOOD),
        "application/json",
        202,
        2,
        [],
    ),
    (
        "a list with bad records",
        json.dumps([GOOD, {"title": "no body"}, {"body": 5}, GOOD]),
        "application/json",
        202,
        2,
        [1, 2],
    ),
    (
        "JSONL with a broken line",
        json.dumps(GOOD) + "\n{oops\n" + json.dumps(GOOD),
        "application/jsonl",
        202,
        2,
        [1],
    ),
    ("only bad records", json.dumps([{"title": "x"}, {"body": ""}]), "application/json", 422, 0, [0, 1]),
]


@pytest.mark.parametrize(
    ("why", "body", "ctype", "status", "accepted", "rejected"), BODIES, ids=[b[0] for b in BODIES]
)
def test_push_accepts_good_records_and_reports_bad_ones_by_index(
    why: str, body: str, ctype: str, status: int, accepted: int, rejected: list[int]
) -> None:
    async def call(client: TestClient, received: list[list[Article]]) -> None:
        got_status, answer = await post(client, body, ctype)
        assert got_status == status, answer
        assert answer["accepted"] == accepted and len(answer["ids"]) == accepted
        assert [r["index"] for r in answer["rejected"]] == rejected
        assert all(r["reason"] for r in answer["rejected"])

    received = serve(call)
    assert sum(len(batch) for batch in received) == accepted


def test_pushed_articles_carry_canonical_url_trace_and_language() -> None:
    async def call(client: TestClient, received: list[list[Article]]) -> None:
        status, _ = await post(client, json.dumps([{"title": "bad"}, GOOD]))
        assert status == 202

    (batch,) = serve(call)
    (article,) = batch
    assert article.canonical_url == "https://example.com/budget"
    assert article.source == "push" and article.trace.record == 1 and article.trace.records == 2
    assert article.language == "en" and article.ingested_at == NOW


@pytest.mark.parametrize(
    ("why", "body", "ctype", "status", "reason"),
    [
        ("not JSON at all", "hello there", "application/json", 400, "invalid-json"),
        ("broken JSON", '{"title": ', "application/json", 400, "invalid-json"),
        ("JSON nested 200,000 levels deep", "[" * 200_000, "application/json", 400, "json-too-deep"),
        ("an empty body", "", "application/json", 400, "empty-input"),
        ("binary junk", "\x01\x02\x03" * 50, "application/json", 400, "binary-input"),
        ("an unsupported content type", "<p>hi</p>", "text/html", 415, "unsupported-media-type"),
    ],
)
def test_push_refuses_bodies_that_are_not_records(
    why: str, body: str, ctype: str, status: int, reason: str
) -> None:
    async def call(client: TestClient, received: list[list[Article]]) -> None:
        got_status, answer = await post(client, body, ctype)
        assert (got_status, answer["error"]) == (status, reason)

    assert serve(call) == []


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        ("Bearer wrong", 401),
        ("Basic s3cret", 401),
        ("Bearer s3cret", 202),
        ("bearer s3cret", 202),
    ],
)
def test_push_requires_the_bearer_token_when_one_is_configured(header: str | None, status: int) -> None:
    cfg = IngestSettings(push_token=SecretStr("s3cret"))

    async def call(client: TestClient, received: list[list[Article]]) -> None:
        headers = {"Authorization": header} if header else {}
        got_status, _ = await post(client, json.dumps(GOOD), **headers)
        assert got_status == status

    serve(call, cfg)


def test_push_answers_413_past_the_body_limit() -> None:
    cfg = IngestSettings(push_max_body_bytes=2048)

    async def call(client: TestClient, received: list[list[Article]]) -> None:
        status, _ = await post(client, json.dumps([GOOD] * 40))
        assert status == 413

    assert serve(call, cfg) == []


def test_push_answers_413_past_the_record_limit() -> None:
    cfg = IngestSettings(push_max_records=3)

    async def call(client: TestClient, received: list[list[Article]]) -> None:
        status, answer = await post(client, json.dumps([GOOD] * 4))
        assert (status, answer["error"]) == (413, "too-many-records")

    assert serve(call, cfg) == []


def test_push_takes_gzip_content_encoding() -> None:
    async def call(client: TestClient, received: list[list[Article]]) -> None:
        status, _ = await post(
            client, gzip.compress(json.dumps(GOOD).encode()), **{"Content-Encoding": "gzip"}
        )
        assert status == 202

    assert len(serve(call)) == 1


def test_push_answers_503_when_the_articles_cannot_be_queued() -> None:
    async def call(client: TestClient, received: list[list[Article]]) -> None:
        status, answer = await post(client, json.dumps(GOOD))
        assert (status, answer["error"]) == (503, "unavailable")

    serve(call, fail=True)


def test_push_has_a_health_check() -> None:
    async def call(client: TestClient, received: list[list[Article]]) -> None:
        resp = await client.get("/healthz")
        assert resp.status == 200

    serve(call)
