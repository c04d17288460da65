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
                conn = http.client.HTTPConnection(proxy.up_host, proxy.up_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if is_bulk and body is not None and proxy.item_faults:
                    data = proxy._inject_items(body, data)
                self._reply(resp.status, data, resp.getheader("Content-Type", "application/json"),
                            resp.getheader("X-Elastic-Product"))
                conn.close()

            def _reply(self, status: int, data: bytes, ctype: str = "application/json",
                       product: str | None = "Elasticsearch") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if product:
                    self.send_header("X-Elastic-Product", product)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _inject_items(self, body: bytes, data: bytes) -> bytes:
        lines = [ln for ln in body.split(b"\n") if ln.strip()]
        actions: list[str | None] = []
        i = 0
        while i < len(lines):
            meta = json.loads(lines[i])
            op, m = next(iter(meta.items()))
            actions.append(m.get("_id"))
            i += 1 if op == "delete" else 2
        resp = json.loads(data)
        with self.lock:
            for item, _id in zip(resp.get("items", []), actions, strict=False):
                faults = self.item_faults.get(_id or "")
                if faults:
                    status = faults.pop(0)
                    op = next(iter(item))
                    item[op] = {"_id": _id, "status": status,
                                "error": {"type": "mapper_parsing_exception" if status == 400 else "injected",
                                          "reason": f"injected {status}"}}
                    resp["errors"] = True
        return json.dumps(resp).encode()

    def down(self) -> None:
        """Refuse connections (the listener is closed)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

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
