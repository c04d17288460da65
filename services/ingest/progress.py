"""Progress display for ``newsflow ingest``: counts and rate on stderr (rich), nothing when quiet."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

T = TypeVar("T")


class RateColumn(ProgressColumn):
    """Items per second so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-/s" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")


def progress(
    iterable: Iterable[T],
    total: int | None,
    quiet: bool = False,
    description: str = "ingest",
    console: Console | None = None,
) -> Iterator[T]:
    """Yield from ``iterable`` while showing done/total, items per second and elapsed time on stderr.

    ``quiet``, or a stderr that is not a terminal, shows nothing, so logs and CI output stay clean.
    """
    console = console or Console(stderr=True)
    if quiet or not console.is_terminal:
        yield from iterable
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(description, total=total)
        for item in iterable:
            yield item
            bar.advance(task)
