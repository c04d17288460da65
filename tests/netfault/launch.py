"""``python -m tests.netfault.launch worker STAGE``: ``newsflow worker STAGE`` with the broker probe of
``services.common.health`` wired into ``serve()`` — until ``services.common.worker.serve`` calls
``health.watch_broker`` itself (then this adds nothing: ``watch_broker`` runs once per app)."""

from __future__ import annotations

import sys
from typing import Any

from services.common import health
from services.common import worker as worker_module


def _wire() -> None:
    original = worker_module.serve

    def serve(worker: Any, settings: Any) -> Any:
        app = original(worker, settings)
        health.watch_broker(app, worker.stage, settings.kafka)
        return app

    worker_module.serve = serve  # before any agents module imports it by name


if __name__ == "__main__":
    _wire()
    from services.cli import main

    sys.exit(main())
