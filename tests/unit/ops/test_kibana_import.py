"""deploy/kibana-import.sh (the compose `dashboards` service) run against a stand-in Kibana."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from .support import DEPLOY, KIBANA_DIR


@dataclass
class FakeKibana:
    """Answers the Kibana API calls the script makes and records what it was sent."""

    import_answers: list[dict[str, Any]] = field(default_factory=list)
    """answers to the imports, in order; when used up, success"""
    unavailable: int = 0
    """how many /api/status calls answer 503 first"""
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def kibana() -> Iterator[FakeKibana]:
    fake = FakeKibana()

    class Handler(BaseHTTPRequestHandler):
        def answer(self, status: int, obj: dict[str, Any]) -> None:
            data = json.dumps(obj, separators=(",", ":")).encode()  # compact, as Kibana answers
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            fake.requests.append(("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, b""))
            if fake.unavailable > 0:
                fake.unavailable -= 1
                self.answer(503, {"status": {"overall": {"level": "unavailable"}}})
            else:
                self.answer(200, {"status": {"overall": {"level": "available"}}})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            fake.requests.append(("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if self.path.startswith("/api/saved_objects/_import"):
                ok = {"success": True, "successCount": 9}
                self.answer(200, fake.import_answers.pop(0) if fake.import_answers else ok)
            else:
                self.answer(200, {})

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


def run_import(kibana: FakeKibana, **env: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("curl") is None:
        pytest.skip("curl not found (the worker image installs it; this machine lacks it)")
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KIBANA_")},
        "KIBANA_URL": kibana.url,
        "SAVED_OBJECTS_DIR": str(KIBANA_DIR),
        "RETRY_DELAY_S": "0",
        "ATTEMPTS": "3",
        **env,
    }
    return subprocess.run(
        ["sh", str(DEPLOY / "kibana-import.sh")],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def imports(kibana: FakeKibana) -> list[tuple[str, str, dict[str, str], bytes]]:
    return [r for r in kibana.requests if "_import" in r[1]]


def test_every_saved_objects_file_is_imported_and_the_data_view_made_default(kibana: FakeKibana) -> None:
    result = run_import(kibana)
    assert result.returncode == 0, result.stdout + result.stderr
    files = sorted(KIBANA_DIR.glob("*.ndjson"))
    assert len(imports(kibana)) == len(files)
    for (_, path, headers, body), ndjson in zip(imports(kibana), files, strict=True):
        assert path == "/api/saved_objects/_import?overwrite=true"
        assert headers.get("kbn-xsrf") == "true", "Kibana refuses API writes without kbn-xsrf"
        assert headers["content-type"].startswith("multipart/form-data")
        assert ndjson.read_bytes() in body
    assert any(path == "/api/data_views/default" for _, path, _, _ in kibana.requests)


def test_it_waits_for_kibana_to_become_available_before_importing(kibana: FakeKibana) -> None:
    kibana.unavailable = 3
    result = run_import(kibana, KIBANA_WAIT_S="30")
    assert result.returncode == 0, result.stderr
    statuses = [r for r in kibana.requests if r[1] == "/api/status"]
    assert len(statuses) == 4
    assert kibana.requests.index(statuses[-1]) < kibana.requests.index(imports(kibana)[0])


def test_a_kibana_that_never_answers_fails_the_import_so_docker_starts_it_again(kibana: FakeKibana) -> None:
    kibana.unavailable = 1000
    result = run_import(kibana, KIBANA_WAIT_S="0")
    assert result.returncode == 1
    assert "did not answer" in result.stderr
    assert imports(kibana) == []


def test_a_refused_import_is_retried(kibana: FakeKibana) -> None:
    kibana.import_answers = [{"success": False, "errors": [{"id": "x"}]}]
    result = run_import(kibana)
    assert result.returncode == 0, result.stderr
    assert len(imports(kibana)) == len(list(KIBANA_DIR.glob("*.ndjson"))) + 1


def test_an_object_kibana_keeps_refusing_fails_with_its_answer(kibana: FakeKibana) -> None:
    refusal = {"success": False, "successCount": 8, "errors": [{"id": "newsflow-overview", "error": {}}]}
    kibana.import_answers = [refusal] * 3
    result = run_import(kibana)
    assert result.returncode == 1
    assert "refused" in result.stderr and "newsflow-overview" in result.stderr


def test_with_credentials_every_call_authenticates(kibana: FakeKibana) -> None:
    result = run_import(kibana, KIBANA_USER="elastic", KIBANA_PASSWORD="s3cret pw")
    assert result.returncode == 0, result.stderr
    want = "Basic " + base64.b64encode(b"elastic:s3cret pw").decode()
    assert all(headers.get("authorization") == want for _, _, headers, _ in kibana.requests)
    assert "s3cret" not in result.stdout + result.stderr
