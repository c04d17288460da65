"""Sources: one small interface; files walked recursively in sorted order; feed state kept safely."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from services.common.records import InboxItem, Rejected
from services.common.settings.ingest import IngestSettings
from services.ingest.fetch import Fetcher
from services.ingest.sources import Source
from services.ingest.sources.feeds import FeedMemo, FeedSource, FeedState, entry_key, entry_record
from services.ingest.sources.files import FileSource, expand
from services.ingest.sources.url import UrlSource


def tree(root: Path) -> None:
    for rel, text in {
        "b/2.txt": "two",
        "a.json": "{}",
        "b/1.txt": "one",
        "b/c/0.html": "<p>",
        "z.jsonl": "",
        ".hidden/x.txt": "no",
        "b/.secret.txt": "no",
        "notes.md": "no",
        "d/page.html.gz": "",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_directories_are_walked_recursively_in_sorted_path_order(tmp_path: Path) -> None:
    tree(tmp_path)
    got = [src for src, _ in expand([tmp_path])]
    rel = [Path(s).relative_to(tmp_path).as_posix() for s in got]
    assert rel == ["a.json", "b/1.txt", "b/2.txt", "b/c/0.html", "d/page.html.gz", "z.jsonl"]


def test_a_file_given_by_name_is_taken_whatever_its_suffix(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("x")
    assert [p.name for _, p in expand([tmp_path / "notes.md"])] == ["notes.md"]


def test_file_source_reads_files_and_rejects_what_it_cannot(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_bytes(b"hello")
    (tmp_path / "big.txt").write_bytes(b"x" * 2000)
    source = FileSource([tmp_path / "ok.txt", tmp_path / "big.txt", tmp_path / "missing.txt"], max_bytes=1024)

    async def collect() -> list[InboxItem | Rejected]:
        return [i async for i in source.items()]

    ok, big, missing = asyncio.run(collect())
    assert isinstance(ok, InboxItem) and base64.b64decode(ok.content_b64) == b"hello"
    assert isinstance(big, Rejected) and big.reason == "too-large" and big.trace
    assert isinstance(missing, Rejected) and missing.reason == "unreadable"
    assert len(source) == 3


def test_every_source_implements_the_source_protocol(tmp_path: Path) -> None:
    async def check() -> None:
        async with Fetcher(IngestSettings()) as fetcher:
            for s in (
                FileSource([tmp_path], 1024),
                UrlSource([], fetcher),
                FeedSource([], fetcher, FeedState(tmp_path / "s.json", 10)),
            ):
                assert isinstance(s, Source)

    asyncio.run(check())


def test_feed_state_round_trips_and_keeps_only_the_newest_seen_ids(tmp_path: Path) -> None:
    state = FeedState(tmp_path / "sub" / "state.json", seen_max=3)
    state.save({"https://f.example/rss": FeedMemo(etag='"e1"', last_modified="Tue", seen=list("abcde"))})
    loaded = state.load()
    assert loaded == {
        "https://f.example/rss": FeedMemo(etag='"e1"', last_modified="Tue", seen=["c", "d", "e"])
    }


@pytest.mark.parametrize("content", ["not json {", "[1, 2]", '{"u": {"seen": "abc", "etag": 5}}'])
def test_a_damaged_feed_state_starts_afresh_instead_of_crashing(tmp_path: Path, content: str) -> None:
    (tmp_path / "state.json").write_text(content)
    loaded = FeedState(tmp_path / "state.json", 10).load()
    assert all(m.seen == [] and m.etag is None for m in loaded.values())


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({"id": "urn:1", "link": "https://x/1"}, "urn:1"),
        ({"link": "https://x/1"}, "https://x/1"),
        ({"title": "t", "published": "p"}, None),
    ],
)
def test_feed_entries_are_known_by_guid_then_link_then_digest(entry: dict[str, str], key: str | None) -> None:
    got = entry_key(entry)
    assert got == key if key else got.startswith("digest:")


def test_a_feed_entry_carries_its_own_article() -> None:
    record = entry_record(
        {
            "title": "T",
            "summary": "<p>Hello <b>world</b></p>",
            "link": "https://x/1",
            "published_parsed": (2024, 5, 6, 7, 8, 9, 0, 0, 0),
        }
    )
    assert record == {
        "title": "T",
        "body": "Hello world",
        "url": "https://x/1",
        "published_at": "2024-05-06T07:08:09+00:00",
        "author": None,
    }
