"""Which kind of run owns a ``DATA_DIR``: live trading, or the replay of one folder of bars.

A live run and a replay keep the same account in the same databases: a live
``run`` on the folder of ``make run``'s replay would start from the replay's
equity, trades and positions. So ``state.db`` records the mode that created
the folder (note ``daemon/folder_mode``: ``live`` or ``replay:<absolute
folder>``), and a run of another mode refuses to start there
(:class:`FolderModeError`, one line naming the folder and why) unless it is
told to go on (``--allow-mode-change``); then the folder becomes that mode's.

Folders made before the mode was recorded are judged by their resume cursors
(the sources ``live`` and ``replay:<folder>:<timeframe>`` of
:mod:`~vibe.trading_bot.storage.run_state`): any cursor of another mode is a
conflict.

The check runs twice: by ``run`` before anything starts, reading ``state.db``
without creating or changing it (:func:`check_folder_mode`), and in the
``stores`` start-up phase (:func:`claim_folder_mode`), after the cloud restore
may have brought another ``state.db``, where the mode is also recorded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from vibe.common.errors import InvalidInputError, StorageError
from vibe.trading_bot.storage.run_state import DEFAULT_FILENAME, RunStateStore

#: Where the folder's mode is noted in ``state.db`` (source, key).
MODE_NOTE = ("daemon", "folder_mode")
#: The command-line flag that lets a run take over a folder of another mode.
ALLOW_FLAG = "--allow-mode-change"
_LIVE = "live"
_REPLAY = "replay"


class FolderModeError(InvalidInputError):
    """A run of one mode on a ``DATA_DIR`` made by another (see the module doc)."""


@dataclass(frozen=True, slots=True)
class FolderMode:
    """``live``, or ``replay`` of the bar folder ``replay_dir`` (absolute path text)."""

    kind: str
    replay_dir: str | None = None

    @classmethod
    def live(cls) -> FolderMode:
        """The mode of ``run`` on the wall clock."""
        return cls(_LIVE)

    @classmethod
    def replay(cls, folder: Path) -> FolderMode:
        """The mode of ``run --replay folder`` (the folder is resolved to an absolute path)."""
        return cls(_REPLAY, str(Path(folder).resolve()))

    @classmethod
    def from_note(cls, text: str) -> FolderMode | None:
        """The mode noted in ``state.db`` (``live``, ``replay:<folder>``); ``None`` if neither."""
        if text == _LIVE:
            return cls.live()
        if text.startswith(f"{_REPLAY}:"):
            return cls(_REPLAY, text.removeprefix(f"{_REPLAY}:"))
        return None

    @classmethod
    def from_source(cls, source: str) -> FolderMode | None:
        """The mode of a resume-cursor source (``live``, ``replay:<folder>:<timeframe>``)."""
        if source == _LIVE:
            return cls.live()
        if source.startswith(f"{_REPLAY}:"):
            folder, _, _timeframe = source.removeprefix(f"{_REPLAY}:").rpartition(":")
            return cls(_REPLAY, folder)
        return None  # notes of the daemon, a backtest's

    @property
    def text(self) -> str:
        """How the mode is noted in ``state.db``."""
        return self.kind if self.replay_dir is None else f"{self.kind}:{self.replay_dir}"

    def describe(self) -> str:
        """For people: ``live`` or ``replay of /path/to/bars``."""
        return self.kind if self.replay_dir is None else f"{self.kind} of {self.replay_dir}"


def _stored_modes(note: str | None, sources: Iterable[str]) -> list[FolderMode]:
    if note is not None:
        noted = FolderMode.from_note(note)
        return [noted] if noted is not None else []
    modes = (FolderMode.from_source(source) for source in sources)
    return sorted({m for m in modes if m is not None}, key=lambda m: m.text)


def _refuse_other(
    data_dir: Path, modes: list[FolderMode], wanted: FolderMode, allow_change: bool
) -> None:
    other = next((mode for mode in modes if mode != wanted), None)
    if other is None or allow_change:
        return
    raise FolderModeError(
        f"DATA_DIR {data_dir} belongs to a {other.describe()} (state.db), so a "
        f"{wanted.describe()} run there would continue its account (equity, trades, "
        f"positions); set DATA_DIR to another folder, or pass {ALLOW_FLAG} to run there anyway"
    )


def read_stored_modes(state_path: Path, busy_timeout_seconds: float = 10.0) -> list[FolderMode]:
    """The modes ``state.db`` at ``state_path`` belongs to, read without creating or changing it.

    Returns:
        The noted mode, or (folders from before the note) the modes of its resume
        cursors; empty when the file or its table is missing.

    Raises:
        StorageError: the file exists but is not a readable SQLite database.
    """
    if not state_path.is_file():
        return []
    try:
        with closing(sqlite3.connect(state_path, timeout=busy_timeout_seconds)) as conn:
            if not conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_state'"
            ).fetchone():
                return []
            row = conn.execute(
                "SELECT value FROM run_state WHERE source = ? AND key = ?", MODE_NOTE
            ).fetchone()
            sources = [r[0] for r in conn.execute("SELECT DISTINCT source FROM run_state")]
    except sqlite3.Error as exc:
        raise StorageError(f"{state_path}: cannot read the folder's mode ({exc})") from exc
    return _stored_modes(None if row is None else str(row[0]), sources)


def check_folder_mode(data_dir: Path, wanted: FolderMode, allow_change: bool = False) -> None:
    """Refuse a run of mode ``wanted`` on a ``DATA_DIR`` made by another mode (nothing written).

    Args:
        data_dir: the run's ``DATA_DIR``.
        wanted: the mode of the run about to start.
        allow_change: go on anyway (``--allow-mode-change``).

    Raises:
        FolderModeError: ``state.db`` belongs to another mode (one line naming the
            folder, its mode and the flag).
        StorageError: ``state.db`` exists but cannot be read.
    """
    modes = read_stored_modes(Path(data_dir) / DEFAULT_FILENAME)
    _refuse_other(Path(data_dir), modes, wanted, allow_change)


def claim_folder_mode(
    state: RunStateStore, data_dir: Path, wanted: FolderMode, allow_change: bool = False
) -> None:
    """Check the open ``state.db`` as :func:`check_folder_mode` does, then note ``wanted``.

    Raises:
        FolderModeError: ``state.db`` belongs to another mode and ``allow_change`` is False.
        StorageError | TemporaryError: the note could not be written.
    """
    noted = state.note(*MODE_NOTE)
    modes = _stored_modes(None if noted is None else noted[0], state.sources())
    _refuse_other(Path(data_dir), modes, wanted, allow_change)
    if modes != [wanted]:
        state.set_note(*MODE_NOTE, wanted.text)
