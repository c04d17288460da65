"""A tiny HTTP server on 127.0.0.1 (free port) for fetch and feed tests: pages, feeds, redirects, ETags."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from email.utils import formatdate

from aiohttp import web


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    conditional: bool = False  # answer with ETag/Last-Modified and honour If-None-Match
    delay_s: float = 0.0
    trickle_s: float = 0.0  # send the body a byte at a time, this long apart, and then never end it
    chunks: int = 0  # stream the body in this many pieces (chunked encoding)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class LocalServer:
    """``async with LocalServer() as srv``: ``srv.url('/x')``, ``srv.pages['/x'] = Page(...)``, ``srv.seen``."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.seen: list[Seen] = []
        self.port = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self._runner: web.AppRunner | None = None

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.path_qs, dict(request.headers)))
        page = self.pages.get(request.path_qs) or self.pages.get(request.path)
        if page is None:
            return web.Response(status=404, text="not found")
        if page.delay_s:
            await asyncio.sleep(page.delay_s)
        headers = dict(page.headers)
        if page.conditional:
            etag = '"' + hashlib.sha256(page.body).hexdigest()[:16] + '"'
            headers["ETag"] = etag
            headers["Last-Modified"] = formatdate(usegmt=True)
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers=headers)
        if page.trickle_s or page.chunks:
            resp = web.StreamResponse(
                status=page.status, headers={**headers, "Content-Type": page.content_type}
            )
            await resp.prepare(request)
            if page.chunks:
                step = max(1, len(page.body) // page.chunks)
                for i in range(0, len(page.body), step):
                    await resp.write(page.body[i : i + step])
                await resp.write_eof()
                return resp
            while True:  # an endless answer, each byte in time for the read timeout
                await resp.write(b"x")
                await asyncio.sleep(page.trickle_s)
        return web.Response(
            status=page.status, body=page.body, headers={**headers, "Content-Type": page.content_type}
        )

    async def __aenter__(self) -> LocalServer:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner:
            await self._runner.cleanup()


def rss(items: list[tuple[str, str, str]], title: str = "Test feed") -> bytes:
    """An RSS 2.0 document; items are (guid, title, link), newest first."""
    entries = "".join(
        f"<item><guid>{guid}</guid><title>{t}</title><link>{link}</link>"
        f"<pubDate>Tue, 19 Nov 2019 10:00:00 GMT</pubDate><description>Summary of {t}</description></item>"
        for guid, t, link in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://example.com/</link><description>d</description>{entries}</channel></rss>"
    ).encode()
