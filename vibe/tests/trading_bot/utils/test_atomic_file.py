"""Atomic file replacement: all or nothing, nothing left behind."""

from __future__ import annotations

import os
import stat

import pytest

from vibe.trading_bot.utils.atomic_file import (
    is_temporary,
    replace_atomically,
    write_bytes_atomically,
)


def test_creates_folders_and_replaces_content(tmp_path):
    target = tmp_path / "a" / "b" / "report.json"
    write_bytes_atomically(target, b"first")
    write_bytes_atomically(target, b"second", mode=0o644)
    assert target.read_bytes() == b"second"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


@pytest.mark.parametrize("durable", [True, False])  # False: a report, not fsynced
def test_a_failing_writer_keeps_the_old_file_and_leaves_no_temporary(tmp_path, durable):
    target = tmp_path / "cache.parquet"
    write_bytes_atomically(target, b"old", durable=durable)

    def half_then_fail(handle):
        handle.write(b"half of the new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_atomically(target, half_then_fail, durable=durable)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["cache.parquet"]


def test_a_file_where_the_folder_should_be_is_an_oserror(tmp_path):
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(OSError):
        write_bytes_atomically(tmp_path / "blocker" / "f.json", b"{}")


def test_temporary_names_are_recognisable(tmp_path):
    seen: list[list[str]] = []
    replace_atomically(tmp_path / "t.json", lambda _: seen.append(sorted(os.listdir(tmp_path))))
    (name,) = seen[0]  # only the temporary file exists while writing
    assert is_temporary(name) and name.startswith(".t.json.")
    assert not is_temporary("t.json") and not is_temporary(".hidden")
