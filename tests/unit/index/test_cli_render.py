"""What the CLI prints of article text: shown as written, never as markup (rich or HTML)."""

from __future__ import annotations

import io

from rich.console import Console

from services.cli import print_report
from services.index.cli import highlight_text


def test_highlights_are_decoded_to_text_with_only_the_matches_emphasised() -> None:
    text = highlight_text(["&lt;script&gt;alert(1)&lt;/script&gt; <em>Minsk</em> [bold]x[/]"], limit=200)
    assert text.plain == "<script>alert(1)</script> Minsk [bold]x[/]"
    bold = [text.plain[s.start : s.end] for s in text.spans if s.style == "bold"]
    assert bold == ["Minsk"]


def test_a_title_with_rich_markup_in_it_is_printed_as_written(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    monkeypatch.setattr("rich.console.Console", lambda *a, **k: Console(file=out, width=200))
    report = {
        "articles_in": 1,
        "indexed": 1,
        "duplicates_recorded": 0,
        "dead_lettered": 0,
        "seconds": 1.0,
        "documents": [
            {
                "source": "[red]a.txt",
                "title": "[bold]Putin[/] in <b>Minsk</b>",
                "published_at": None,
                "event_id": "e1",
                "duplicates": [],
                "entities": [{"name": "[link=x]Putin"}],
            }
        ],
        "top_entities": [{"name": "[blink]Putin", "type": "PERSON", "documents": 1}],
        "dead_letters": [],
    }
    print_report(report)
    printed = out.getvalue()
    assert "[bold]Putin[/] in <b>Minsk</b>" in printed
    assert "[red]a.txt" in printed and "[blink]Putin" in printed
