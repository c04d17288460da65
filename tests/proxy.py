"""A fault-injecting HTTP proxy in front of the search server, for tests: whole-request 429/503, per-item bulk
errors, and an outage that refuses connections."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        u = urlsplit(upstream)
        self.up_host, self.up_port = u.hostname or "127.0.0.1", u.port or 80
        self.fail_requests: list[int] = []  # statuses for the next bulk requests, consumed in order
        self.item_faults: dict[str, list[int]] = {}  # _id -> statuses for its next bulk items
        self.bulk_requests = 0
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with proxy.lock:
                    proxy.connections.add(self.connection)

            def finish(self) -> None:
                with proxy.lock:
                    proxy.connections.discard(self.connection)
                super().finish()

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                is_bulk = self.path.split("?")[0].endswith("/_bulk")
                if is_bulk:
                    with proxy.lock:
                        proxy.bulk_requests += 1
                        status = proxy.fail_requests.pop(0) if proxy.fail_requests else None
                    if status is not None:
                        payload = json.dumps({"error": {"type": "injected"}, "status": status}).encode()
                        self._reply(status, payload)
                        return
                faulted: dict[int, tuple[str, str, int]] = {}
                if is_bulk and body is not None and proxy.item_faults:
                    body, faulted = proxy._take_faulted(body)
                if is_bulk and body is not None and not body.strip():
                    product: str | None
                    data, status, ctype, product = (
                        b'{"errors": false, "items": [], "took": 0}',
                        200,
                        "application/json",
                        "Elasticsearch",
                    )
                else:
                    conn = http.client.HTTPConnection(proxy.up_host, proxy.up_port, timeout=30)
                    headers = {
                        k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                    }
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    status = resp.status
                    ctype = resp.getheader("Content-Type") or "application/json"
                    product = resp.getheader("X-Elastic-Product")
                    conn.close()
                if faulted:
                    data = proxy._merge_faulted(data, faulted)
                self._reply(status, data, ctype, product)

            def _reply(
                self,
                status: int,
                data: bytes,
                ctype: str = "application/json",
                product: str | None = "Elasticsearch",
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if product:
                    self.send_header("X-Elastic-Product", product)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _take_faulted(self, body: bytes) -> tuple[bytes, dict[int, tuple[str, str, int]]]:
        """Remove the bulk items that must fail this time (they never reach the server, as with a real
        rejection); return the rest and {position: (op, _id, status)}."""
        lines = [ln for ln in body.split(b"\n") if ln.strip()]
        kept: list[bytes] = []
        faulted: dict[int, tuple[str, str, int]] = {}
        i = pos = 0
        with self.lock:
            while i < len(lines):
                op, m = next(iter(json.loads(lines[i]).items()))
                width = 1 if op == "delete" else 2
                faults = self.item_faults.get(m.get("_id") or "")
                if faults:
                    faulted[pos] = (op, m.get("_id"), faults.pop(0))
                else:
                    kept.extend(lines[i : i + width])
                i += width
                pos += 1
        return (b"\n".join(kept) + b"\n") if kept else b"", faulted

    def _merge_faulted(self, data: bytes, faulted: dict[int, tuple[str, str, int]]) -> bytes:
        resp = json.loads(data)
        real = iter(resp.get("items", []))
        total = len(resp.get("items", [])) + len(faulted)
        items = []
        for pos in range(total):
            if pos in faulted:
                op, _id, status = faulted[pos]
                items.append(
                    {
                        op: {
                            "_id": _id,
                            "status": status,
                            "error": {
                                "type": "mapper_parsing_exception" if status == 400 else "injected",
                                "reason": f"injected {status}",
                            },
                        }
                    }
                )
            else:
                items.append(next(real))
        resp["items"] = items
        resp["errors"] = True
        return json.dumps(resp).encode()

    def down(self) -> None:
        """Refuse connections: the listener is closed and open keep-alive connections are cut."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def up(self) -> None:
        """Listen again on the same port."""
        for _ in range(50):
            try:
                self.start()
                return
            except OSError:
                socket.socket().close()
                threading.Event().wait(0.1)
        raise RuntimeError("proxy could not listen again")

    def stop(self) -> None:
        self.down()
