"""``newsflow extract`` and the ingest progress display."""

from __future__ import annotations

import argparse
import gzip
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from services.common.settings import Settings
from services.ingest.cli import register
from services.ingest.progress import progress


def run_extract(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["extract", *argv])
    return int(args.func(args, Settings()))


def test_extract_prints_one_json_line_per_html_file(
    fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (fixtures_dir / "article-cp1252.html").read_bytes()
    (tmp_path / "a.html").write_bytes(page)
    (tmp_path / "b.html.gz").write_bytes(gzip.compress(page))
    (tmp_path / "ignored.txt").write_text("not html")
    code = run_extract(["--json", "--url", "https://www.coastal.example/x", str(tmp_path)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [Path(line["source"]).name for line in lines] == ["a.html", "b.html.gz"]
    for line in lines:
        assert set(line) == {"source", "url", "title", "text", "published_at", "language"}
        assert line["title"] == "Harbour bridge reopens after repairs"
        assert line["url"] == "https://coastal.example/news/2025/harbour-bridge-reopens"
        assert line["published_at"] == "2025-11-18T07:45:00+00:00" and line["language"] == "en"


def test_extract_reports_pages_without_an_article_and_fails(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_extract(["--json", str(fixtures_dir / "no-article.html")])
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 1 and line["error"] == "no-article"


def test_extract_without_json_prints_a_summary(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_extract([str(fixtures_dir / "article-cp1252.html")]) == 0
    assert "Harbour bridge reopens after repairs" in capsys.readouterr().out


def test_progress_yields_everything_and_shows_counts_and_rate() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    assert list(progress(range(5), total=5, console=console)) == [0, 1, 2, 3, 4]
    shown = out.getvalue()
    assert "5/5" in shown and "/s" in shown


def test_progress_is_silent_when_quiet() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True)
    assert list(progress(iter("abc"), total=None, quiet=True, console=console)) == ["a", "b", "c"]
    assert out.getvalue() == ""
