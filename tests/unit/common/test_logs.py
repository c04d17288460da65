"""Log lines as the README promises them (services/common/logs.py), without a worker."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from services.common import logs

KEYVALUE = re.compile(
    r"^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(\w+) stage=(\w+) logger=(\S+) (.*)$"
)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield io.StringIO()
    root.handlers[:] = handlers
    root.setLevel(level)


def setup(out: io.StringIO, *args: str) -> None:
    logs.setup(*args)  # type: ignore[arg-type]
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)


def test_keyvalue_lines_carry_time_level_stage_and_logger_before_the_message(captured: io.StringIO) -> None:
    setup(captured, "INFO", "index")
    logging.getLogger("services.x").warning(
        "dead-lettered stage=%s reason=%s offset=%d", "index", "bad-json", 7
    )
    (line,) = captured.getvalue().splitlines()
    m = KEYVALUE.match(line)
    assert m, line
    assert m.groups()[:3] == ("WARNING", "index", "services.x")
    assert logs.fields(m.group(4)) == {"stage": "index", "reason": "bad-json", "offset": "7"}


def test_json_lines_have_the_message_fields_as_keys_without_overriding_the_envelope(
    captured: io.StringIO,
) -> None:
    setup(captured, "INFO", "dedupe", "json")
    logging.getLogger("services.y").info('decided article_id=a1 level=9 title="two words" stage=other')
    obj = json.loads(captured.getvalue())
    assert obj["level"] == "INFO" and obj["stage"] == "dedupe" and obj["logger"] == "services.y"
    assert obj["article_id"] == "a1" and obj["title"] == "two words"
    assert obj["msg"].startswith("decided article_id=a1")


def test_a_traceback_stays_inside_the_json_object(captured: io.StringIO) -> None:
    setup(captured, "INFO", "enrich", "json")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("services.z").exception("step failed stage=enrich")
    (line,) = captured.getvalue().splitlines()
    assert "ValueError: boom" in json.loads(line)["exc"]
