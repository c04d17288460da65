"""The push API under a hostile or careless client: limits checked before work, parsing off the event loop,
slow bodies cut off, saturation answered 503 + Retry-After, no auth-less API beyond loopback, a spec that the
API keeps (schemathesis)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr, ValidationError
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from services.common.records import Article
from services.common.settings.ingest import IngestSettings
from services.ingest import logic
from services.ingest.push import PushServer, make_push_app, start_push

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
BODY = (
    "The council approved the budget on Monday after a long debate about school funding, road repairs and "
    "the cost of heating the old library through the winter months."
)


async def nothing(_items: list[Article]) -> None:
    return None


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def raw_request(
    port: int, head: bytes, body: bytes = b""
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a connection and send a request head (and the start of a body), leaving it open."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + body)
    await writer.drain()
    return reader, writer


def slow_head(length: int = 10_000) -> bytes:
    return (
        b"POST /articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % length
    )


def test_too_many_records_are_refused_before_any_record_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    validated: list[int] = []
    real = logic.validate_records

    def counting(parsed: list[Any], *args: Any) -> Any:
        validated.append(len(parsed))
        return real(parsed, *args)

    monkeypatch.setattr(logic, "validate_records", counting)
    lines = "\n".join(json.dumps({"body": f"{BODY} {i}"}) for i in range(100_000)).encode()
    listed = json.dumps([{"body": f"{BODY} {i}"} for i in range(100_000)]).encode()

    async def main() -> list[tuple[int, Any]]:
        app = make_push_app(nothing, IngestSettings(push_max_body_bytes=64 * 1024 * 1024), clock=lambda: NOW)
        out = []
        async with TestClient(TestServer(app)) as client:
            for body, ctype in ((lines, "application/x-ndjson"), (lines, "application/json"), (listed, "")):
                resp = await client.post("/articles", data=body, headers={"Content-Type": ctype})
                out.append((resp.status, await resp.json()))
        return out

    for status, answer in run(main()):
        assert status == 413 and answer["error"] == "too-many-records"
    assert validated == []  # not one language detection spent on a refused body


def test_health_is_answered_while_a_large_push_is_being_parsed() -> None:
    """The target "no single request blocks /readyz": parsing runs off the event loop, so other requests on
    the same loop are answered while a slow push is still being parsed (the order is asserted, not a time)."""
    records = "\n".join(json.dumps({"body": f"{BODY} Item {i}.", "title": f"T{i}"}) for i in range(3000))

    async def main() -> tuple[int, int]:
        app = make_push_app(nothing, IngestSettings(), clock=lambda: NOW)
        async with TestClient(TestServer(app)) as client:
            push = asyncio.create_task(
                client.post("/articles", data=records, headers={"Content-Type": "application/x-ndjson"})
            )
            answered_during_push = 0
            while not push.done():
                resp = await client.get("/healthz")
                if resp.status == 200 and not push.done():
                    answered_during_push += 1
                await asyncio.sleep(0.05)
            return (await push).status, answered_during_push

    status, answered = run(main())
    assert status == 202
    assert answered >= 1


def test_a_slow_body_is_cut_off_with_408() -> None:
    async def main() -> bytes:
        app = make_push_app(nothing, IngestSettings(push_read_timeout_s=0.3), clock=lambda: NOW)
        async with TestServer(app) as server:
            assert server.port is not None
            reader, writer = await raw_request(server.port, slow_head(), b'{"body": "')
            data = await asyncio.wait_for(reader.read(), 30)
            writer.close()
            return bytes(data)

    answer = run(main())
    assert answer.startswith(b"HTTP/1.1 408") and b'"timeout"' in answer


@pytest.mark.parametrize(
    "cfg",
    [
        IngestSettings(push_max_requests_per_client=1, push_read_timeout_s=30),
        IngestSettings(
            push_max_concurrent_requests=1, push_max_requests_per_client=5, push_read_timeout_s=30
        ),
    ],
    ids=["per-client limit", "overall limit"],
)
def test_requests_past_the_concurrency_limits_get_503_with_retry_after(cfg: IngestSettings) -> None:
    async def main() -> tuple[int, str | None, Any]:
        app = make_push_app(nothing, cfg, clock=lambda: NOW)
        async with TestClient(TestServer(app)) as client:
            assert client.port is not None
            _, holder = await raw_request(client.port, slow_head(), b'{"body": "')  # holds one slot
            await asyncio.sleep(0.2)  # let the server admit it
            resp = await client.post("/articles", json={"body": BODY})
            answer = (resp.status, resp.headers.get("Retry-After"), await resp.json())
            holder.close()
            return answer

    status, retry_after, answer = run(main())
    assert status == 503 and retry_after == "2" and answer["error"] == "busy"


def test_connections_past_the_cap_get_503_with_retry_after_and_are_closed() -> None:
    cfg = IngestSettings(push_port=0, push_max_connections=1)

    async def main() -> bytes:
        server = await start_push(nothing, cfg, clock=lambda: NOW)
        try:
            _, idle = await raw_request(server.port, b"")  # an open connection that sends nothing
            await asyncio.sleep(0.2)
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = await asyncio.wait_for(reader.read(), 30)
            writer.close()
            idle.close()
            return data
        finally:
            await server.close()

    answer = run(main())
    assert answer.startswith(b"HTTP/1.1 503") and b"Retry-After: 2" in answer


def test_a_push_api_beyond_loopback_without_a_token_refuses_to_start() -> None:
    with pytest.raises(ValidationError, match="push_token"):
        IngestSettings(push_host="0.0.0.0")
    with pytest.raises(ValidationError, match="push_token"):
        IngestSettings(push_host="10.1.2.3")
    unchecked = IngestSettings.model_construct(push_host="0.0.0.0", push_port=0, push_token=None)
    with pytest.raises(ValueError, match="push_token"):
        run(start_push(nothing, unchecked))
    assert IngestSettings(push_host="0.0.0.0", push_token=SecretStr("s3cret")).push_host == "0.0.0.0"
    assert IngestSettings(push_host="::1").push_host == "::1"


@pytest.mark.parametrize("token", ["", "   "])
def test_an_empty_token_is_an_error_at_start(token: str) -> None:
    with pytest.raises(ValidationError, match="push_token is empty"):
        IngestSettings(push_token=SecretStr(token))
    unchecked = IngestSettings.model_construct(push_token=SecretStr(token))
    with pytest.raises(ValueError, match="push_token is empty"):
        make_push_app(nothing, unchecked)


def test_invalid_utf8_in_a_json_body_is_refused_not_stored_garbled() -> None:
    async def main() -> tuple[int, Any]:
        app = make_push_app(nothing, IngestSettings(), clock=lambda: NOW)
        async with TestClient(TestServer(app)) as client:
            body = b'{"title": "Caf\xe9 \xff\xfe", "body": "' + BODY.encode() + b'"}'
            resp = await client.post("/articles", data=body, headers={"Content-Type": "application/json"})
            return resp.status, await resp.json()

    status, answer = run(main())
    assert status == 400 and answer["error"] == "invalid-encoding" and "offset 14" in answer["detail"]


# --- the OpenAPI document, and schemathesis against it ---------------------------------------------------------


@pytest.fixture(scope="module")
def push_url() -> Iterator[str]:
    """A push API served from a thread (schemathesis speaks to it over real HTTP)."""
    cfg = IngestSettings(push_port=0, push_max_requests_per_client=64, push_max_concurrent_requests=64)
    loop = asyncio.new_event_loop()
    started: list[PushServer] = []
    ready = threading.Event()

    async def serve() -> None:
        started.append(await start_push(nothing, cfg, clock=lambda: NOW))
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(serve(), loop).result(30)
    assert ready.wait(30)
    yield f"http://127.0.0.1:{started[0].port}"
    asyncio.run_coroutine_threadsafe(started[0].close(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)


def test_the_openapi_document_is_served_and_describes_every_answer(push_url: str) -> None:
    async def main() -> dict[str, Any]:
        async with ClientSession() as s, s.get(push_url + "/openapi.json") as resp:
            assert resp.status == 200
            return dict(await resp.json())

    spec = run(main())
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]["/articles"]["post"]["responses"]) >= {"202", "400", "413", "415", "422", "503"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_spec(
    push_url: str, mode: GenerationMode
) -> None:
    """Property-based requests generated from the served OpenAPI document (schemathesis), valid ones and
    invalid ones: no 5xx, every status documented, every body and header as the spec says. Not checked,
    because the API answers per record by design: that a schema-valid body is accepted whole (a record may
    still fail semantic validation: 422) or that a body with one invalid record is refused whole (the good
    ones are accepted, the bad one listed in the 202)."""
    schema = schemathesis.openapi.from_url(push_url + "/openapi.json")

    @given(case=schema.as_strategy(mode))
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        case.call_and_validate(
            base_url=push_url, excluded_checks=[positive_data_acceptance, negative_data_rejection]
        )

    check()
