"""deploy/compose-init.sh (the compose `init` service) run against a stand-in Kibana and a stub `newsflow`."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from .support import DEPLOY, KIBANA_DIR


@dataclass
class FakeKibana:
    """Answers the two Kibana API calls the script makes and records what it was sent."""

    import_answer: dict[str, Any] = field(default_factory=lambda: {"success": True, "successCount": 9})
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def kibana() -> Iterator[FakeKibana]:
    fake = FakeKibana()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            fake.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = fake.import_answer if self.path.startswith("/api/saved_objects/_import") else {}
            data = json.dumps(answer, separators=(",", ":")).encode()  # compact, as Kibana answers
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def run_init(tmp_path: Path, kibana: FakeKibana, newsflow_exit: int = 0) -> subprocess.CompletedProcess[str]:
    if shutil.which("curl") is None:
        pytest.skip("curl not found (the worker image installs it; this machine lacks it)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "newsflow"
    stub.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path / "newsflow.calls"}"\nexit {newsflow_exit}\n')
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "KIBANA_URL": kibana.url,
        "SAVED_OBJECTS_DIR": str(KIBANA_DIR),
    }
    return subprocess.run(
        ["sh", str(DEPLOY / "compose-init.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_init_creates_topics_and_alias_then_imports_every_saved_objects_file(
    tmp_path: Path, kibana: FakeKibana
) -> None:
    result = run_init(tmp_path, kibana)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "newsflow.calls").read_text().split() == ["init"]
    imports = [(path, headers, body) for path, headers, body in kibana.requests if "_import" in path]
    files = sorted(KIBANA_DIR.glob("*.ndjson"))
    assert len(imports) == len(files)
    for (path, headers, body), ndjson in zip(imports, files, strict=True):
        assert path == "/api/saved_objects/_import?overwrite=true"
        assert headers.get("kbn-xsrf") == "true", "Kibana refuses API writes without kbn-xsrf"
        assert headers["content-type"].startswith("multipart/form-data")
        assert ndjson.read_bytes() in body
    assert any(path == "/api/data_views/default" for path, _, _ in kibana.requests)


def test_init_fails_when_kibana_refuses_an_object(tmp_path: Path, kibana: FakeKibana) -> None:
    kibana.import_answer = {
        "success": False,
        "successCount": 8,
        "errors": [{"id": "newsflow-overview", "error": {"type": "unknown"}}],
    }
    result = run_init(tmp_path, kibana)
    assert result.returncode != 0
    assert "Kibana refused" in result.stderr and "newsflow-overview" in result.stderr


def test_init_stops_before_kibana_when_newsflow_init_fails(tmp_path: Path, kibana: FakeKibana) -> None:
    result = run_init(tmp_path, kibana, newsflow_exit=1)
    assert result.returncode != 0
    assert kibana.requests == []
