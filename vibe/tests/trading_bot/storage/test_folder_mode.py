"""The mode of a ``DATA_DIR`` in ``state.db``: noted, inferred for older folders, checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from vibe.common.clock import SimulatedClock
from vibe.trading_bot.storage.folder_mode import (
    MODE_NOTE,
    FolderMode,
    FolderModeError,
    check_folder_mode,
    claim_folder_mode,
    read_stored_modes,
)
from vibe.trading_bot.storage.run_state import RunStateStore


def test_a_new_folder_is_claimed_and_nothing_is_created_by_the_check(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    data = tmp_path / "data"
    check_folder_mode(data, FolderMode.live())  # no state.db: nothing to refuse
    assert not data.exists()
    state = RunStateStore.in_data_dir(data, clock)
    claim_folder_mode(state, data, FolderMode.replay(tmp_path / "bars"))
    noted = state.note(*MODE_NOTE)
    assert noted is not None and noted[0] == f"replay:{(tmp_path / 'bars').resolve()}"
    claim_folder_mode(state, data, FolderMode.replay(tmp_path / "bars"))  # same mode: fine
    state.close()
    assert read_stored_modes(data / "state.db") == [FolderMode.replay(tmp_path / "bars")]


def test_a_folder_from_before_the_note_is_judged_by_its_cursors(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    data = tmp_path / "data"
    state = RunStateStore.in_data_dir(data, clock)
    state.set_cursor(f"replay:{tmp_path / 'bars'}:5m", clock.now())  # an older replay's mark
    state.close()
    assert read_stored_modes(data / "state.db") == [FolderMode.replay(tmp_path / "bars")]
    check_folder_mode(data, FolderMode.replay(tmp_path / "bars"))
    with pytest.raises(FolderModeError, match=r"belongs to a replay of .*bars \(state\.db\)"):
        check_folder_mode(data, FolderMode.live())


def test_another_mode_is_refused_unless_allowed_and_then_noted(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    data = tmp_path / "data"
    state = RunStateStore.in_data_dir(data, clock)
    claim_folder_mode(state, data, FolderMode.live())
    with pytest.raises(FolderModeError) as refused:
        claim_folder_mode(state, data, FolderMode.replay(tmp_path / "bars"))
    message = str(refused.value)
    assert str(data) in message and "belongs to a live" in message
    assert "--allow-mode-change" in message and "\n" not in message
    claim_folder_mode(state, data, FolderMode.replay(tmp_path / "bars"), allow_change=True)
    with pytest.raises(FolderModeError, match="belongs to a replay of"):
        claim_folder_mode(state, data, FolderMode.live())
    state.close()
