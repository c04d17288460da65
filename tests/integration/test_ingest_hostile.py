"""Hostile input against the real search server: what an article says never becomes markup in a highlight."""

from __future__ import annotations

import re
import uuid

import pytest

from services.common.es import sync_client
from services.common.settings import ElasticSettings
from services.index.search import safe_fragment, search
from services.index.template import ensure_write_alias, install_template
from services.ops.embedded import Stack

pytestmark = pytest.mark.integration
TITLE = "<script>alert(1)</script> Harbour budget <img src=x onerror=alert(2)>"
BODY = (
    "The council approved the harbour budget on Monday. <b onmouseover='steal()'>bold</b> claims, "
    'a "quoted" word and an <iframe src="https://evil.example/"></iframe> in the text of the budget story.'
)


def raw_markup(fragment: str) -> list[str]:
    """Every tag in a fragment that is not the highlighter's own <em>/</em>."""
    return [t for t in re.findall(r"<[^>]*>?", fragment) if t not in ("<em>", "</em>")]


def test_highlights_never_contain_a_raw_tag_from_the_article(stack: Stack) -> None:
    prefix = "h" + uuid.uuid4().hex[:8]
    cfg = ElasticSettings(url=stack.search.url, compat="osmem", alias=prefix, index_prefix=prefix)
    es = sync_client(cfg)
    try:
        install_template(es, cfg)
        ensure_write_alias(es, cfg)
        doc = {
            "id": "x1",
            "title": TITLE,
            "body": BODY,
            "pending": False,
            "event_id": "e1",
            "source": "x.json",
        }
        es.index(index=cfg.alias, id="x1", document=doc, refresh=True)
        result = search(es, cfg.alias, "budget")
    finally:
        es.close()
    (hit,) = result["hits"]
    fragments = hit["highlight"].get("title", []) + hit["highlight"].get("body", [])
    assert fragments, hit
    assert all(raw_markup(f) == [] for f in fragments), fragments
    assert any("<em>" in f for f in fragments)
    assert any("&lt;script&gt;" in f for f in hit["highlight"].get("title", []))
    assert hit["title"] == TITLE  # stored and returned as text; rendering it is the renderer's escaping


@pytest.mark.parametrize(
    ("fragment", "safe"),
    [
        ("<em>budget</em> <script>x</script>", "<em>budget</em> &lt;script&gt;x&lt;/script&gt;"),
        ("&lt;b&gt; <em>budget</em>", "&lt;b&gt; <em>budget</em>"),  # already encoded: not encoded twice
        ('a "q" <em>b</em>', "a &quot;q&quot; <em>b</em>"),
        ("<em onclick=x>b</em>", "&lt;em onclick=x&gt;b</em>"),
    ],
)
def test_a_fragment_is_safe_whatever_the_server_encoded(fragment: str, safe: str) -> None:
    assert safe_fragment(fragment) == safe
