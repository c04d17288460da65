"""The push API of a real ingest worker under hostile pushes: the worker stays responsive (``/readyz`` is
answered while a large push is parsed), a body of too many records is refused before any is parsed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from services.ops.embedded import Stack
from tests.conftest import REPO
from tests.harness import cli_env, make_pipeline

pytestmark = pytest.mark.integration
BODY = (
    "The council approved the budget on Monday after a long debate about school funding, road repairs and "
    "the cost of heating the old library through the winter months."
)


def post(url: str, body: bytes) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/x-ndjson"}
    )
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_readyz_is_answered_while_a_large_push_is_parsed_and_too_many_records_get_413(
    stack: Stack, tmp_path: Path
) -> None:
    p = make_pipeline(stack, tmp_path).start(stages=["ingest"])
    try:
        p.running.wait_ready()
        w = p.worker("ingest")
        assert w.push_port
        url = f"http://127.0.0.1:{w.push_port}/articles"

        flood = b"\n".join(
            json.dumps({"body": f"Story number {i} of many."}).encode() for i in range(100_000)
        )
        status, answer = post(url, flood)
        assert status == 413 and answer["error"] == "too-many-records"

        big = b"\n".join(
            json.dumps({"title": f"T{i}", "body": f"{BODY} Item {i}."}).encode() for i in range(3000)
        )
        result: list[tuple[int, dict[str, object]]] = []
        pushing = threading.Thread(target=lambda: result.append(post(url, big)))
        pushing.start()
        answered_during_push = 0
        slowest = 0.0
        while pushing.is_alive():
            t0 = time.monotonic()
            with urllib.request.urlopen(w.url + "/readyz", timeout=60) as r:
                ok = r.status == 200
            slowest = max(slowest, time.monotonic() - t0)
            if ok and pushing.is_alive():
                answered_during_push += 1
            time.sleep(0.05)
        pushing.join()
        print(f"\n/readyz during a 3000-record push: {answered_during_push} answers, slowest {slowest:.3f} s")
        assert result[0][0] == 202 and result[0][1]["accepted"] == 3000
        assert answered_during_push >= 1
    finally:
        p.stop()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NEWSFLOW_INGEST__PUSH_HOST": "0.0.0.0"}, "is not a loopback address"),
        ({"NEWSFLOW_INGEST__PUSH_TOKEN": ""}, "push_token is empty"),
    ],
    ids=["0.0.0.0 without a token", "an empty token"],
)
def test_the_ingest_worker_refuses_to_start_an_unprotected_push_api(
    env: dict[str, str], message: str
) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "worker", "ingest"],
        cwd=REPO,
        env=cli_env() | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0 and message in out.stderr
