"""A real worker process writes the documented log lines (README "Operations"): read back from its log file."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from services.common.kafka import create_topics
from services.common.logs import fields
from services.common.settings import ElasticSettings, KafkaSettings, Settings
from services.common.topics import names
from services.ops.embedded import Stack, free_port
from services.ops.init import init

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

KEYVALUE = re.compile(
    r"^ts=\S+ level=(?P<level>[A-Z]+) stage=(?P<stage>\w+) logger=(?P<logger>\S+) (?P<msg>.*)$"
)


@contextlib.contextmanager
def start_index_worker(
    stack: Stack, tmp_path: Path, extra_env: dict[str, str]
) -> Iterator[tuple[Settings, int, Path]]:
    """`newsflow worker index` on its own topics and indices, its output in a log file (as `newsflow up` does);
    yields (settings, web port, log path) and stops it with SIGTERM."""
    prefix = "t" + uuid.uuid4().hex[:10]
    settings = Settings(
        kafka=KafkaSettings(bootstrap=stack.broker.bootstrap, topic_prefix=prefix, partitions=1),
        es=ElasticSettings(
            url=stack.search.url,
            compat="osmem",
            index_prefix=f"{prefix}-articles",
            alias=f"{prefix}-articles",
            dedupe_index=f"{prefix}-dedupe",
        ),
    )
    create_topics(settings.kafka)
    init(settings)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")} | {
        "NEWSFLOW_KAFKA__BOOTSTRAP": stack.broker.bootstrap,
        "NEWSFLOW_KAFKA__TOPIC_PREFIX": prefix,
        "NEWSFLOW_KAFKA__PARTITIONS": "1",
        "NEWSFLOW_ES__URL": stack.search.url,
        "NEWSFLOW_ES__COMPAT": "osmem",
        "NEWSFLOW_ES__INDEX_PREFIX": f"{prefix}-articles",
        "NEWSFLOW_ES__ALIAS": f"{prefix}-articles",
        "NEWSFLOW_ES__DEDUPE_INDEX": f"{prefix}-dedupe",
        "NEWSFLOW_WEB_PORT": str(port),
        "NEWSFLOW_DATA_DIR": str(tmp_path / "nf"),
        **extra_env,
    }
    (tmp_path / "nf").mkdir()
    log_path = tmp_path / "worker-index.log"
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker", "index"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield settings, port, log_path
        assert proc.poll() is None, f"worker exited {proc.returncode}:\n{log_path.read_text()}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def run_index_worker_until_it_dead_letters(
    stack: Stack, tmp_path: Path, extra_env: dict[str, str]
) -> list[str]:
    """Send the index worker one message that is not JSON, wait for its dead-letter line, stop it, and return
    its log file's lines."""
    with start_index_worker(stack, tmp_path, extra_env) as (settings, _, log_path):
        producer = KafkaProducer(bootstrap_servers=stack.broker.bootstrap)
        producer.send(names(settings.kafka.topic_prefix).enriched, b"this is not json", key=b"k1")
        producer.flush()
        producer.close()
        deadline = time.monotonic() + 120
        while "dead-lettered" not in log_path.read_text(errors="replace"):
            assert time.monotonic() < deadline, f"no dead-letter line after 120 s:\n{log_path.read_text()}"
            time.sleep(0.5)
    return log_path.read_text(errors="replace").splitlines()


def test_a_worker_log_file_is_keyvalue_lines_with_its_stage(stack: Stack, tmp_path: Path) -> None:
    lines = run_index_worker_until_it_dead_letters(stack, tmp_path, {})
    records = [m for line in lines if (m := KEYVALUE.match(line))]
    # Only a traceback's own lines may follow a record without the prefix.
    stray = [
        line for line in lines if not KEYVALUE.match(line) and not line.startswith((" ", "Traceback", "\t"))
    ]
    assert records, "\n".join(lines)
    assert not [s for s in stray if not re.match(r"^\w+(\.\w+)*(Error|Exception|Exit)\b", s)], "\n".join(
        stray
    )
    assert {m["stage"] for m in records} == {"index"}
    dead = [fields(m["msg"]) for m in records if m["msg"].startswith("dead-lettered")]
    assert dead and dead[0]["stage"] == "index" and dead[0]["topic"].endswith(".enriched")
    assert dead[0]["partition"] == "0" and dead[0]["offset"] == "0"


def test_a_worker_with_json_logs_writes_one_object_a_line(stack: Stack, tmp_path: Path) -> None:
    lines = run_index_worker_until_it_dead_letters(stack, tmp_path, {"NEWSFLOW_LOG_FORMAT": "json"})
    objects = [json.loads(line) for line in lines if line.strip()]  # every line parses
    assert {o["stage"] for o in objects} == {"index"}
    dead = [o for o in objects if o["msg"].startswith("dead-lettered")]
    assert dead and dead[0]["level"] == "WARNING" and dead[0]["topic"].endswith(".enriched")
    assert dead[0]["reason"]
