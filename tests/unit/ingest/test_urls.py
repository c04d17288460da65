"""canonical_url: one spelling per article, and never one spelling for two articles."""

from __future__ import annotations

import pytest

from services.ingest.urls import canonical_url, host_of, is_tracking_param

SAME = [
    # (why, url, canonical)
    ("scheme and host are lowercased", "HTTPS://Example.COM/News", "https://example.com/News"),
    ("www. is dropped", "https://www.example.com/a", "https://example.com/a"),
    ("m. mobile mirror is dropped", "https://m.example.com/a", "https://example.com/a"),
    ("amp. mirror is dropped", "https://amp.example.com/a", "https://example.com/a"),
    ("the fragment is dropped", "https://example.com/a#comments", "https://example.com/a"),
    (
        "utm_* parameters are dropped",
        "https://example.com/a?utm_source=tw&utm_medium=social",
        "https://example.com/a",
    ),
    ("fbclid and gclid are dropped", "https://example.com/a?fbclid=x&gclid=y", "https://example.com/a"),
    (
        "ref and mc_cid are dropped",
        "https://example.com/a?ref=home&mc_cid=1&mc_eid=2",
        "https://example.com/a",
    ),
    ("default https port is dropped", "https://example.com:443/a", "https://example.com/a"),
    ("default http port is dropped", "http://example.com:80/a", "http://example.com/a"),
    ("other ports stay", "http://example.com:8080/a", "http://example.com:8080/a"),
    ("remaining parameters are sorted", "https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("an empty path is /", "https://example.com", "https://example.com/"),
    ("a trailing slash is dropped", "https://example.com/news/story/", "https://example.com/news/story"),
    ("dot segments are resolved", "https://example.com/a/../b/./c", "https://example.com/b/c"),
    ("an /amp suffix is dropped", "https://example.com/news/story/amp", "https://example.com/news/story"),
    (
        "escapes of unreserved characters are decoded",
        "https://example.com/%7Euser",
        "https://example.com/~user",
    ),
    ("other escapes are upper-cased", "https://example.com/caf%c3%a9", "https://example.com/caf%C3%A9"),
    ("raw non-ASCII paths are escaped", "https://example.com/café", "https://example.com/caf%C3%A9"),
    ("an IDN host becomes punycode", "https://bücher.de/x", "https://xn--bcher-kva.de/x"),
    ("a punycode host stays as it is", "https://xn--bcher-kva.de/x", "https://xn--bcher-kva.de/x"),
    ("full-width letters fold to ASCII", "https://ｅｘａｍｐｌｅ.com/x", "https://example.com/x"),
    ("the trailing dot of a host is dropped", "https://example.com./x", "https://example.com/x"),
    ("surrounding spaces are ignored", "  https://example.com/x  ", "https://example.com/x"),
    (
        "an escaped & inside a value stays escaped",
        "https://example.com/s?q=a%26b",
        "https://example.com/s?q=a%26b",
    ),
    ("IPv6 literals are kept", "http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
]


@pytest.mark.parametrize(("why", "url", "expected"), SAME, ids=[s[0] for s in SAME])
def test_canonical_url_normalizes(why: str, url: str, expected: str) -> None:
    assert canonical_url(url) == expected


MERGE = [
    (
        "tracking and ordering differ",
        "https://www.example.com/a?utm_campaign=x&id=3&b=1",
        "https://example.com/a?b=1&id=3",
    ),
    ("mobile mirror with fragment", "https://m.example.com/story/#top", "https://example.com/story"),
    ("AMP mirror", "https://amp.example.com/story/amp/", "https://example.com/story"),
]


@pytest.mark.parametrize(("why", "a", "b"), MERGE, ids=[m[0] for m in MERGE])
def test_canonical_url_merges_spellings_of_one_article(why: str, a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)


MUST_NOT_MERGE = [
    (
        "?id= selects the article",
        "https://example.com/article.php?id=1",
        "https://example.com/article.php?id=2",
    ),
    ("?p= selects the post", "https://blog.example.com/?p=10", "https://blog.example.com/?p=11"),
    ("?story= selects the story", "https://example.com/s?story=a", "https://example.com/s?story=b"),
    ("?page= selects the page", "https://example.com/s?page=1", "https://example.com/s?page=2"),
    ("paths are case-sensitive", "https://example.com/News", "https://example.com/news"),
    ("different subdomains", "https://sport.example.com/a", "https://news.example.com/a"),
    ("a Cyrillic look-alike host is another host", "https://exаmple.com/a", "https://example.com/a"),
    ("a Greek omicron look-alike", "https://gοogle.com/a", "https://google.com/a"),
    ("ports differ", "http://example.com:8080/a", "http://example.com/a"),
    ("an escaped & is not a separator", "https://example.com/s?q=a%26b", "https://example.com/s?q=a&b="),
    ("www. alone is a host, not a prefix", "http://www.com/", "http://com/"),
]


@pytest.mark.parametrize(("why", "a", "b"), MUST_NOT_MERGE, ids=[m[0] for m in MUST_NOT_MERGE])
def test_canonical_url_keeps_different_articles_apart(why: str, a: str, b: str) -> None:
    ca, cb = canonical_url(a), canonical_url(b)
    assert ca is None or ca != cb


def test_canonical_url_shows_a_homoglyph_host_as_punycode() -> None:
    canon = canonical_url("https://аpple.com/")  # Cyrillic 'а'
    assert canon is not None and canon.startswith("https://xn--")


REFUSED = [
    ("ftp is not http", "ftp://example.com/file"),
    ("javascript: URLs", "javascript:alert(1)"),
    ("mailto: URLs", "mailto:a@example.com"),
    ("file: URLs", "file:///etc/passwd"),
    ("relative URLs", "/news/story"),
    ("scheme-relative URLs", "//example.com/a"),
    ("no host", "https:///path"),
    ("an impossible port", "https://example.com:99999/"),
    ("spaces in the host", "https://exa mple.com/"),
    ("control characters", "https://example.com/\x00"),
    ("empty", ""),
    ("None", None),
]


@pytest.mark.parametrize(("why", "url"), REFUSED, ids=[r[0] for r in REFUSED])
def test_canonical_url_refuses_what_is_not_an_http_url(why: str, url: str | None) -> None:
    assert canonical_url(url) is None


@pytest.mark.parametrize(
    ("name", "tracking"),
    [
        ("utm_source", True),
        ("UTM_Campaign", True),
        ("fbclid", True),
        ("gclid", True),
        ("ref", True),
        ("mc_cid", True),
        ("id", False),
        ("p", False),
        ("story", False),
        ("page", False),
        ("q", False),
    ],
)
def test_tracking_parameters_are_recognized_by_name(name: str, tracking: bool) -> None:
    assert is_tracking_param(name) is tracking


def test_host_of_gives_the_canonical_host() -> None:
    assert host_of("https://www.BBC.co.uk/news") == "bbc.co.uk"
    assert host_of("not a url") is None
