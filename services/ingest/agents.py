"""Ingest worker: inbox items (files, pushes, feed pages) -> raw articles."""

from __future__ import annotations

import faust

from services.common.records import InboxItem, Rejected, decode, utcnow
from services.common.settings import Settings
from services.common.worker import Stream, make_app
from services.ingest import logic


def build(settings: Settings) -> faust.App:
    app = make_app("ingest", settings)
    s = Stream(app, "ingest", settings, guard=False)

    @app.agent(s.topic("inbox"), concurrency=1)
    async def ingest(stream: faust.StreamT) -> None:
        async for event in stream.events():
            s.seen(event)
            with s.timed() as timer:
                item = decode(InboxItem, event.value)
                if isinstance(item, Rejected):
                    await s.dead_letter(event, item)
                    continue
                for result in logic.parse_item(item, utcnow(), settings.ingest):
                    if isinstance(result, Rejected):
                        await s.dead_letter(event, result)
                    else:
                        await s.send("raw", result.id, result.to_json())
                        s.outcome(True, "ok")
                timer.per_message(1)

    @app.timer(5.0)
    async def lag() -> None:
        s.update_lag()

    return app
