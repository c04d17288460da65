"""JSON is UTF-8: bytes that are not are refused with ``invalid-encoding``, never guessed and stored garbled."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.common.records import Article, Rejected
from services.common.settings.ingest import IngestSettings
from services.ingest.logic import parse_bytes

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
BODY = "Le café de la gare rouvre après l'été, a déclaré le maire de la commune ce lundi matin."


@pytest.mark.parametrize("source", ["a.json", "a.jsonl", "push", "https://example.com/feed"])
def test_json_that_is_not_utf8_is_invalid_encoding(source: str) -> None:
    data = json.dumps({"body": BODY}, ensure_ascii=False).encode("latin-1")
    (got,) = parse_bytes(data, source, "i1", NOW, IngestSettings())
    assert isinstance(got, Rejected) and got.reason == "invalid-encoding" and "offset" in got.detail


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "utf-16"])
def test_json_in_utf8_or_with_a_bom_is_read_as_written(codec: str) -> None:
    data = json.dumps({"body": BODY}, ensure_ascii=False).encode(codec)
    (got,) = parse_bytes(data, "a.json", "i1", NOW, IngestSettings())
    assert isinstance(got, Article) and got.body == BODY


def test_text_files_in_legacy_encodings_are_still_decoded() -> None:
    (got,) = parse_bytes(BODY.encode("latin-1"), "a.txt", "i1", NOW, IngestSettings())
    assert isinstance(got, Article) and got.body == BODY
