"""Ingest sources through the real worker, broker and search server: the push API and pages fetched by URL."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from services.ops.embedded import Stack
from tests.conftest import REPO
from tests.harness import cli_env, make_pipeline

pytestmark = pytest.mark.integration
TOKEN = "s3cret-token"


def post(url: str, body: bytes, token: str | None, ctype: str = "application/x-ndjson") -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": ctype})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def wait_listening(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listening on {port}")


def test_push_api_requires_its_token_and_indexes_good_records_while_reporting_bad_ones(
    stack: Stack, tmp_path: Path
) -> None:
    p = make_pipeline(stack, tmp_path).start(
        env={
            "ingest": {"NEWSFLOW_INGEST__PUSH_TOKEN": TOKEN, "NEWSFLOW_INGEST__PUSH_MAX_BODY_BYTES": "65536"}
        }
    )
    try:
        port = p.worker("ingest").push_port
        assert port
        wait_listening(port)
        url = f"http://127.0.0.1:{port}/articles"
        good1 = {
            "title": "Harbour reopens",
            "body": "The harbour of Kelmstad reopened on Monday after storms "
            "closed it for a week, the port authority said.",
            "url": "https://www.example.com/a?utm_source=x",
        }
        good2 = {
            "title": "Bridge vote",
            "body": "Councillors in Dunmere voted to repair the old stone bridge "
            "instead of building a new one, ending a year of debate.",
            "published_at": "2024-03-02",
        }
        bad = {"title": "No body"}
        body = b"\n".join(json.dumps(x).encode() for x in (good1, bad, good2))

        assert post(url, body, None)[0] == 401
        assert post(url, body, "wrong")[0] == 401
        assert post(url, b"x" * 70000, TOKEN)[0] == 413
        status, answer = post(url, body, TOKEN)
        assert status == 202, answer
        assert answer["accepted"] == 2
        assert [(r["index"], r["reason"]) for r in answer["rejected"]] == [(1, "missing-body")]

        docs = p.wait_documents(2)
        by_title = {d["title"]: d for d in docs}
        assert set(by_title) == {"Harbour reopens", "Bridge vote"}
        assert by_title["Harbour reopens"]["canonical_url"] == "https://example.com/a"
        assert by_title["Bridge vote"]["published_at"].startswith("2024-03-02")
        assert all(d["language"] == "en" for d in docs)
    finally:
        p.stop()


def test_a_page_fetched_by_url_is_extracted_and_indexed(
    stack: Stack, tmp_path: Path, shared_data: Path
) -> None:
    truth = json.loads((shared_data / "extraction-benchmark" / "ground-truth.json").read_text())
    page_id = sorted(truth)[0]
    html = gzip.decompress(
        (shared_data / "extraction-benchmark" / "html" / f"{page_id}.html.gz").read_bytes()
    )
    site = tmp_path / "site"
    site.mkdir()
    (site / "story.html").write_bytes(html)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    p = make_pipeline(stack, tmp_path).start()
    try:
        env = cli_env(p.settings)
        env["NEWSFLOW_INGEST__FETCH_ALLOW_HOSTS"] = '["127.0.0.1"]'
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "services.cli",
                "ingest",
                "--quiet",
                "--url",
                f"http://127.0.0.1:{server.server_address[1]}/story.html",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        [doc] = p.wait_documents(1)
        expected_words = set(truth[page_id]["articleBody"].split())
        got_words = set(doc["body"].split())
        assert len(expected_words & got_words) / len(expected_words) > 0.8, "the article body, not the menus"
        assert doc["title"]
    finally:
        p.stop()
        server.shutdown()


def test_a_feed_is_ingested_once_and_a_second_poll_sends_nothing(
    stack: Stack, tmp_path: Path, shared_data: Path
) -> None:
    truth = json.loads((shared_data / "extraction-benchmark" / "ground-truth.json").read_text())
    ids = sorted(truth)[1:3]
    site = tmp_path / "site"
    site.mkdir()
    for pid in ids:
        html = gzip.decompress(
            (shared_data / "extraction-benchmark" / "html" / f"{pid}.html.gz").read_bytes()
        )
        (site / f"{pid}.html").write_bytes(html)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site)))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    items = "".join(
        f"<item><title>Story {pid}</title><link>{base}/{pid}.html</link><guid>{pid}</guid></item>"
        for pid in ids
    )
    (site / "feed.xml").write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        f"<link>{base}/</link><description>d</description>{items}</channel></rss>"
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    p = make_pipeline(stack, tmp_path).start()
    try:
        env = cli_env(p.settings)
        env["NEWSFLOW_INGEST__FETCH_ALLOW_HOSTS"] = '["127.0.0.1"]'
        env["NEWSFLOW_INGEST__FEED_STATE_PATH"] = str(tmp_path / "feeds.json")

        def poll() -> int:
            out = subprocess.run(
                [sys.executable, "-m", "services.cli", "ingest", "--feed", f"{base}/feed.xml"],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert out.returncode == 0, out.stderr[-2000:]
            return int(json.loads(out.stdout.strip().splitlines()[-1])["sent"])

        assert poll() == 2
        docs = p.wait_documents(2)
        assert len(docs) == 2 and all(d["title"] for d in docs)
        assert poll() == 0, "the second poll finds nothing new"
    finally:
        p.stop()
        server.shutdown()
