"""Logging setup: key=value lines on stderr, never an article body."""

from __future__ import annotations

import logging
import sys


def setup(level: str = "INFO", stage: str = "cli") -> None:
    fmt = f"%(asctime)s level=%(levelname)s stage={stage} logger=%(name)s %(message)s"
    root = logging.getLogger()
    root.handlers[:] = []
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("kafka", "aiokafka", "elastic_transport", "urllib3", "mode", "faust", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # trafilatura/htmldate log ERROR for inputs that ingest already rejects as values.
    for chatty in ("trafilatura", "htmldate", "charset_normalizer"):
        logging.getLogger(chatty).setLevel(logging.CRITICAL)
