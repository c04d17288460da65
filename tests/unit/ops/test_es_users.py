"""deploy/es-users.sh (the secure overlay's `es-users` service) run against a stand-in Elasticsearch."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from .support import DEPLOY

Request = tuple[str, str, dict[str, str], Any]


@pytest.fixture
def elasticsearch() -> Iterator[tuple[str, list[Request]]]:
    seen: list[Request] = []

    class Handler(BaseHTTPRequestHandler):
        def handle_write(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append(
                (self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(body))
            )
            data = b'{"acknowledged":true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_PUT = handle_write

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_it_sets_the_kibana_system_password_and_makes_the_newsflow_role_and_user_as_elastic(
    elasticsearch: tuple[str, list[Request]],
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl not found (the worker image installs it; this machine lacks it)")
    url, seen = elasticsearch
    env = {
        **os.environ,
        "ES_URL": url,
        "ELASTIC_PASSWORD": "el-pw",
        "KIBANA_SYSTEM_PASSWORD": "kb-pw",
        "NEWSFLOW_ES_PASSWORD": "nf-pw",
        "NEWSFLOW_ES_PREFIXES": "newsflow-*",
    }
    result = subprocess.run(
        ["sh", str(DEPLOY / "es-users.sh")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    by_path = {path: (method, headers, body) for method, path, headers, body in seen}
    auth = "Basic " + base64.b64encode(b"elastic:el-pw").decode()
    assert all(headers["authorization"] == auth for _, headers, _ in by_path.values())
    assert by_path["/_security/user/kibana_system/_password"][2] == {"password": "kb-pw"}
    role = by_path["/_security/role/newsflow"][2]
    assert role["indices"] == [{"names": ["newsflow-*"], "privileges": ["all"]}]
    assert "manage_index_templates" in role["cluster"]
    assert by_path["/_security/user/newsflow"][2] == {"password": "nf-pw", "roles": ["newsflow"]}
    assert "pw" not in result.stdout + result.stderr, "no password in the log"


def test_every_deploy_script_is_valid_posix_sh() -> None:
    for script in sorted(DEPLOY.glob("*.sh")):
        result = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{script.name}: {result.stderr}"
