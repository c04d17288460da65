"""Logging setup: one line per record on stderr, never an article body.

``keyvalue`` (the default)::

    ts=2026-12-01T08:41:19.123Z level=WARNING stage=index logger=services.common.worker dead-lettered reason=...

``json`` (``NEWSFLOW_LOG_FORMAT=json``): one object a line with ``ts``, ``level``, ``stage``, ``logger``,
``msg`` (the message as written) and every ``key=value`` field of the message as a key of its own (fields
never replace the five above), plus ``exc`` with the traceback of an exception.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Literal

LogFormat = Literal["keyvalue", "json"]

_FIELD = re.compile(r"(?<![\w.])([a-z_][a-z0-9_]*)=(\"(?:[^\"\\]|\\.)*\"|\S*)")
_RESERVED = ("ts", "level", "stage", "logger", "msg", "exc")


def fields(message: str) -> dict[str, str]:
    """The ``key=value`` fields of a log message (``key="quoted value"`` loses its quotes)."""
    out: dict[str, str] = {}
    for key, value in _FIELD.findall(message):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        out.setdefault(key, value)
    return out


def _timestamp(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class KeyValueFormatter(logging.Formatter):
    """``ts= level= stage= logger=`` then the message; a traceback follows on its own lines."""

    def __init__(self, stage: str) -> None:
        super().__init__()
        self.stage = stage

    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"ts={_timestamp(record)} level={record.levelname} stage={self.stage} logger={record.name} "
            f"{record.getMessage()}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line (see the module docstring)."""

    def __init__(self, stage: str) -> None:
        super().__init__()
        self.stage = stage

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        obj: dict[str, str] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "stage": self.stage,
            "logger": record.name,
            "msg": message,
        }
        for key, value in fields(message).items():
            if key not in _RESERVED:
                obj[key] = value
        if record.exc_info:
            obj["exc"] = self.formatException(record.exc_info)
        return json.dumps(obj, ensure_ascii=False)


def formatter(stage: str, log_format: LogFormat = "keyvalue") -> logging.Formatter:
    return JsonFormatter(stage) if log_format == "json" else KeyValueFormatter(stage)


def setup(level: str = "INFO", stage: str = "cli", log_format: LogFormat = "keyvalue") -> None:
    """Make the root logger write ``log_format`` lines for ``stage`` to stderr, replacing any handler.

    A faust/mode Worker replaces the root handlers when it starts unless it is made with
    ``override_logging=False`` (``newsflow worker`` does that)."""
    root = logging.getLogger()
    root.handlers[:] = []
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(stage, log_format))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("kafka", "aiokafka", "elastic_transport", "urllib3", "mode", "faust", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # trafilatura/htmldate log ERROR for inputs that ingest already rejects as values.
    for chatty in ("trafilatura", "htmldate", "charset_normalizer"):
        logging.getLogger(chatty).setLevel(logging.CRITICAL)
