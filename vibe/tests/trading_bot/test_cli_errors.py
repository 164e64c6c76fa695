"""User errors on the command line: one line ``error: ...`` naming the value, exit 2, no traceback.

Every test runs the real ``python -m vibe.trading_bot`` process, as a user would.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vibe.tests.conftest import REPO_ROOT
from vibe.tests.support import bot, free_port, user_env

SAMPLE = REPO_ROOT / "examples" / "data"
HEAVY = ("pandas", "numpy", "pydantic", "pydantic_settings", "rich", "structlog")


def one_error_line(done: subprocess.CompletedProcess[str], *named: str) -> str:
    """The single ``error: ...`` line on stderr (exit 2, no traceback), naming every ``named``."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len(lines) == 1, done.stderr[-3000:]
    assert lines[0].startswith("error: "), lines[0]
    for text in named:
        assert text in lines[0], lines[0]
    return lines[0]


def test_help_imports_neither_pandas_nor_pydantic(tmp_path: Path) -> None:
    done = bot(tmp_path, "--help")
    assert done.returncode == 0
    for command in ("run", "backtest", "show-status", "validate-config", "--version"):
        assert command in done.stdout
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vibe.trading_bot", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in traced.stderr.splitlines()}
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    done = bot(tmp_path, "--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"vibe-trading-bot {version('vibe-trading-bot')}"


def test_a_missing_env_file_is_an_error_for_every_command(tmp_path: Path) -> None:
    for args in (
        ["validate-config"],
        ["show-status"],
        ["run", "--replay", str(SAMPLE)],
        ["backtest", "--start", "2025-06-05", "--end", "2025-06-06", "--data", str(SAMPLE)],
    ):
        done = bot(tmp_path, *args, "--env-file", "prod.env")
        one_error_line(done, "--env-file=prod.env: no such file")


def test_without_env_file_a_missing_dotenv_is_fine(tmp_path: Path) -> None:
    done = bot(tmp_path, "validate-config", "--json")
    assert done.returncode == 0, done.stderr


def test_malformed_env_lines_are_reported_with_line_numbers(tmp_path: Path) -> None:
    secret = "https://discord.com/api/webhooks/123/s3cr3t-token"
    (tmp_path / "prod.env").write_text(
        "SYMBOLS=SPY\n"
        "this is not a setting\n"
        "# a comment\n"
        "\n"
        f"DISCORD_WEBHOOK_URL {secret}\n"
        "INITIAL_CAPITAL=25000\n"
    )
    done = bot(tmp_path, "validate-config", "--env-file", "prod.env")
    assert done.returncode == 2
    assert "prod.env line 2: got 'this **********'" in done.stderr
    assert "prod.env line 5: got 'DISCORD_WEBHOOK_URL **********'" in done.stderr
    assert "line 1:" not in done.stderr and "line 6:" not in done.stderr
    assert "s3cr3t" not in done.stderr + done.stdout
    assert "could not parse" not in done.stderr  # python-dotenv's own warning is not repeated
    backtest = bot(
        tmp_path,
        "backtest",
        "--start",
        "2025-06-05",
        "--end",
        "2025-06-06",
        "--data",
        str(SAMPLE),
        "--env-file",
        "prod.env",
    )
    one_error_line(backtest, "prod.env line 2", "prod.env line 5")


BACKTEST = ["backtest", "--start", "2025-06-05", "--end", "2025-06-06", "--symbols", "SPY"]
REPLAY = ["run", "--replay", str(SAMPLE), "--symbols", "SPY", "--start", "2025-06-05"]


def bar_folder(tmp_path: Path, name: str, text: str) -> Path:
    """A folder holding one ``SPY_5m.csv`` with ``text``."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "SPY_5m.csv").write_text(text)
    return folder


def test_backtest_without_data_and_without_network_says_so_and_suggests_data(
    tmp_path: Path,
) -> None:
    # Yahoo behind a proxy on a closed local port: no request leaves 127.0.0.1
    closed = f"http://127.0.0.1:{free_port()}"
    env = user_env(tmp_path, HTTPS_PROXY=closed, https_proxy=closed, NO_PROXY="", no_proxy="")
    today = datetime.now(UTC).date()  # a range Yahoo still keeps, so it is asked
    recent = ["--start", (today - timedelta(days=10)).isoformat()]
    recent += ["--end", (today - timedelta(days=1)).isoformat(), "--symbols", "SPY"]
    done = bot(tmp_path, "backtest", *recent, env=env)
    one_error_line(done, "could not fetch the 5m bars of SPY", "--data DIR", "yahoo:")
    # 5-minute bars of 2025-06: older than Yahoo's 60 days (real date), refused unasked
    done = bot(tmp_path, *BACKTEST, env=env)
    one_error_line(done, "SPY has no 5m bars", "Yahoo keeps 5m bars for 60 days", "--data DIR")


def test_backtest_on_a_csv_without_a_column_or_empty(tmp_path: Path) -> None:
    sample = (SAMPLE / "SPY_5m.csv").read_text().splitlines()[:200]
    no_volume = "\n".join(line.rsplit(",", 1)[0] for line in sample) + "\n"
    folder = bar_folder(tmp_path, "novolume", no_volume)
    one_error_line(
        bot(tmp_path, *BACKTEST, "--data", str(folder)), "SPY_5m.csv", "missing columns ['volume']"
    )
    one_error_line(
        bot(tmp_path, *REPLAY, "--end", "2025-06-06", "--replay", str(folder)),
        "missing columns ['volume']",
    )
    empty = bar_folder(tmp_path, "zero", "")
    one_error_line(bot(tmp_path, *BACKTEST, "--data", str(empty)), "SPY_5m.csv", "is empty")
    header = bar_folder(tmp_path, "header", "timestamp,open,high,low,close,volume\n")
    one_error_line(bot(tmp_path, *BACKTEST, "--data", str(header)), "SPY has no 5m bars")


def test_run_when_the_health_port_is_taken(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        env = user_env(tmp_path, HEALTH_CHECK_PORT=port)
        for args in (REPLAY, ["run"]):
            done = bot(tmp_path, *args, env=env)
            one_error_line(done, f"HEALTH_CHECK_PORT={port}", "127.0.0.1", "in use")
    assert not (tmp_path / "data" / "trades.db").exists()  # nothing was started


def test_unwritable_data_dir_names_the_folder_and_the_cause(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    env = user_env(tmp_path, DATA_DIR=str(tmp_path / "afile" / "data"))
    done = bot(tmp_path, *REPLAY, env=env)
    one_error_line(done, f"DATA_DIR={tmp_path / 'afile' / 'data'}", "Not a directory")


def test_read_only_data_dir_names_the_folder_and_the_cause(tmp_path: Path) -> None:
    """A read-only file system (a tmpfs mounted read-only in a namespace of its own)."""
    import shutil

    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    folder = tmp_path / "ro"
    folder.mkdir()
    mount = f"mount -t tmpfs -o ro none {folder}"
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"{mount} && touch {folder}/x"],
        capture_output=True,
        text=True,
        check=False,
    )
    if "Read-only file system" not in probe.stderr:
        pytest.skip(f"no read-only mount here: {probe.stderr.strip()}")
    command = [sys.executable, "-m", "vibe.trading_bot", *REPLAY]
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f'{mount} && exec "$@"', "sh", *command],
        cwd=tmp_path,
        env=user_env(tmp_path, DATA_DIR=str(folder)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    one_error_line(done, f"DATA_DIR={folder}", "Read-only file system")


def test_report_path_checked_before_the_run(tmp_path: Path) -> None:
    data = ["--data", str(SAMPLE)]
    csv = bot(tmp_path, *BACKTEST, *data, "--output", "r.csv")
    one_error_line(csv, "--output=r.csv", "expected a .json path")
    assert not (tmp_path / "r.csv").exists()
    (tmp_path / "afile").write_text("not a folder")
    blocked = bot(tmp_path, *BACKTEST, *data, "--output", str(tmp_path / "afile" / "r.json"))
    one_error_line(blocked, "--output=", "is not a folder")
    assert "sessions" not in blocked.stderr  # refused before the first session


def test_malformed_rows_and_data_ending_early_are_warned_about(tmp_path: Path) -> None:
    """A real file cut short, with two broken rows: counted, named by line, the rest used."""
    lines = (SAMPLE / "SPY_5m.csv").read_text().splitlines()[:400]
    lines[99] = lines[99].split(",")[0] + ",abc,1,1"  # line 100: not a number, fields missing
    lines[119] = lines[119].rsplit(",", 1)[0] + ","  # line 120: volume missing
    last_good = lines[-1].split(",")[0]
    text = "\n".join(lines) + "\n2025-06-30T10:00:00-04:00,601.2"  # line 401: cut short
    folder = bar_folder(tmp_path, "cut", text)
    done = bot(
        tmp_path,
        "backtest",
        "--start",
        "2025-06-05",
        "--end",
        "2025-06-20",
        "--symbols",
        "SPY",
        "--data",
        str(folder),
        "--output",
        "r.json",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stdout + done.stderr  # warnings go with the log lines
    warned = [line for line in log.splitlines() if "malformed rows skipped" in line]
    assert len(warned) == 1, log
    assert "SPY_5m.csv" in warned[0] and "rows=3" in warned[0]
    assert "lines='100, 120, 401'" in warned[0]
    ended = [line for line in log.splitlines() if "data ends before --end" in line]
    assert len(ended) == 1, log
    assert f"last_bar={last_good}" in ended[0] and "end=2025-06-20" in ended[0]
    assert "data gap" not in log  # the sessions after the end are not warned one by one
