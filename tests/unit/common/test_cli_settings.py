"""A setting the operator got wrong: the CLI names it and exits 2, with no traceback and no secret printed."""

from __future__ import annotations

import pytest

from services import cli
from services.common.settings import get_settings


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **env: str) -> tuple[int, str]:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    try:
        rc = cli.main(["config"])
    finally:
        get_settings.cache_clear()
    captured = capsys.readouterr()
    return rc, captured.out + captured.err


def test_an_invalid_setting_is_named_without_a_traceback_and_without_the_secrets_beside_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = run(
        monkeypatch,
        capsys,
        NEWSFLOW_INGEST__PUSH_TOKEN="sekrit-token",
        NEWSFLOW_INGEST__PUSH_PORT="not-a-port",
    )
    assert rc == 2
    assert "NEWSFLOW_INGEST__PUSH_PORT" in out and "Traceback" not in out
    assert "sekrit-token" not in out


def test_a_push_api_beyond_loopback_with_an_empty_token_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = run(monkeypatch, capsys, NEWSFLOW_INGEST__PUSH_HOST="0.0.0.0", NEWSFLOW_INGEST__PUSH_TOKEN="")
    assert rc == 2 and "push_token" in out
