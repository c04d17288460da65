"""Safe HTTP fetching of feeds and pages (httpx): a feed must not be able to turn the worker against us.

- only http/https, on every hop: redirects are followed by hand (at most ``fetch_max_redirects``);
- every host is resolved first and refused when any of its addresses is private, loopback, link-local,
  multicast, reserved or unspecified (SSRF), unless ``fetch_allow_hosts`` names the host or its network;
  the connection then goes to the address that was checked (the URL is pinned to it, Host header and TLS
  SNI keep the name), so a DNS answer that changes between check and connect (rebinding) gains nothing;
- connect/read timeouts (``fetch_timeout_s``) and one overall deadline per fetch, redirects and body
  included (``fetch_deadline_s``): a server that trickles an endless answer is given up at the deadline;
- bodies streamed and cut off past ``fetch_max_bytes``, counted on the bytes as they arrive *and* on the
  decoded bytes: gzip/deflate are inflated here, a chunk at a time with the output bounded by what is left
  of the cap, so a gzip bomb stops at the cap without ever inflating more than it in memory;
- at most ``fetch_per_host_concurrency`` requests in flight per host; a User-Agent on every request;
- environment proxies are ignored (settings come from one place).

Results are values: ``Fetched`` or ``Rejected`` with a short reason (``blocked-address``, ``bad-scheme``,
``too-many-redirects``, ``too-large``, ``unsupported-encoding``, ``http-<status>``, ``timeout``,
``fetch-failed``). ``transient(r)``
tells which reasons a later retry may cure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import socket
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from services.common.records import Rejected
from services.common.settings.ingest import IngestSettings

Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_REDIRECTS = {301, 302, 303, 307, 308}
_TRANSIENT = {"timeout", "fetch-failed", "http-429", "http-500", "http-502", "http-503", "http-504"}


@dataclass(frozen=True)
class Fetched:
    """A response: final URL after redirects, status (200 or 304), body, and the headers that matter."""

    url: str
    status: int
    content: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    redirects: list[str] = field(default_factory=list)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def transient(r: Rejected) -> bool:
    """Whether retrying later may succeed (timeouts, network errors, 429/5xx)."""
    return r.reason in _TRANSIENT


async def system_resolver(host: str, port: int) -> list[str]:
    """All addresses ``host`` resolves to (the event loop's getaddrinfo: no blocking)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _public(ip: IPAddress) -> bool:
    """Globally routable unicast: not private, loopback, link-local, shared (100.64/10), reserved, multicast."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _public(ip.ipv4_mapped)
    return ip.is_global and not ip.is_multicast


class AddressPolicy:
    """Which resolved addresses a fetch may connect to: public ones, plus the allowlisted hosts/networks."""

    def __init__(self, allow: tuple[str, ...] | list[str]) -> None:
        self.hosts: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allow:
            try:
                self.networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                self.hosts.add(entry.strip().lower().rstrip("."))

    def allows(self, host: str, ip: str) -> bool:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
        if host.lower().rstrip(".") in self.hosts or any(addr in net for net in self.networks):
            return True
        return _public(addr)


class Fetcher:
    """Fetches URLs under the rules above. One per process; ``aclose()`` (or ``async with``) when done."""

    def __init__(
        self,
        cfg: IngestSettings,
        *,
        resolver: Resolver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.cfg = cfg
        self.policy = AddressPolicy(cfg.fetch_allow_hosts)
        self.resolve = resolver or system_resolver
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(cfg.fetch_timeout_s),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": cfg.user_agent, "Accept-Encoding": "gzip, deflate"},
            transport=transport,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def _slot(self, host: str) -> asyncio.Semaphore:
        if host not in self._limits:
            self._limits[host] = asyncio.Semaphore(self.cfg.fetch_per_host_concurrency)
        return self._limits[host]

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
    ) -> Fetched | Rejected:
        """GET ``url`` (conditionally when ``etag``/``last_modified`` are given): a 200 or 304, or why not."""
        try:
            async with asyncio.timeout(self.cfg.fetch_deadline_s):
                return await self._get(url, etag, last_modified, accept)
        except TimeoutError:
            return Rejected(
                reason="timeout",
                detail=f"no complete answer from {_short(url)} within fetch_deadline_s {self.cfg.fetch_deadline_s}",
            )

    async def _get(
        self, url: str, etag: str | None, last_modified: str | None, accept: str | None
    ) -> Fetched | Rejected:
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        hops: list[str] = []
        current = url
        for _ in range(self.cfg.fetch_max_redirects + 1):
            result = await self._one(current, headers)
            if isinstance(result, Fetched):
                return dataclasses.replace(result, redirects=hops)
            if isinstance(result, Rejected):
                return result
            hops.append(current)
            try:
                current = urljoin(current, result)
            except ValueError:
                return Rejected(reason="bad-redirect", detail=f"unusable Location from {_short(current)}")
        return Rejected(
            reason="too-many-redirects",
            detail=f"more than {self.cfg.fetch_max_redirects} redirects from {_short(url)}",
        )

    async def _one(self, url: str, headers: dict[str, str]) -> Fetched | Rejected | str:
        """One request: the response, a rejection, or the Location of a redirect to follow."""
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return Rejected(reason="bad-url", detail=f"not a URL: {_short(url)}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return Rejected(reason="bad-scheme", detail=f"only http(s) URLs are fetched: {_short(url)}")
        host = parts.hostname
        try:
            addresses = await self.resolve(host, port)
        except (OSError, UnicodeError) as exc:
            return Rejected(reason="fetch-failed", detail=f"cannot resolve {host}: {exc}"[:300])
        if not addresses:
            return Rejected(reason="fetch-failed", detail=f"{host} resolves to no address")
        refused = [ip for ip in addresses if not self.policy.allows(host, ip)]
        if refused:
            return Rejected(
                reason="blocked-address",
                detail=f"{host} resolves to non-public {refused[0]} (not in fetch_allow_hosts)",
            )
        ip = addresses[0]
        netloc_ip = f"[{ip}]" if ":" in ip else ip
        pinned = urlunsplit((parts.scheme, f"{netloc_ip}:{port}", parts.path or "/", parts.query, ""))
        host_header = parts.netloc.rsplit("@", 1)[-1]
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        async with self._slot(host):
            try:
                req = self._client.build_request(
                    "GET", pinned, headers={**headers, "Host": host_header}, extensions=extensions
                )
                resp = await self._client.send(req, stream=True)
            except httpx.TimeoutException:
                return Rejected(reason="timeout", detail=f"{_short(url)} timed out")
            except httpx.HTTPError as exc:
                return Rejected(
                    reason="fetch-failed", detail=f"{_short(url)}: {type(exc).__name__} {exc}"[:300]
                )
            try:
                if resp.status_code in _REDIRECTS:
                    location: str | None = resp.headers.get("location")
                    if not location:
                        return Rejected(reason="bad-redirect", detail=f"{resp.status_code} without Location")
                    return location
                if resp.status_code == 304:
                    return Fetched(
                        url=url,
                        status=304,
                        etag=resp.headers.get("etag"),
                        last_modified=resp.headers.get("last-modified"),
                    )
                if resp.status_code != 200:
                    return Rejected(
                        reason=f"http-{resp.status_code}", detail=f"{_short(url)} answered {resp.status_code}"
                    )
                body = await self._read_capped(resp)
                if isinstance(body, Rejected):
                    return body
                return Fetched(
                    url=url,
                    status=200,
                    content=body,
                    etag=resp.headers.get("etag"),
                    last_modified=resp.headers.get("last-modified"),
                    content_type=resp.headers.get("content-type"),
                )
            except httpx.TimeoutException:
                return Rejected(reason="timeout", detail=f"{_short(url)} timed out while reading")
            except httpx.HTTPError as exc:
                return Rejected(
                    reason="fetch-failed", detail=f"{_short(url)}: {type(exc).__name__} {exc}"[:300]
                )
            finally:
                await resp.aclose()

    async def _read_capped(self, resp: httpx.Response) -> bytes | Rejected:
        cap = self.cfg.fetch_max_bytes
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            return Rejected(reason="too-large", detail=f"Content-Length {declared} > fetch_max_bytes {cap}")
        codings = [c.strip().lower() for c in resp.headers.get("content-encoding", "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            return Rejected(
                reason="unsupported-encoding",
                detail=f"Content-Encoding {resp.headers.get('content-encoding')!r} (gzip and deflate are read)",
            )
        inflate = Inflater(codings[0]) if codings else None
        chunks: list[bytes] = []
        wire = size = 0
        try:
            async for raw in resp.aiter_raw():
                wire += len(raw)
                if wire > cap:
                    return Rejected(
                        reason="too-large", detail=f"body passes fetch_max_bytes {cap} on the wire"
                    )
                chunk = inflate.feed(raw, cap - size) if inflate else raw
                size += len(chunk)
                if size > cap:
                    return Rejected(reason="too-large", detail=f"body inflates past fetch_max_bytes {cap}")
                chunks.append(chunk)
        except zlib.error as exc:
            return Rejected(reason="fetch-failed", detail=f"corrupt {codings[0]} body: {exc}"[:300])
        return b"".join(chunks)


class Inflater:
    """Incremental gzip/deflate decoding whose output never passes what the caller still has room for."""

    def __init__(self, coding: str) -> None:
        self.gzip = coding in ("gzip", "x-gzip")
        self._first = True
        self._d = self._new()

    def _new(self, raw_deflate: bool = False) -> zlib._Decompress:
        if self.gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> bytes:
        """Decoded bytes of ``data``: at most ``room + 1`` of them (one more than room means too large)."""
        if self._first and not self.gzip:
            self._first = False
            if data and (data[0] & 0x0F) != 8:  # "deflate" sent as a raw stream without the zlib header
                self._d = self._new(raw_deflate=True)
        out = bytearray()
        while data and len(out) <= room:
            out += self._d.decompress(data, room + 1 - len(out))
            if self._d.unconsumed_tail:
                data = self._d.unconsumed_tail
                continue
            if self._d.eof and self._d.unused_data and self.gzip:  # the next gzip member
                data = self._d.unused_data
                self._d = self._new()
                continue
            break
        return bytes(out)


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."
