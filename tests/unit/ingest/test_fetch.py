"""Safe fetching: private addresses refused unless allowed, redirects bounded, bodies capped, timeouts."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable

import pytest

from services.common.records import Rejected
from services.common.settings.ingest import IngestSettings
from services.ingest.fetch import AddressPolicy, Fetched, Fetcher, transient

from .local_http import LocalServer, Page

LOCAL = IngestSettings(fetch_allow_hosts=("127.0.0.1",), fetch_timeout_s=2.0)


def run(
    body: Callable[[LocalServer, Fetcher], Awaitable[None]],
    cfg: IngestSettings = LOCAL,
    resolver: Callable[[str, int], Awaitable[list[str]]] | None = None,
) -> LocalServer:
    async def main() -> LocalServer:
        async with LocalServer() as srv, Fetcher(cfg, resolver=resolver) as fetcher:
            await body(srv, fetcher)
            return srv

    return asyncio.run(main())


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1::1", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::", False),
    ],
)
def test_only_public_addresses_are_allowed_by_default(ip: str, allowed: bool) -> None:
    assert AddressPolicy(()).allows("host.example", ip) is allowed


@pytest.mark.parametrize(
    ("allow", "host", "ip", "allowed"),
    [
        (("127.0.0.1",), "localhost", "127.0.0.1", True),
        (("127.0.0.0/8",), "a.test", "127.0.0.2", True),
        (("intranet.example",), "intranet.example", "10.0.0.5", True),
        (("intranet.example",), "other.example", "10.0.0.5", False),
        (("10.0.0.0/24",), "x.example", "10.0.1.5", False),
    ],
)
def test_the_allowlist_opens_named_hosts_and_networks(
    allow: tuple[str, ...], host: str, ip: str, allowed: bool
) -> None:
    assert AddressPolicy(allow).allows(host, ip) is allowed


def test_a_page_is_fetched_with_a_user_agent() -> None:
    async def body(srv: LocalServer, f: Fetcher) -> None:
        srv.pages["/a"] = Page(b"<html>hello</html>")
        got = await f.get(srv.url("/a"))
        assert isinstance(got, Fetched) and got.status == 200 and got.content == b"<html>hello</html>"
        assert got.content_type == "text/html; charset=utf-8"

    srv = run(body)
    assert srv.seen[0].headers["User-Agent"] == LOCAL.user_agent


def test_loopback_is_refused_without_the_allowlist() -> None:
    async def body(srv: LocalServer, f: Fetcher) -> None:
        srv.pages["/a"] = Page(b"secret")
        got = await f.get(srv.url("/a"))
        assert isinstance(got, Rejected) and got.reason == "blocked-address"

    srv = run(body, IngestSettings())
    assert srv.seen == []  # refused before connecting


def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]  # one bad address is enough

    async def body(srv: LocalServer, f: Fetcher) -> None:
        got = await f.get("http://rebind.example/")
        assert isinstance(got, Rejected) and got.reason == "blocked-address"

    run(body, IngestSettings(), resolver=resolver)


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/", "not a url"]
)
def test_only_http_and_https_are_fetched(url: str) -> None:
    async def body(srv: LocalServer, f: Fetcher) -> None:
        got = await f.get(url)
        assert isinstance(got, Rejected) and got.reason in ("bad-scheme", "bad-url")

    run(body)


def test_redirects_are_followed_and_reported() -> None:
    async def body(srv: LocalServer, f: Fetcher) -> None:
        srv.pages["/old"] = Page(b"", status=301, headers={"Location": "/new"})
        srv.pages["/new"] = Page(b"moved here")
        got = await f.get(srv.url("/old"))
        assert isinstance(got, Fetched) and got.content == b"moved here"
        assert got.url == srv.url("/new") and got.redirects == [srv.url("/old")]

    run(body)


def test_a_redirect_loop_stops_at_the_limit() -> None:
    async def body(srv: LocalServer, f: Fetcher) -> None:
        srv.pages["/loop"] = Page(b"", status=302, headers={"Location": "/loop"})
        got = await f.get(srv.url("/loop"))
        assert isinstance(got, Rejected) and got.reason == "too-many-redirects"

    srv = run(body, IngestSettings(fetch_allow_hosts=("127.0.0.1",), fetch_max_redirects=3))
    assert len(srv.requests_to("/loop")) == 4


def test_a_redirect_to_a_private_address_is_refused() -> None:
    async def body(srv: LocalServer, f: Fetcher) -> None:
        srv.pages["/out"] = Page(
            b"", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data"}
        )
        got = await f.get(srv.url("/out"))
        assert isinstance(got, Rejected) and got.reason == "blocked-address"

    run(body)


def test_a_redirect_to_another_scheme_is_refused() -> None:
    async def body(srv: LocalServer, f: Fetcher) -> None:
        srv.pages["/out"] = Page(b"", status=302, headers={"Location": "file:///etc/passwd"})
        got = await f.get(srv.url("/out"))
        assert isinstance(got, Rejected) and got.reason == "bad-scheme"

    run(body)


@pytest.mark.parametrize(
    ("why", "page"),
    [
        ("a body past the cap", Page(b"x" * 5000)),
        (
            "a gzip body that inflates past the cap",
            Page(gzip.compress(b"x" * 50_000), headers={"Content-Encoding": "gzip"}),
        ),
    ],
)
def test_bodies_past_the_size_cap_are_refused(why: str, page: Page) -> None:
    async def body(srv: LocalServer, f: Fetcher) -> None:
        srv.pages["/big"] = page
        got = await f.get(srv.url("/big"))
        assert isinstance(got, Rejected) and got.reason == "too-large"

    run(body, IngestSettings(fetch_allow_hosts=("127.0.0.1",), fetch_max_bytes=4096))


def test_a_slow_server_times_out_as_a_transient_failure() -> None:
    async def body(srv: LocalServer, f: Fetcher) -> None:
        srv.pages["/slow"] = Page(b"late", delay_s=3)
        got = await f.get(srv.url("/slow"))
        assert isinstance(got, Rejected) and got.reason == "timeout" and transient(got)

    run(body, IngestSettings(fetch_allow_hosts=("127.0.0.1",), fetch_timeout_s=0.3))


@pytest.mark.parametrize(("status", "is_transient"), [(404, False), (410, False), (503, True), (429, True)])
def test_http_errors_are_values_that_say_whether_to_retry(status: int, is_transient: bool) -> None:
    async def body(srv: LocalServer, f: Fetcher) -> None:
        srv.pages["/e"] = Page(b"err", status=status)
        got = await f.get(srv.url("/e"))
        assert isinstance(got, Rejected) and got.reason == f"http-{status}" and transient(got) is is_transient

    run(body)


def test_a_conditional_get_answers_not_modified() -> None:
    async def body(srv: LocalServer, f: Fetcher) -> None:
        srv.pages["/feed"] = Page(b"<rss/>", conditional=True)
        first = await f.get(srv.url("/feed"))
        assert isinstance(first, Fetched) and first.etag
        second = await f.get(srv.url("/feed"), etag=first.etag, last_modified=first.last_modified)
        assert isinstance(second, Fetched) and second.not_modified and second.content == b""

    srv = run(body)
    assert "If-None-Match" not in srv.seen[0].headers and "If-None-Match" in srv.seen[1].headers


def test_requests_to_one_host_are_limited_in_concurrency() -> None:
    async def body(srv: LocalServer, f: Fetcher) -> None:
        srv.pages["/p"] = Page(b"ok", delay_s=0.05)
        results = await asyncio.gather(*(f.get(srv.url("/p")) for _ in range(6)))
        assert all(isinstance(r, Fetched) for r in results)

    srv = run(body, IngestSettings(fetch_allow_hosts=("127.0.0.1",), fetch_per_host_concurrency=2))
    assert srv.peak_in_flight == 2


def gzip_bomb(inflated: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * (1 << 20)
    return b"".join(z.compress(zeros) for _ in range(inflated >> 20)) + z.flush()


def test_a_gzip_bomb_stops_at_the_cap_without_inflating_past_it_in_memory() -> None:
    bomb = gzip_bomb(256 << 20)  # 256 MB of zeros in ~250 KB
    cap = 1 << 20

    async def body(srv: LocalServer, f: Fetcher) -> None:
        srv.pages["/bomb"] = Page(bomb, headers={"Content-Encoding": "gzip"}, chunks=16)
        tracemalloc.start()
        try:
            got = await f.get(srv.url("/bomb"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert isinstance(got, Rejected) and got.reason == "too-large" and "inflates" in got.detail
        assert peak < 32 * cap, f"peak {peak} bytes while refusing the bomb"

    run(body, IngestSettings(fetch_allow_hosts=("127.0.0.1",), fetch_max_bytes=cap))


def test_the_compressed_size_is_capped_too() -> None:
    async def body(srv: LocalServer, f: Fetcher) -> None:
        noise = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(700))  # incompressible
        srv.pages["/z"] = Page(gzip.compress(noise), headers={"Content-Encoding": "gzip"}, chunks=4)
        got = await f.get(srv.url("/z"))
        assert isinstance(got, Rejected) and got.reason == "too-large" and "on the wire" in got.detail

    run(body, IngestSettings(fetch_allow_hosts=("127.0.0.1",), fetch_max_bytes=8192))


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib deflate", "raw deflate"])
def test_deflate_bodies_are_decoded_in_both_of_their_forms(wbits: int) -> None:
    text = b"<html><body><p>" + b"The harbour bridge reopened. " * 200 + b"</p></body></html>"

    async def body(srv: LocalServer, f: Fetcher) -> None:
        z = zlib.compressobj(6, zlib.DEFLATED, wbits)
        srv.pages["/d"] = Page(
            z.compress(text) + z.flush(), headers={"Content-Encoding": "deflate"}, chunks=5
        )
        got = await f.get(srv.url("/d"))
        assert isinstance(got, Fetched) and got.content == text

    run(body)


def test_an_endless_trickling_answer_is_given_up_at_the_overall_deadline() -> None:
    async def body(srv: LocalServer, f: Fetcher) -> None:
        srv.pages["/drip"] = Page(b"", trickle_s=0.05)
        got = await f.get(srv.url("/drip"))
        assert isinstance(got, Rejected) and got.reason == "timeout" and "fetch_deadline_s" in got.detail
        assert transient(got)

    run(body, IngestSettings(fetch_allow_hosts=("127.0.0.1",), fetch_timeout_s=5, fetch_deadline_s=0.5))
