"""Fixtures shared by every test: an isolated environment and the real market data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vibe.trading_bot.config.settings import setting_names

REPO_ROOT = Path(__file__).resolve().parents[2]
_FOREIGN = ("AWS_", "AZURE_")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No setting from the developer's shell leaks into a test."""
    names = {name.upper() for name in setting_names()}
    for key in list(os.environ):
        if key.upper() in names or key.upper().startswith(_FOREIGN):
            monkeypatch.delenv(key, raising=False)
    yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository (override with ``VIBE_SHARED_DATA``)."""
    path = Path(os.environ.get("VIBE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    if not (path / "SOURCES.md").is_file():
        pytest.fail(
            f"real market data not found at {path}; expected ../shared/data beside the repo"
        )
    return path
