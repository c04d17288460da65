"""Fixtures of the network-fault tests: a ``Net`` of namespaces per test, removed at the end even when the
test fails; skipped with the reason where namespaces cannot be made."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.netfault.net import Net, NetUnavailable, probe, sweep

_checked: list[str] = []


@pytest.fixture(scope="session")
def netns_ok() -> None:
    if not _checked:
        try:
            probe()
            _checked.append("")
        except NetUnavailable as exc:
            _checked.append(str(exc))
        except Exception as exc:  # a missing tool, a timeout: the same, a skip with the reason
            _checked.append(f"network namespaces unusable here: {exc}")
    if _checked[0]:
        pytest.skip(f"netfault tests need network namespaces: {_checked[0]}")
    sweep()


@pytest.fixture
def net(netns_ok: None) -> Iterator[Net]:
    n = Net()
    try:
        n.open()
        yield n
    finally:
        n.close()
