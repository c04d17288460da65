from __future__ import annotations

import pytest

from services.common.records import Article, DeadLetter, Rejected, decode
from services.common.schemas import check_schemas
from services.common.settings import ElasticSettings, KafkaSettings, Settings, masked


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty-message"),
        (b"", "invalid-json"),
        (b"\x00\xff", "invalid-json"),
        (b"{", "invalid-json"),
        (b"[" * 200_000 + b"]" * 200_000, "json-too-deep"),
        (b"[1, 2]", "invalid-record"),
        (b'{"id": "a", "body": 3}', "invalid-record"),
    ],
)
def test_decoding_a_broken_message_returns_a_reason_instead_of_raising(
    raw: bytes | None, reason: str
) -> None:
    result = decode(Article, raw)
    assert isinstance(result, Rejected)
    assert result.reason == reason
    assert result.detail or reason == "empty-message"


def test_decoding_ignores_fields_added_by_newer_producers() -> None:
    raw = b'{"id":"a","trace":{"ingest_id":"i","source":"s"},"source":"s","body":"b","shiny_new_field":1}'
    result = decode(Article, raw)
    assert isinstance(result, Article) and result.body == "b"


def test_schema_files_match_the_record_types() -> None:
    assert check_schemas() == [], "run `newsflow schemas --write`"


def test_config_never_prints_secrets() -> None:
    s = Settings(
        kafka=KafkaSettings(sasl_password="hunter2"), es=ElasticSettings(api_key="k3y", password="pw")
    )
    text = str(masked(s))
    assert "hunter2" not in text and "k3y" not in text and "pw'" not in text
    assert "**********" in text


def test_dead_letter_keeps_origin_and_reason() -> None:
    dl = DeadLetter(stage="index", reason="mapping-error", detail="x")
    assert DeadLetter.model_validate_json(dl.to_json()).reason == "mapping-error"


def test_readme_configuration_table_lists_every_setting() -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    table = subprocess.run(
        [sys.executable, "scripts/settings_table.py"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    readme = (REPO / "README.md").read_text()
    missing = [
        line.split("|")[1].strip()
        for line in table.splitlines()[2:]
        if line.split("|")[1].strip() not in readme
    ]
    assert missing == [], "run scripts/settings_table.py and paste it into README.md"
