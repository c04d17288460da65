"""HTML extraction: the body F1 on the extraction benchmark, and the metadata a page declares."""

from __future__ import annotations

import importlib.util
import json
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

from services.common.records import Rejected
from services.common.settings.ingest import IngestSettings
from services.ingest.extract import Extracted, extract_html

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "eval_extraction.py"
PARAS = "".join(
    f"<p>Paragraph {i} of the story tells how the river flooded the lower town and how volunteers filled "
    f"sandbags through the night while the water kept rising.</p>"
    for i in range(5)
)


def load_eval() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_extraction", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def page(head: str = "", body: str = PARAS, html_attrs: str = 'lang="en"') -> str:
    return (
        f"<!DOCTYPE html><html {html_attrs}><head>{head}</head><body><article>{body}</article></body></html>"
    )


def test_body_f1_on_the_extraction_benchmark_is_at_least_093(
    benchmark: Path, cfg: IngestSettings, now: datetime
) -> None:
    ev = load_eval()
    truth = json.loads((benchmark / "ground-truth.json").read_text(encoding="utf-8"))
    results = [
        ev.tp_fp_fn(
            t.get("articleBody", ""),
            ev.extract_file(benchmark / "html" / f"{key}.html.gz", t.get("url"), cfg, now),
        )
        for key, t in sorted(truth.items())
    ]
    assert len(results) == 181
    assert ev.metrics(results)["f1"] >= 0.93


def test_the_benchmark_measure_matches_its_definition() -> None:
    ev = load_eval()
    assert ev.tp_fp_fn("a b c d e", "a b c d e") == (1.0, 0.0, 0.0)
    assert ev.tp_fp_fn("a b c d e", "") == (0.0, 0.0, 1.0)
    tp, fp, fn = ev.tp_fp_fn("a b c d e f", "a b c d x y")  # 3 true shingles, 3 predicted, 1 shared
    assert (tp, fp, fn) == pytest.approx((1 / 5, 2 / 5, 2 / 5))
    m = ev.metrics([(1.0, 0.0, 0.0), (0.5, 0.5, 0.0)])
    assert m["precision"] == pytest.approx(0.75) and m["recall"] == pytest.approx(1.0)
    assert m["f1"] == pytest.approx(2 * 0.75 / 1.75)


def test_the_eval_script_prints_the_figure_and_holds_the_line(
    benchmark: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ev = load_eval()
    assert ev.main(["--data", str(benchmark), "--limit", "5", "--min-f1", "0"]) == 0
    assert "F1=" in capsys.readouterr().out


CANONICAL = [
    (
        "a link rel=canonical",
        '<link rel="canonical" href="https://example.com/a">',
        None,
        "https://example.com/a",
    ),
    ("rel in capitals", '<link rel="Canonical" href="https://example.com/a">', None, "https://example.com/a"),
    (
        "og:url when there is no link",
        '<meta property="og:url" content="https://example.com/og">',
        None,
        "https://example.com/og",
    ),
    (
        "a relative link against the page URL",
        '<link rel="canonical" href="/news/1">',
        "https://example.com/x/y",
        "https://example.com/news/1",
    ),
    ("nothing declared", "", "https://example.com/x", None),
]


@pytest.mark.parametrize(("why", "head", "url", "expected"), CANONICAL, ids=[c[0] for c in CANONICAL])
def test_the_canonical_url_is_the_one_the_page_declares(
    why: str, head: str, url: str | None, expected: str | None, now: datetime
) -> None:
    got = extract_html(page(head), url, now)
    assert isinstance(got, Extracted) and got.canonical_url == expected


@pytest.mark.parametrize(
    ("html_attrs", "head", "language"),
    [
        ('lang="en-GB"', "", "en"),
        ('lang="pt_BR"', "", "pt"),
        ("", '<meta http-equiv="Content-Language" content="de">', "de"),
        ("", '<meta property="og:locale" content="fr_FR">', "fr"),
        ("", "", None),
        ('lang="not a language"', "", None),
    ],
)
def test_the_declared_language_is_read_from_the_page(
    html_attrs: str, head: str, language: str | None, now: datetime
) -> None:
    got = extract_html(page(head, html_attrs=html_attrs), None, now)
    assert isinstance(got, Extracted) and got.language == language


def test_the_publication_time_keeps_its_hour_when_the_page_gives_it(now: datetime) -> None:
    got = extract_html(
        page('<meta property="article:published_time" content="2025-06-01T08:30:00+02:00">'), None, now
    )
    assert isinstance(got, Extracted) and got.published_at == "2025-06-01T08:30:00+02:00"


def test_a_date_after_now_is_not_taken(now: datetime) -> None:
    got = extract_html(
        page('<meta property="article:published_time" content="2031-06-01T08:30:00Z">'), None, now
    )
    assert isinstance(got, Extracted) and got.published_at is None


def test_the_headline_repeated_in_the_body_is_left_to_the_title(now: datetime) -> None:
    got = extract_html(
        page("<title>Flood in the lower town</title>", "<h1>Flood in the lower town</h1>" + PARAS), None, now
    )
    assert isinstance(got, Extracted)
    assert got.title == "Flood in the lower town"
    assert got.text.startswith("Paragraph 0")


@pytest.mark.parametrize(
    ("why", "html"),
    [
        ("an empty document", ""),
        ("plain words", "just some words, no markup at all"),
        ("navigation only", "<html><body><nav><a href='/'>Home</a><a href='/n'>News</a></nav></body></html>"),
        ("a short paragraph", "<html><body><p>Too short to be an article.</p></body></html>"),
        ("deeply nested divs", "<div>" * 50_000 + "text" + "</div>" * 50_000),
    ],
)
def test_pages_without_an_article_are_rejected(why: str, html: str, now: datetime) -> None:
    got = extract_html(html, None, now)
    assert isinstance(got, Rejected) and got.reason in ("no-article", "extract-error")
